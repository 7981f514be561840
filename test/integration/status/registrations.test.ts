import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CloudContext } from '../../../functions/cli/context.js';
import { Output } from '../../../functions/cli/output.js';
import { REGISTRATIONS_TTL_MS, registrationsCheck, uiCommand } from '../../../functions/cli/ui.js';
import { pollUntil } from '../../../functions/local/poll.js';
import type { RegistrationsView } from '../../../functions/status/registrations.js';
import { artifactsDir, axeSource, axeViolations, launchBrowser } from '../../support/browser.js';
import { DBT_ACCOUNT, startStandIns, WORKSPACE, type StandIns } from '../../support/connect-stand-ins.js';
import { emulator } from '../../support/global-hooks.js';
import { runCli } from '../../support/run-cli.js';

// The status page's Webhooks view (/registrations) shows what `postload connect --check`
// finds, through `postload ui` run in this process against the vendor and Secret Manager
// stand-ins (Firestore: the emulator, empty), in Chromium with JavaScript off.

process.env.METADATA_SERVER_DETECTION ??= 'none';

describe('status page: the Webhooks view is postload connect --check', function () {
  this.timeout(120_000);
  let firestoreHost: string;
  let s: StandIns;

  before(async function () {
    firestoreHost = await emulator('firestore', this);
  });
  beforeEach(async () => {
    s = await startStandIns();
  });
  afterEach(() => s.stop());

  const sink = (append: (text: string) => void) => new Writable({ write: (chunk, _e, done) => (append(String(chunk)), done()) });

  /** `postload ui --port 0` in this process until the test stops it; its URL from what it prints. */
  async function ui(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<void> }> {
    let stdout = '';
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    const context = new CloudContext({ ...env, FIRESTORE_EMULATOR_HOST: firestoreHost }, undefined);
    const io = { stdout: sink((t) => (stdout += t)), stderr: sink(() => undefined), env };
    const done = uiCommand({ port: 0, refreshSeconds: 0, until }, context, new Output(io));
    let failed: unknown;
    done.catch((error: unknown) => (failed = error));
    const url = await pollUntil(() => {
      if (failed) throw failed;
      return /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout)?.[0];
    }, { timeoutMs: 30_000, failure: () => `postload ui printed no URL: ${stdout}` });
    return {
      url,
      stop: async () => {
        release();
        await done;
        await context.close();
      },
    };
  }

  it('lists every registration as postload expects once all three are connected, escaping what a vendor named, in Chromium with no serious accessibility violation', async function () {
    const env = { ...s.env, DBT_CLOUD_ACCOUNT_ID: String(DBT_ACCOUNT) };
    const hostile = s.airbyte.workspaces.add({ name: '<img src=x onerror=alert(1)>\u202eAnalytics' });
    for (const args of [['fivetran', '--account'], ['airbyte', '--workspace', hostile.workspaceId], ['dbt-cloud']]) {
      const run = await runCli(['connect', ...args], env);
      assert.equal(run.code, 0, run.stderr);
    }
    const browser = await launchBrowser(this);
    const server = await ui(env);
    try {
      const api = (await (await fetch(`${server.url}api/registrations`)).json()) as { findings: Array<{ vendor: string; ok: boolean; subject: string }>; skipped: string[] };
      assert.deepEqual(api.findings.map((f) => [f.vendor, f.ok]), [['fivetran', true], ['airbyte', true], ['dbt-cloud', true]]);
      assert.deepEqual(api.skipped, []);

      const page = await browser.newPage();
      await page.setJavaScriptEnabled(false);
      await page.goto(`${server.url}registrations`, { waitUntil: 'load' });
      await page.screenshot({ path: join(artifactsDir('status-page'), 'registrations.png'), fullPage: true });
      const text = (await page.$eval('main', (m) => m.textContent ?? '')).replace(/\s+/g, ' ');
      assert.match(text, /Every registration is as postload expects\./);
      const rows = await page.$$eval('main tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => (td.textContent ?? '').trim())));
      assert.deepEqual(rows.map((r) => [r[0], r[2]]), [['Fivetran', 'as expected'], ['Airbyte', 'as expected'], ['dbt Cloud', 'as expected']]);
      assert.ok(rows[1]![1]!.includes('<img src=x onerror=alert(1)>\\u202eAnalytics'), rows[1]![1]);
      assert.equal(await page.$('main img'), null, "a vendor's text is never markup");
      assert.equal(await page.$eval('nav a[aria-current="page"]', (a) => a.textContent), 'Webhooks');

      const a11y = await browser.newPage();
      await a11y.setBypassCSP(true); // only to inject axe itself
      await a11y.goto(`${server.url}registrations`, { waitUntil: 'load' });
      const violations = (await axeViolations(a11y, axeSource())).filter((v) => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(violations, []);
    } finally {
      await server.stop();
      await browser.close();
    }
  });

  it('asks the vendors at most every 5 minutes, then shows what changed; without credentials it says what to set', async () => {
    const env = { ...s.env, DBT_CLOUD_ADMIN_TOKEN: '', AIRBYTE_API_CLIENT_ID: '', AIRBYTE_API_CLIENT_SECRET: '' };
    assert.equal((await runCli(['connect', 'fivetran', '--account'], env)).code, 0);
    let clock = 1_000_000;
    const context = new CloudContext(env, undefined);
    try {
      const check = registrationsCheck(context, () => undefined, () => clock);
      const first = (await check()) as Extract<RegistrationsView, { findings: unknown }>;
      assert.deepEqual(first.findings.map((f) => [f.vendor, f.ok]), [['fivetran', true]]);
      assert.match(first.skipped.join('\n'), /Airbyte: not checked[\s\S]*dbt Cloud: not checked/);
      const asked = s.fivetran.requests.length;
      const [webhook] = s.fivetran.webhooks.webhooks.values();
      webhook!.active = false;
      clock += REGISTRATIONS_TTL_MS - 1;
      assert.equal(await check(), first, 'the same check, within 5 minutes');
      assert.equal(s.fivetran.requests.length, asked, 'no vendor asked again');
      clock += 1;
      const second = (await check()) as Extract<RegistrationsView, { findings: unknown }>;
      assert.deepEqual(second.findings.map((f) => [f.vendor, f.ok]), [['fivetran', false]]);
      assert.match(second.findings[0]!.details.join('; '), /^inactive: Fivetran sends it nothing/);
      assert.ok(second.checkedAt > first.checkedAt);
    } finally {
      await context.close();
    }

    const none = new CloudContext({ ...env, FIVETRAN_API_KEY: '', FIVETRAN_API_SECRET: '' }, undefined);
    try {
      const view = await registrationsCheck(none, () => undefined)();
      assert.ok('notChecked' in view);
      assert.match(view.notChecked, /no vendor API credentials are set/);
      assert.match(String(view.fix), /FIVETRAN_API_KEY/);
    } finally {
      await none.close();
    }
  });
});
