import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connectCommand, type ConnectOptions } from '../../../functions/cli/connect/command.js';
import { SECRET_PICKUP_AFTER_NONE_MS, SECRET_PICKUP_MS } from '../../../functions/cli/connect/dbt-cloud.js';
import { TEST_RETRY_WAITS_MS } from '../../../functions/cli/connect/fivetran.js';
import { CloudContext } from '../../../functions/cli/context.js';
import { isCliError } from '../../../functions/cli/errors.js';
import { Output } from '../../../functions/cli/output.js';
import { writeStackState } from '../../../functions/local/stack-state.js';
import { DBT_ACCOUNT, DBT_ADMIN_TOKEN, GROUP, PROJECT, SECRETS, startStandIns, WORKSPACE, type StandIns } from '../../support/connect-stand-ins.js';
import { runCli } from '../../support/run-cli.js';

// `postload connect` against the vendor stand-ins and the Secret Manager stand-in, through
// the whole CLI (runCli) except where a test needs a clock it controls (connectCommand with
// a fake sleep). The end-to-end test (test/e2e/connect.test.ts) runs it against the real
// ingest function.

const ALL_AIRBYTE_TYPES = ['failure', 'success', 'connectionUpdate', 'connectionUpdateActionRequired', 'syncDisabled', 'syncDisabledWarning'];

/** Calls the command in-process with a clock that only records the waits asked for. */
async function connectWithClock(env: Record<string, string>, vendor: 'fivetran' | 'airbyte' | 'dbt-cloud', options: Partial<ConnectOptions>) {
  const waits: number[] = [];
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => new Writable({ write: (chunk, _e, done) => (append(String(chunk)), done()) });
  const io = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env };
  const context = new CloudContext(env, undefined);
  let code: number;
  try {
    code = await connectCommand(vendor, { dryRun: false, check: false, newSecret: false, ...options }, context, new Output(io), { sleep: async (ms) => void waits.push(ms) });
  } catch (error) {
    if (!isCliError(error)) throw error;
    stderr += `${error.message}\n  fix: ${error.fix}\n`;
    code = error.exitCode;
  } finally {
    await context.close();
  }
  return { code, stdout, stderr, waits };
}

describe('postload connect (against the vendor and Secret Manager stand-ins)', function () {
  this.timeout(60_000);
  let s: StandIns;

  beforeEach(async () => {
    s = await startStandIns();
  });
  afterEach(() => s.stop());

  const secretNeverShown = (run: { stdout: string; stderr: string }, secret: string) => {
    assert.ok(secret.length >= 32);
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'the secret is never printed');
  };

  describe('fivetran', () => {
    it('creates an account webhook with a new 32-byte secret, which Fivetran tests against the URL; a second run changes nothing', async () => {
      const first = await runCli(['connect', 'fivetran', '--account'], s.env);
      assert.equal(first.code, 0, first.stderr);
      const [secret] = s.sm.enabledValues(SECRETS.fivetran);
      assert.match(secret!, /^[0-9a-f]{64}$/, '32 random bytes, hex');
      const [webhook, ...others] = s.fivetran.webhooks.webhooks.values();
      assert.equal(others.length, 0);
      assert.deepEqual([webhook!.type, webhook!.url, webhook!.active, webhook!.secret], ['account', `${s.ingest.url}/fivetran`, true, secret]);
      assert.deepEqual(webhook!.events, ['sync_start', 'sync_end', 'connection_failure']);
      assert.deepEqual(s.fivetran.webhooks.tests.map((t) => t.status), [202], 'Fivetran tested the URL, signed with the new secret, and got a 2xx');
      assert.match(first.stdout, new RegExp(`created +account webhook ${webhook!.id}`));
      assert.match(first.stdout, /added +projects\/postload-local\/secrets\/postload-fivetran-webhook-secret: version 1/);
      secretNeverShown(first, secret!);

      const before = JSON.stringify([...s.fivetran.webhooks.webhooks.values()]);
      const second = await runCli(['connect', 'fivetran', '--account'], s.env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(JSON.stringify([...s.fivetran.webhooks.webhooks.values()]), before, 'the webhook is as it was, secret included');
      assert.equal(s.sm.versions(SECRETS.fivetran).length, 1, 'no new version');
      assert.match(second.stdout, /unchanged +account webhook .*secret sent again/);
      assert.match(second.stdout, /nothing to change/);
    });

    it('updates the webhook already pointing here: adds the missing events, keeps one a person added, activates it, and never touches another tool\'s webhook', async () => {
      s.sm.addVersion(SECRETS.fivetran, 'a'.repeat(40));
      const ours = s.fivetran.webhooks.add({ type: 'group', group_id: GROUP, url: `${s.ingest.url}/fivetran/`, events: ['sync_end', 'dbt_run_succeeded'], active: false, secret: 'lost' });
      const theirs = s.fivetran.webhooks.add({ type: 'group', group_id: GROUP, url: 'https://hooks.example.com/fivetran', events: ['sync_end'] });
      const run = await runCli(['connect', 'fivetran', '--group', GROUP], s.env);
      assert.equal(run.code, 0, run.stderr);
      const after = s.fivetran.webhooks.webhooks.get(ours.id)!;
      assert.deepEqual(after.events, ['sync_end', 'dbt_run_succeeded', 'sync_start', 'connection_failure']);
      assert.deepEqual([after.active, after.secret, after.url], [true, 'a'.repeat(40), `${s.ingest.url}/fivetran`], 'activated with the stored secret (tested), URL written exactly');
      assert.deepEqual(s.fivetran.webhooks.webhooks.get(theirs.id), theirs);
      assert.equal(s.fivetran.webhooks.webhooks.size, 2, 'no second postload webhook');
      assert.equal(s.sm.versions(SECRETS.fivetran).length, 1, 'the stored secret is reused');
      assert.match(run.stdout, /updated +group warehouse_group webhook .*events \+ sync_start, connection_failure; activated/);
    });

    it('two webhooks of the scope pointing here: the first is kept up to date, the second named, never deleted', async () => {
      s.sm.addVersion(SECRETS.fivetran, 'd'.repeat(64));
      const first = s.fivetran.webhooks.add({ url: `${s.ingest.url}/fivetran`, events: ['sync_start', 'sync_end', 'connection_failure'] });
      const second = s.fivetran.webhooks.add({ url: `${s.ingest.url}/fivetran`, events: ['sync_end'] });
      const run = await runCli(['connect', 'fivetran', '--account'], s.env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`unchanged +account webhook ${first.id}`));
      assert.match(run.stdout, new RegExp(`note webhook ${second.id} points here too \\(left alone; delete it in Fivetran so nothing is sent twice\\)`));
      assert.deepEqual(s.fivetran.webhooks.webhooks.get(second.id), second);
    });

    it('finds its webhook on a later page of many (cursor paging, 1,000 a page)', async () => {
      for (let i = 0; i < 1_200; i++) s.fivetran.webhooks.add({ url: `https://other-${i}.example.com/hook` });
      const ours = s.fivetran.webhooks.add({ url: `${s.ingest.url}/fivetran`, events: [...['sync_start', 'sync_end', 'connection_failure']] });
      s.sm.addVersion(SECRETS.fivetran, 'b'.repeat(64));
      const run = await runCli(['connect', 'fivetran', '--account'], s.env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(s.fivetran.webhooks.webhooks.size, 1_201, 'found, not created again');
      assert.equal(s.fivetran.webhooks.webhooks.get(ours.id)!.secret, 'b'.repeat(64));
      assert.equal(s.fivetran.requests.filter((r) => r.url.startsWith('/v1/webhooks?')).length, 2);
    });

    it('when the creation test fails after a new secret, waits for the function to read it and tries again; then says to deploy first, having created nothing', async () => {
      s.ingest.script({ status: 503 }, { status: 401 });
      const recovers = await connectWithClock(s.env, 'fivetran', { fivetranScope: { type: 'account' } });
      assert.equal(recovers.code, 0, recovers.stderr);
      assert.deepEqual(recovers.waits, TEST_RETRY_WAITS_MS.slice(0, 2));
      assert.match(recovers.stderr, /may not have read the new secret version yet: trying again in 10 s/);
      assert.equal(s.fivetran.webhooks.webhooks.size, 1);

      const fresh = await startStandIns();
      try {
        fresh.ingest.script(...Array.from({ length: 4 }, () => ({ status: 503 })));
        const fails = await connectWithClock(fresh.env, 'fivetran', { fivetranScope: { type: 'account' } });
        assert.equal(fails.code, 1);
        assert.deepEqual(fails.waits, TEST_RETRY_WAITS_MS);
        assert.match(fails.stderr, /Fivetran refused to create the webhook: .*HTTP 400.*POSTs a test to http:\/\/127\.0\.0\.1:\d+\/fivetran first/);
        assert.match(fails.stderr, /fix: deploy the ingest function first \(terraform apply\).*--inactive/);
        assert.equal(fresh.fivetran.webhooks.webhooks.size, 0, 'nothing created');
      } finally {
        await fresh.stop();
      }
    });

    it('--inactive creates it without Fivetran\'s test; the next run activates it, and Fivetran tests it then', async () => {
      const inactive = await runCli(['connect', 'fivetran', '--account', '--inactive'], s.env);
      assert.equal(inactive.code, 0, inactive.stderr);
      const [webhook] = s.fivetran.webhooks.webhooks.values();
      assert.equal(webhook!.active, false);
      assert.equal(s.fivetran.webhooks.tests.length, 0);
      assert.equal(s.ingest.requests.length, 0, 'nothing was sent to the URL');
      assert.match(inactive.stdout, /inactive: run connect again without --inactive/);
      const check = await runCli(['connect', 'fivetran', '--account', '--check'], s.env);
      assert.equal(check.code, 1);
      assert.match(check.stdout, /✘ Fivetran account webhook wh_\w+: inactive/);
      const activate = await runCli(['connect', 'fivetran', '--account'], s.env);
      assert.equal(activate.code, 0, activate.stderr);
      assert.equal(s.fivetran.webhooks.webhooks.get(webhook!.id)!.active, true);
      assert.deepEqual(s.fivetran.webhooks.tests.map((t) => t.status), [202]);
    });

    it('waits out a 429 with its Retry-After (each vendor), then goes on; one longer than a minute is not waited for', async () => {
      s.fivetran.rateLimit(1, 42);
      const fivetran = await connectWithClock(s.env, 'fivetran', { fivetranScope: { type: 'account' } });
      assert.equal(fivetran.code, 0, fivetran.stderr);
      assert.deepEqual(fivetran.waits, [42_000]);
      assert.match(fivetran.stderr, /Fivetran GET \/v1\/webhooks \(page 1\): rate-limited \(HTTP 429\); trying again in 42 s/);
      s.airbyte.rateLimit(1, 7);
      const airbyte = await connectWithClock(s.env, 'airbyte', { workspace: WORKSPACE });
      assert.deepEqual([airbyte.code, airbyte.waits], [0, [7_000]], airbyte.stderr);
      s.dbt.rateLimit(1);
      const dbt = await connectWithClock(s.env, 'dbt-cloud', { dbtAccount: String(DBT_ACCOUNT) });
      assert.deepEqual([dbt.code, dbt.waits], [0, [1_000, SECRET_PICKUP_AFTER_NONE_MS]], dbt.stderr);
      const writes = s.writes().length;
      s.dbt.rateLimit(1, 3_600);
      const gaveUp = await connectWithClock(s.env, 'dbt-cloud', { dbtAccount: String(DBT_ACCOUNT), newSecret: true });
      assert.equal(gaveUp.code, 3);
      assert.match(gaveUp.stderr, /dbt Cloud is rate-limiting this account: .*retry after 3600 s/);
      assert.equal(s.writes().length, writes, 'nothing changed');
    });

    it('--dry-run prints the plan and changes nothing', async () => {
      const run = await runCli(['connect', 'fivetran', '--account', '--dry-run'], s.env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /dry run: nothing was changed/);
      assert.match(run.stdout, /would add +projects\/postload-local\/secrets\/postload-fivetran-webhook-secret: a new random secret/);
      assert.match(run.stdout, /would create +account webhook: sync_start, sync_end, connection_failure; active/);
      assert.deepEqual(s.writes(), []);
    });
  });

  describe('airbyte', () => {
    it('points every notification type at postload with a new token in the URL; a second run changes nothing', async () => {
      const first = await runCli(['connect', 'airbyte', '--workspace', WORKSPACE], s.env);
      assert.equal(first.code, 0, first.stderr);
      const [token] = s.sm.enabledValues(SECRETS.airbyte);
      assert.match(token!, /^[0-9a-f]{64}$/);
      for (const type of ALL_AIRBYTE_TYPES) assert.equal(s.airbyte.workspaces.target(WORKSPACE, type as 'success'), `${s.ingest.url}/airbyte?token=${token}`, type);
      assert.match(first.stdout, /updated +notifications failure, success, connectionUpdate, connectionUpdateActionRequired, syncDisabled, syncDisabledWarning: → http:\/\/127\.0\.0\.1:\d+\/airbyte\?token=… \(no webhook yet\)/);
      secretNeverShown(first, token!);

      const writes = s.writes().length;
      const second = await runCli(['connect', 'airbyte', '--workspace', WORKSPACE, '--json'], s.env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(s.writes().length, writes, 'no PATCH, no new version');
      const report = JSON.parse(second.stdout) as { changes: Array<{ verb: string }> };
      assert.deepEqual([...new Set(report.changes.map((c) => c.verb))], ['keep']);
      secretNeverShown(second, token!);
    });

    it("refuses a slot holding another tool's URL, naming only its host, and changes nothing; --notifications leaves it, --force replaces it", async () => {
      const slack = 'https://hooks.slack.com/services/T000/B000/SECRETPATHSECRETPATH';
      const workspace = s.airbyte.workspaces.add({ webhooks: { failure: { url: slack } } });
      const refused = await runCli(['connect', 'airbyte', '--workspace', workspace.workspaceId], s.env);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /failure goes to https:\/\/hooks\.slack\.com\/…, not postload\. Airbyte has one webhook URL per notification type.*nothing was changed/);
      assert.match(refused.stderr, /fix: pass --force .* or --notifications success,connectionUpdate,/);
      assert.ok(!refused.stderr.includes('SECRETPATH'), "another tool's URL is never printed whole");
      assert.deepEqual(s.writes(), []);

      const partial = await runCli(['connect', 'airbyte', '--workspace', workspace.workspaceId, '--notifications', 'success,syncDisabled'], s.env);
      assert.equal(partial.code, 0, partial.stderr);
      assert.equal(s.airbyte.workspaces.target(workspace.workspaceId, 'failure'), slack);
      assert.match(String(s.airbyte.workspaces.target(workspace.workspaceId, 'success')), /\/airbyte\?token=/);
      assert.equal(s.airbyte.workspaces.target(workspace.workspaceId, 'connectionUpdate'), null);

      const forced = await runCli(['connect', 'airbyte', '--workspace', workspace.workspaceId, '--force'], s.env);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(String(s.airbyte.workspaces.target(workspace.workspaceId, 'failure')), /\/airbyte\?token=/);
      assert.match(forced.stdout, /notification failure: → .*replaces https:\/\/hooks\.slack\.com\/… \(--force\)/);
      assert.equal(s.sm.versions(SECRETS.airbyte).length, 1, 'one token for every run');
    });

    it('a slot with an older token, or switched off, is set to the newest token; --new-secret adds a version and moves every slot to it', async () => {
      s.sm.addVersion(SECRETS.airbyte, 'old-token-'.padEnd(40, 'x'));
      s.sm.addVersion(SECRETS.airbyte, 'new-token-'.padEnd(40, 'y'));
      const workspace = s.airbyte.workspaces.add({ webhooks: { success: { url: `${s.ingest.url}/airbyte?token=${'old-token-'.padEnd(40, 'x')}` }, failure: { url: `${s.ingest.url}/airbyte?token=${'new-token-'.padEnd(40, 'y')}`, enabled: false } } });
      const run = await runCli(['connect', 'airbyte', '--workspace', workspace.workspaceId, '--notifications', 'success,failure'], s.env);
      assert.equal(run.code, 0, run.stderr);
      for (const type of ['success', 'failure'] as const) assert.equal(s.airbyte.workspaces.target(workspace.workspaceId, type), `${s.ingest.url}/airbyte?token=${'new-token-'.padEnd(40, 'y')}`);
      const rotated = await runCli(['connect', 'airbyte', '--workspace', workspace.workspaceId, '--notifications', 'success,failure', '--new-secret'], s.env);
      assert.equal(rotated.code, 0, rotated.stderr);
      const [newest, ...older] = s.sm.enabledValues(SECRETS.airbyte);
      assert.equal(older.length, 2, 'the old versions stay enabled: deliveries in flight still pass');
      assert.equal(s.airbyte.workspaces.target(workspace.workspaceId, 'success'), `${s.ingest.url}/airbyte?token=${newest}`);
    });

    it('before pointing Airbyte at postload, makes sure the ingest function accepts the token (Airbyte never retries); if it never does, Airbyte is left as it was', async () => {
      s.ingest.script({ status: 401 });
      const waited = await connectWithClock(s.env, 'airbyte', { workspace: WORKSPACE });
      assert.equal(waited.code, 0, waited.stderr);
      assert.deepEqual(waited.waits, [TEST_RETRY_WAITS_MS[0]]);
      const probes = s.ingest.requests.filter((r) => r.url.startsWith('/airbyte?token='));
      assert.equal(probes.length, 2);
      assert.match(String((probes[0]!.json as { text: string }).text), /^This is a test from postload connect/);
      assert.ok(s.airbyte.requests.some((r) => r.method === 'PATCH'));

      const other = s.airbyte.workspaces.add();
      s.ingest.script(...Array.from({ length: 4 }, () => ({ status: 503 })));
      const refused = await connectWithClock(s.env, 'airbyte', { workspace: other.workspaceId, newSecret: true });
      assert.equal(refused.code, 1);
      assert.deepEqual(refused.waits, TEST_RETRY_WAITS_MS);
      assert.match(refused.stderr, /does not accept the Airbyte token \(last answer: 503\), so Airbyte was not changed/);
      assert.equal(s.airbyte.workspaces.target(other.workspaceId, 'success'), null);
      assert.equal(s.airbyte.requests.filter((r) => r.method === 'PATCH').length, 1, 'only the first workspace was changed');
    });
  });

  describe('dbt-cloud', () => {
    it('creates the webhook inactive, stores its hmac_secret as a new version (never printing it), and activates it only once the function can have read it; a second run changes nothing', async () => {
      let whileWaiting: unknown;
      const first = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--job', '501', '--job', '502'], s.env, async () => {
        const [created] = s.dbt.subscriptions.subscriptions.values();
        const run = s.dbt.addRun({ accountId: DBT_ACCOUNT, jobId: 501, cause: 'scheduled' });
        const sent = await s.dbt.subscriptions.deliver(DBT_ACCOUNT, 501, 'job.run.started', s.dbt.webhookBody(run, 'job.run.started'));
        whileWaiting = { active: created!.active, stored: s.sm.enabledValues(SECRETS.dbtCloud).map((v) => v === created!.hmac_secret), sent };
      });
      assert.equal(first.code, 0, first.stderr);
      const [subscription, ...others] = s.dbt.subscriptions.subscriptions.values();
      assert.equal(others.length, 0);
      assert.deepEqual(whileWaiting, { active: false, stored: [true], sent: [] }, 'until it is activated dbt Cloud sends nothing, and by then its secret is stored');
      assert.deepEqual(first.waits, [SECRET_PICKUP_AFTER_NONE_MS], 'the secret had no version: the function may be backing off for up to 60 s');
      assert.deepEqual(s.sm.enabledValues(SECRETS.dbtCloud), [subscription!.hmac_secret], 'the hmac_secret went straight into Secret Manager');
      assert.deepEqual([subscription!.client_url, subscription!.event_types, subscription!.job_ids, subscription!.active], [`${s.ingest.url}/dbt-cloud`, ['job.run.started', 'job.run.completed'], ['501', '502'], true]);
      assert.deepEqual(s.writes().map((w) => w.replace(/\?.*$/, '')), [
        `dbt Cloud: POST /api/v3/accounts/${DBT_ACCOUNT}/webhooks/subscriptions`,
        'Secret Manager: POST /v1/projects/postload-local/secrets/postload-dbt-cloud-webhook-secret:addVersion',
        `dbt Cloud: PUT /api/v3/accounts/${DBT_ACCOUNT}/webhooks/subscription/${subscription!.id}`,
      ]);
      assert.equal((s.dbt.requests.find((r) => r.method === 'POST')!.json as { active: boolean }).active, false, 'created inactive');
      assert.match(first.stdout, new RegExp(`created +webhook ${subscription!.id}: job.run.started, job.run.completed, jobs 501, 502, inactive at first`));
      assert.match(first.stdout, new RegExp(`updated +webhook ${subscription!.id}: activated`));
      assert.match(first.stderr, /waiting 61 s before activating webhook wsu_\w+/);
      secretNeverShown(first, subscription!.hmac_secret);

      const writes = s.writes().length;
      const second = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--job', '502', '--job', '501'], s.env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(s.writes().length, writes);
      assert.deepEqual(second.waits, []);
      assert.match(second.stdout, /unchanged +webhook wsu_\w+/);
    });

    it('a webhook created while a secret is stored waits the 30 s re-read interval; if activating it fails, it stays inactive with its secret stored, and the next run activates it', async () => {
      s.sm.addVersion(SECRETS.dbtCloud, 'e'.repeat(40)); // a webhook deleted in dbt Cloud by hand; its secret is still there
      const failed = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT)], s.env, () => void s.dbt.script({ status: 500, body: { data: null, status: { code: 500, is_success: false } } }));
      assert.equal(failed.code, 3, failed.stdout + failed.stderr);
      assert.deepEqual(failed.waits, [SECRET_PICKUP_MS]);
      const [inactive, ...none] = s.dbt.subscriptions.subscriptions.values();
      assert.equal(none.length, 0);
      assert.equal(inactive!.active, false);
      assert.deepEqual(s.sm.enabledValues(SECRETS.dbtCloud), [inactive!.hmac_secret, 'e'.repeat(40)]);
      assert.match(failed.stderr, new RegExp(`HTTP 500.*; webhook ${inactive!.id} was created inactive and its hmac_secret is stored, but it was not activated[\\s\\S]*fix: run the same postload connect again`));

      const again = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT)], s.env);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual([s.dbt.subscriptions.subscriptions.size, inactive!.active, s.sm.versions(SECRETS.dbtCloud).length], [1, true, 2], 'the same webhook activated, no new secret');
      assert.match(again.stdout, new RegExp(`updated +webhook ${inactive!.id}: activated`));
    });

    it('a webhook whose secret is lost (no enabled version) is replaced: a new one, inactive until the function can have read its stored secret, then the old one deleted', async () => {
      const old = s.dbt.subscriptions.add({ accountId: DBT_ACCOUNT, client_url: `${s.ingest.url}/dbt-cloud`, event_types: ['job.run.completed', 'job.run.errored'] });
      const run = await connectWithClock(s.env, 'dbt-cloud', { dbtAccount: String(DBT_ACCOUNT) });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.waits, [SECRET_PICKUP_AFTER_NONE_MS]);
      assert.match(run.stderr, /waiting 61 s before activating webhook wsu_\w+/);
      assert.ok(!s.dbt.subscriptions.subscriptions.has(old.id));
      const [fresh] = s.dbt.subscriptions.subscriptions.values();
      assert.deepEqual(s.sm.enabledValues(SECRETS.dbtCloud), [fresh!.hmac_secret]);
      assert.equal(fresh!.active, true);
      assert.deepEqual(fresh!.event_types, ['job.run.completed', 'job.run.errored', 'job.run.started'], 'the events a person chose are kept');
      assert.match(run.stdout, new RegExp(`deleted +webhook ${old.id}: replaced: its hmac_secret is not in Secret Manager`));
      const created = s.dbt.requests.find((r) => r.method === 'POST')!;
      assert.equal((created.json as { active: boolean }).active, false, 'created inactive');
      assert.deepEqual(s.writes().map((w) => w.replace(/\?.*$/, '')), [
        `dbt Cloud: POST /api/v3/accounts/${DBT_ACCOUNT}/webhooks/subscriptions`,
        'Secret Manager: POST /v1/projects/postload-local/secrets/postload-dbt-cloud-webhook-secret:addVersion',
        `dbt Cloud: PUT /api/v3/accounts/${DBT_ACCOUNT}/webhooks/subscription/${fresh!.id}`,
        `dbt Cloud: DELETE /api/v3/accounts/${DBT_ACCOUNT}/webhooks/subscription/${old.id}`,
      ]);
    });

    it('--new-secret replaces a working webhook the same way, waiting the function\'s 30 s re-read interval; the old secret stays enabled', async () => {
      assert.equal((await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT)], s.env)).code, 0);
      const [first] = s.dbt.subscriptions.subscriptions.values();
      const run = await connectWithClock(s.env, 'dbt-cloud', { dbtAccount: String(DBT_ACCOUNT), newSecret: true });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.waits, [SECRET_PICKUP_MS]);
      const [second, ...none] = s.dbt.subscriptions.subscriptions.values();
      assert.equal(none.length, 0);
      assert.notEqual(second!.id, first!.id);
      assert.deepEqual(s.sm.enabledValues(SECRETS.dbtCloud), [second!.hmac_secret, first!.hmac_secret]);
    });

    it('updates jobs and reactivates a webhook dbt Cloud deactivated, keeping its name', async () => {
      s.sm.addVersion(SECRETS.dbtCloud, 'c'.repeat(40));
      const old = s.dbt.subscriptions.add({ accountId: DBT_ACCOUNT, name: 'our name', client_url: `${s.ingest.url}/dbt-cloud`, event_types: ['job.run.started', 'job.run.completed'], job_ids: ['501'], active: false, deactivate_reason: 'deactivated after 5 failed deliveries' });
      const run = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT)], s.env);
      assert.equal(run.code, 0, run.stderr);
      const after = s.dbt.subscriptions.subscriptions.get(old.id)!;
      assert.deepEqual([after.active, after.job_ids, after.name, after.hmac_secret], [true, [], 'our name', old.hmac_secret]);
      assert.match(run.stdout, /updated +webhook wsu_\w+: jobs job 501 → every job; activated \(dbt Cloud said: deactivated after 5 failed deliveries\)/);
    });

    it('when Secret Manager refuses the hmac_secret, the new webhook is deleted again and nothing is left', async () => {
      s.sm.deny(SECRETS.dbtCloud);
      const run = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT)], s.env);
      assert.equal(run.code, 3);
      assert.match(run.stderr, /permission denied/);
      assert.equal(s.dbt.subscriptions.subscriptions.size, 0);
    });
  });

  it('--dry-run of airbyte and dbt-cloud prints each plan and changes nothing, a dbt Cloud replacement included', async () => {
    const airbyte = await runCli(['connect', 'airbyte', '--workspace', WORKSPACE, '--dry-run'], s.env);
    assert.equal(airbyte.code, 0, airbyte.stderr);
    assert.match(airbyte.stdout, /\(dry run: nothing was changed\)/);
    assert.match(airbyte.stdout, /would add +projects\/postload-local\/secrets\/postload-airbyte-webhook-token: a new random token/);
    assert.match(airbyte.stdout, /would update +notifications failure, success, .*: → http:\/\/127\.0\.0\.1:\d+\/airbyte\?token=… \(no webhook yet\)/);

    const old = s.dbt.subscriptions.add({ accountId: DBT_ACCOUNT, client_url: `${s.ingest.url}/dbt-cloud` });
    const dbt = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--dry-run'], s.env);
    assert.equal(dbt.code, 0, dbt.stderr);
    assert.match(dbt.stdout, /would create +webhook: job\.run\.completed, job\.run\.started, every job, inactive at first/, 'the events the old webhook had, and postload\'s');
    assert.match(dbt.stdout, /would add +projects\/postload-local\/secrets\/postload-dbt-cloud-webhook-secret: its hmac_secret/);
    assert.match(dbt.stdout, /would update +the new webhook: activated once the ingest function can have read its secret/);
    assert.match(dbt.stdout, new RegExp(`would delete +webhook ${old.id}: replaced: its hmac_secret is not in Secret Manager`));

    assert.deepEqual(s.writes(), []);
    assert.deepEqual([airbyte.waits, dbt.waits, s.ingest.requests.length], [[], [], 0], 'no wait, not even the probe of the token');
    assert.deepEqual([...s.dbt.subscriptions.subscriptions.keys()], [old.id]);
  });

  it('takes the vendor API credentials from Secret Manager when the environment holds sm:// references', async () => {
    s.sm.createSecret(`projects/${PROJECT}/secrets/my-dbt-admin-token`);
    s.sm.addVersion(`projects/${PROJECT}/secrets/my-dbt-admin-token`, DBT_ADMIN_TOKEN);
    const run = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--check'], { ...s.env, DBT_CLOUD_ADMIN_TOKEN: 'sm://my-dbt-admin-token' });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /✘ dbt Cloud account 70: no webhook points at/);
    assert.equal(s.dbt.requests[0]!.headers.authorization, `Token ${DBT_ADMIN_TOKEN}`, 'the value read from Secret Manager');
    assert.ok(!run.stdout.includes(DBT_ADMIN_TOKEN) && !run.stderr.includes(DBT_ADMIN_TOKEN));
    const missing = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--check'], { ...s.env, DBT_CLOUD_ADMIN_TOKEN: 'sm://no-such-token' });
    assert.equal(missing.code, 3, missing.stdout);
    assert.match(missing.stderr, /dbt Cloud API credentials: DBT_CLOUD_ADMIN_TOKEN: Secret Manager could not be read/);
  });

  describe('bad input: a clear message, the documented exit code, nothing changed', () => {
    const cases: Array<{ name: string; args: () => string[]; env?: () => Record<string, string>; code: number; message: RegExp }> = [
      { name: 'Fivetran refuses the API key (401)', args: () => ['connect', 'fivetran', '--account'], env: () => ({ FIVETRAN_API_SECRET: 'wrong' }), code: 3, message: /Fivetran refused the API credentials: .*HTTP 401[\s\S]*fix: check FIVETRAN_API_KEY and FIVETRAN_API_SECRET/ },
      { name: 'Airbyte refuses the client (401)', args: () => ['connect', 'airbyte', '--workspace', WORKSPACE], env: () => ({ AIRBYTE_API_CLIENT_SECRET: 'wrong' }), code: 3, message: /Airbyte refused the API credentials/ },
      { name: 'dbt Cloud refuses the token (401)', args: () => ['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT)], env: () => ({ DBT_CLOUD_ADMIN_TOKEN: 'wrong' }), code: 3, message: /dbt Cloud refused the API credentials[\s\S]*DBT_CLOUD_ADMIN_TOKEN/ },
      { name: 'no credentials at all', args: () => ['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT)], env: () => ({ DBT_CLOUD_ADMIN_TOKEN: '' }), code: 3, message: /DBT_CLOUD_ADMIN_TOKEN is not set[\s\S]*never a flag/ },
      { name: 'an unknown Fivetran group', args: () => ['connect', 'fivetran', '--group', 'no_such_group'], code: 2, message: /Fivetran has no group no_such_group/ },
      { name: 'an unknown Airbyte workspace', args: () => ['connect', 'airbyte', '--workspace', '00000000-0000-4000-8000-000000000000'], code: 2, message: /Airbyte has no workspace 00000000-/ },
      { name: 'a workspace id that is not one', args: () => ['connect', 'airbyte', '--workspace', 'analytics'], code: 2, message: /"analytics" is not an Airbyte workspace id/ },
      { name: 'an unknown dbt Cloud account', args: () => ['connect', 'dbt-cloud', '--account', '71'], code: 2, message: /dbt Cloud answered 404 for account 71/ },
      { name: 'an unknown dbt Cloud job', args: () => ['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--job', '999'], code: 2, message: /account 70 has no job 999/ },
      { name: 'an ingest URL that is not HTTPS', args: () => ['connect', 'fivetran', '--account', '--ingest-url', 'http://ingest.example.com'], code: 2, message: /the ingest URL http:\/\/ingest\.example\.com is not HTTPS/ },
      { name: 'no ingest URL', args: () => ['connect', 'fivetran', '--account'], env: () => ({ POSTLOAD_INGEST_URL: '' }), code: 2, message: /no ingest URL[\s\S]*terraform output -raw ingest_url/ },
      { name: 'no Fivetran scope', args: () => ['connect', 'fivetran'], code: 2, message: /needs a scope/ },
      { name: 'a literal webhook secret where connect must write a version', args: () => ['connect', 'fivetran', '--account'], env: () => ({ FIVETRAN_WEBHOOK_SECRET: 'literal-value' }), code: 2, message: /FIVETRAN_WEBHOOK_SECRET holds a value, not a Secret Manager reference/ },
      { name: 'a pinned secret version', args: () => ['connect', 'airbyte', '--workspace', WORKSPACE], env: () => ({ AIRBYTE_WEBHOOK_TOKEN: `sm://${SECRETS.airbyte}/versions/1` }), code: 2, message: /pins one version/ },
      { name: 'a secret Terraform has not created', args: () => ['connect', 'fivetran', '--account'], env: () => ({ FIVETRAN_WEBHOOK_SECRET: 'sm://postload-missing' }), code: 3, message: /projects\/postload-local\/secrets\/postload-missing does not exist[\s\S]*apply Terraform first/ },
      { name: 'an unknown Airbyte notification type', args: () => ['connect', 'airbyte', '--workspace', WORKSPACE, '--notifications', 'success,sync_failed'], code: 2, message: /sync_failed is not an Airbyte notification type/ },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const run = await runCli(c.args(), { ...s.env, ...c.env?.() });
        assert.equal(run.code, c.code, run.stdout + run.stderr);
        assert.match(run.stderr, c.message);
        assert.deepEqual(s.writes(), [], 'nothing changed anywhere');
      });
    }
  });

  describe('--check', () => {
    it('passes once all three are connected, and names each difference with its fix after someone changes them', async () => {
      const env = { ...s.env, DBT_CLOUD_ACCOUNT_ID: String(DBT_ACCOUNT) };
      const none = await runCli(['connect', '--check'], env);
      assert.equal(none.code, 1);
      assert.match(none.stdout, /✘ Fivetran webhooks: no webhook points at/);
      assert.match(none.stdout, /✘ Airbyte workspaces: no workspace this application sees sends notifications/);
      assert.match(none.stdout, /✘ dbt Cloud account 70: no webhook points at[\s\S]*fix: postload connect dbt-cloud --account 70/);
      for (const args of [['fivetran', '--account'], ['airbyte', '--workspace', WORKSPACE], ['dbt-cloud']]) assert.equal((await runCli(['connect', ...args], env)).code, 0);
      const writes = s.writes().length;
      const good = await runCli(['connect', '--check'], env);
      assert.equal(good.code, 0, good.stdout);
      assert.match(good.stdout, /every registration is as postload expects/);
      assert.equal(s.writes().length, writes, '--check only reads');

      const [fivetran] = s.fivetran.webhooks.webhooks.values();
      fivetran!.events = ['sync_end'];
      const [dbt] = s.dbt.subscriptions.subscriptions.values();
      dbt!.active = false;
      dbt!.deactivate_reason = 'deactivated after 5 failed deliveries';
      s.airbyte.workspaces.workspaces.get(WORKSPACE)!.notifications.failure = { email: false, webhook: true, url: 'https://hooks.slack.com/services/X' };
      const bad = await runCli(['connect', '--check', '--json'], env);
      assert.equal(bad.code, 1);
      const result = JSON.parse(bad.stdout) as { ok: boolean; findings: Array<{ vendor: string; ok: boolean; details: string[] }> };
      assert.equal(result.ok, false);
      const details = (vendor: string) => result.findings.filter((f) => f.vendor === vendor && !f.ok).flatMap((f) => f.details);
      assert.deepEqual(details('fivetran'), ['does not send sync_start, connection_failure']);
      assert.deepEqual(details('airbyte'), ['failure goes to https://hooks.slack.com/…, not postload']);
      assert.deepEqual(details('dbt-cloud'), ['inactive (dbt Cloud: deactivated after 5 failed deliveries): dbt Cloud sends it nothing']);
    });

    it('a vendor without credentials is skipped, and with none at all there is nothing to check (exit 3)', async () => {
      const env = { ...s.env, AIRBYTE_API_CLIENT_ID: '', AIRBYTE_API_CLIENT_SECRET: '', DBT_CLOUD_ADMIN_TOKEN: '' };
      await runCli(['connect', 'fivetran', '--account'], env);
      const some = await runCli(['connect', '--check'], env);
      assert.equal(some.code, 0, some.stdout);
      assert.match(some.stdout, /· Airbyte: not checked \(AIRBYTE_API_CLIENT_ID \/ AIRBYTE_API_CLIENT_SECRET not set\)/);
      const nothing = await runCli(['connect', '--check'], { ...env, FIVETRAN_API_KEY: '', FIVETRAN_API_SECRET: '' });
      assert.equal(nothing.code, 3);
      assert.match(nothing.stderr, /no vendor API credentials are set/);
    });
  });

  it('works on the deployment its ingest URL names, even while a local stack (npm start) runs in this clone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postload-connect-'));
    try {
      const file = join(dir, 'local-stack.json');
      writeStackState(file, {
        version: 1, pid: process.pid, startedAt: new Date().toISOString(), projectId: 'postload-stack', pubsubEmulatorHost: '127.0.0.1:1', firestoreEmulatorHost: '127.0.0.1:2',
        topic: 't', deadLetterSubscription: 'd', auditCollection: 'a', connectorsCollection: 'c', ingestUrl: 'http://127.0.0.1:3', developmentSecrets: [], routing: '{}',
      });
      const run = await runCli(['connect', 'fivetran', '--account'], { ...s.env, POSTLOAD_STATE_FILE: file });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(!run.stderr.includes('using the local stack'));
      assert.equal(s.sm.versions(SECRETS.fivetran).length, 1, "the deployment's secret (project postload-local), not the stack's project");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints a vendor's text with its control characters made visible", async () => {
    const hostile = s.airbyte.workspaces.add({ name: 'Analytics\u001b]52;c;cm0gLXJmIH4=\u0007\u202e' });
    assert.equal((await runCli(['connect', 'airbyte', '--workspace', hostile.workspaceId], s.env)).code, 0);
    const check = await runCli(['connect', 'airbyte', '--workspace', hostile.workspaceId, '--check'], s.env);
    assert.equal(check.code, 0, check.stdout);
    assert.ok(check.stdout.includes('(Analytics\\x1b]52;c;cm0gLXJmIH4=\\x07\\u202e)'), check.stdout);
    assert.doesNotMatch(check.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it('never takes a credential as a flag', async () => {
    const run = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--token', DBT_ADMIN_TOKEN], s.env);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option '--token'/);
  });
});
