import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_ROUTING as DEMO_WITH_APP } from '../../../functions/local/demo-scenario.js';
import { DEMO_SLACK_APP_ROUTE } from '../../../functions/local/demo-slack-app.js';
import { fakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { fakeAirflow } from '../../../functions/local/fake-airflow.js';
import { fakeCloudRun, RUN_PERMISSIONS } from '../../../functions/local/fake-cloud-run.js';
import { LOCAL_STAND_IN_TOKEN } from '../../../functions/processor/clients/google-token.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';
import { runCli } from '../../support/run-cli.js';

// `postload check` with the environment a deployment would have. It reads nothing from
// Pub/Sub or Firestore; dbt Cloud is the loopback stand-in, which knows the demo's jobs.

// No metadata server here: without this the Google auth library probes for one.
process.env.METADATA_SERVER_DETECTION ??= 'none';

// The demo's routing as a webhook-only deployment has it: the Slack app story's route needs a
// bot token and the Slack stand-in, and check-slack.test.ts checks app targets.
const DEMO_ROUTING = { ...DEMO_WITH_APP, routes: DEMO_WITH_APP.routes.filter((route) => route !== DEMO_SLACK_APP_ROUTE) };

describe('postload check', () => {
  let dbt: RecordingServer;
  before(async () => {
    dbt = fakeDbtCloud({ jobs: [101, 102, 201, 301, 401, 501] });
    await dbt.start();
  });
  after(() => dbt?.stop());

  /** A routing file whose only job is the one a join starts. */
  const withJoin = (jobId: number) => ({
    version: 1,
    routes: [{ name: 'orders', match: { source: 'fivetran', connectorId: 'orders' }, slack: { notify: [] } }],
    joins: [{ name: 'nightly', within: 'PT6H', upstreams: [{ name: 'orders', match: { source: 'fivetran', connectorId: 'orders' } }, { name: 'billing', match: { source: 'airbyte' } }], dbtJob: { jobId } }],
  });

  const good = () => ({
    ROUTING_CONFIG: JSON.stringify(DEMO_ROUTING),
    FIVETRAN_WEBHOOK_SECRET: 'f',
    AIRBYTE_WEBHOOK_TOKEN: 'a',
    DBT_CLOUD_WEBHOOK_SECRET: 'd',
    DBT_CLOUD_BASE_URL: dbt.url,
    DBT_CLOUD_ACCOUNT_ID: '1',
    DBT_CLOUD_API_TOKEN: 'local-dbt-token',
    SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/check-test',
    SYNC_EVENT_SIGNING_KEY: 'check-sync-event-signing-key-0123456789',
    GOOGLE_CLOUD_PROJECT: 'postload-local',
  });

  it('passes on a good configuration, asking dbt Cloud for each routed job with the token', async () => {
    const run = await runCli(['check'], good());
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /all \d+ checks passed/);
    for (const job of [101, 102, 201]) assert.match(run.stdout, new RegExp(`✔ dbt job ${job}\\s+exists in account 1`));
    const asked = dbt.requests.filter((r) => r.method === 'GET' && /\/jobs\/\d+\/$/.test(r.url));
    assert.ok(asked.every((r) => r.headers.authorization === 'Token local-dbt-token'));
    assert.ok(!run.stdout.includes('local-dbt-token') && !run.stdout.includes('hooks.slack.example'), 'a secret value was printed');
  });

  const broken: Array<[string, (env: Record<string, string>) => Record<string, string>, RegExp]> = [
    ['a routing file that fails its schema (with the pointer)', (e) => ({ ...e, ROUTING_CONFIG: JSON.stringify({ ...DEMO_ROUTING, routes: [{ ...DEMO_ROUTING.routes[0], dbtJobs: [{ jobId: 'x' }] }] }) }), /✖ routing\s+ROUTING_CONFIG: inline JSON: \/routes\/0\/dbtJobs\/0\/jobId must /],
    ['a missing setting', (e) => { const { DBT_CLOUD_ACCOUNT_ID: _, ...rest } = e; return rest; }, /✖ processor settings\s+DBT_CLOUD_ACCOUNT_ID: is not set/],
    ['a malformed setting', (e) => ({ ...e, MAX_BODY_BYTES: 'lots' }), /✖ ingest settings\s+MAX_BODY_BYTES: must be a whole number/],
    ['an unreadable secret', (e) => ({ ...e, FIVETRAN_WEBHOOK_SECRET: 'sm://projects/postload-no-such-project/secrets/nope' }), /✖ secret FIVETRAN_WEBHOOK_SECRET\s+unreadable: (no Google Cloud credentials|.*postload-no-such-project)/],
    ['an unset secret', (e) => { const { AIRBYTE_WEBHOOK_TOKEN: _, ...rest } = e; return rest; }, /✖ secret AIRBYTE_WEBHOOK_TOKEN\s+not set/],
    ['an unset dbt Cloud webhook secret', (e) => { const { DBT_CLOUD_WEBHOOK_SECRET: _, ...rest } = e; return rest; }, /✖ secret DBT_CLOUD_WEBHOOK_SECRET\s+not set/],
    ['a malformed source range', (e) => ({ ...e, DBT_CLOUD_SOURCE_RANGES: '10.0.0.0/8, 300.1.2.3/24' }), /✖ ingest settings\s+DBT_CLOUD_SOURCE_RANGES: "300\.1\.2\.3\/24" is not an IPv4 or IPv6 CIDR range/],
    ['a malformed TRUSTED_PROXY_HOPS', (e) => ({ ...e, TRUSTED_PROXY_HOPS: '-1' }), /✖ ingest settings\s+TRUSTED_PROXY_HOPS: /],
    ['MAX_DELIVERY_ATTEMPTS out of Pub/Sub\'s range', (e) => ({ ...e, MAX_DELIVERY_ATTEMPTS: '3' }), /✖ processor settings\s+MAX_DELIVERY_ATTEMPTS: /],
    ['a dbt job only a join names, unknown to the account', (e) => ({ ...e, ROUTING_CONFIG: JSON.stringify(withJoin(998)) }), /✖ dbt job 998\s+not found in account 1/],
    [
      'a malformed freshness rule (naming the field)',
      (e) => ({ ...e, ROUTING_CONFIG: JSON.stringify({ ...DEMO_ROUTING, freshness: { rules: [{ match: { source: 'fivetran' }, freshness: { cron: '0 7 * * 1-5', timezone: 'Europe/Berlinn' } }] } }) }),
      /✖ sweep settings\s+ROUTING_CONFIG: inline JSON: \/freshness\/rules\/0\/freshness\/timezone "Europe\/Berlinn" is not an IANA time zone/,
    ],
    ['half a vendor API credential', (e) => ({ ...e, AIRBYTE_API_CLIENT_ID: 'client' }), /✖ sweep settings\s+AIRBYTE_API_CLIENT_SECRET: is not set, but AIRBYTE_API_CLIENT_ID is/],
    ['a dbt job the account does not have', (e) => ({ ...e, ROUTING_CONFIG: JSON.stringify({ version: 1, routes: [{ name: 'x', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 999 }] }] }) }), /✖ dbt job 999\s+not found in account 1/],
  ];
  for (const [what, breakIt, expected] of broken) {
    it(`fails on ${what}, exit 1`, async function () {
      this.timeout(60_000);
      const run = await runCli(['check'], breakIt(good()));
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, expected);
      assert.match(run.stdout, /\d+ of \d+ checks failed/);
    });
  }

  it('reports every problem in one run: each routing mistake and each bad or missing setting, a line each', async function () {
    this.timeout(60_000);
    const { DBT_CLOUD_ACCOUNT_ID: _a, DBT_CLOUD_API_TOKEN: _t, SYNC_EVENT_SIGNING_KEY: _k, ...rest } = good();
    const routing = { version: 1, routes: [{ name: 'orders', match: { source: 'fivetrn' }, dbtjobs: [{ jobId: 101 }] }, { name: 'crm', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 102, onBusy: 'coalese' }] }] };
    const run = await runCli(['check'], { ...rest, ROUTING_CONFIG: JSON.stringify(routing), MAX_BODY_BYTES: 'lots', PUBLISH_TIMEOUT_MS: '5', MAX_DELIVERY_ATTEMPTS: '3' });
    assert.equal(run.code, 1, run.stdout);
    for (const expected of [
      /✖ routing\s+ROUTING_CONFIG: inline JSON: \/routes\/0\/dbtjobs is not a key this object has: did you mean "dbtJobs"\? \(allowed: name, match, dbtJobs, cloudRunJobs, airflowDags, httpCalls, slack\)/,
      /✖ routing\s+ROUTING_CONFIG: inline JSON: \/routes\/0\/match\/source is "fivetrn", not an allowed value: did you mean "fivetran"\?/,
      /✖ routing\s+ROUTING_CONFIG: inline JSON: \/routes\/1\/dbtJobs\/0\/onBusy is "coalese", not an allowed value: did you mean "coalesce"\? \(allowed: coalesce, queue, skip\)/,
      /✖ ingest settings\s+MAX_BODY_BYTES: must be a whole number/,
      /✖ ingest settings\s+PUBLISH_TIMEOUT_MS: must be a whole number/,
      /✖ processor settings\s+MAX_DELIVERY_ATTEMPTS: /,
    ]) assert.match(run.stdout, expected);
    // With a routing file that loads, the settings it needs are all named in the same run.
    const second = await runCli(['check'], rest);
    assert.equal(second.code, 1);
    for (const setting of ['DBT_CLOUD_ACCOUNT_ID: is not set', 'DBT_CLOUD_API_TOKEN: is not set', 'SYNC_EVENT_SIGNING_KEY: is not set']) {
      assert.match(second.stdout, new RegExp(`✖ processor settings\\s+${setting}`));
    }
  });

  it('takes sm://NAME in the project of GOOGLE_CLOUD_PROJECT (or --project), as the functions do; without one, says how to give it', async function () {
    this.timeout(60_000);
    const short = { ...good(), FIVETRAN_WEBHOOK_SECRET: 'sm://postload-fivetran-webhook-secret' };
    const run = await runCli(['check'], short);
    assert.doesNotMatch(run.stdout, /not a Secret Manager reference/);
    assert.match(run.stdout, /✖ secret FIVETRAN_WEBHOOK_SECRET\s+unreadable: /, 'read as a reference (there are no credentials here)');
    const { GOOGLE_CLOUD_PROJECT: _p, ...noProject } = short;
    // No project anywhere Application Default Credentials look (environment, credentials file, gcloud's configuration).
    const saved = { ...process.env };
    for (const name of ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_CORE_PROJECT']) delete process.env[name];
    process.env.CLOUDSDK_CONFIG = mkdtempSync(join(tmpdir(), 'postload-gcloud-'));
    let without: Awaited<ReturnType<typeof runCli>>;
    try {
      without = await runCli(['check'], noProject);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
    assert.match(without.stdout, /✖ ingest settings\s+FIVETRAN_WEBHOOK_SECRET: "sm:\/\/postload-fivetran-webhook-secret" names no project: set GOOGLE_CLOUD_PROJECT .*--project for postload check.*, or write sm:\/\/projects\/PROJECT\/secrets\/postload-fivetran-webhook-secret/);
    const flagged = await runCli(['check', '--project', 'postload-local'], noProject);
    assert.doesNotMatch(flagged.stdout, /names no project/);
  });

  it('checks the job a join starts like any routed job, and reports the ingest settings it read', async () => {
    const run = await runCli(['check'], { ...good(), ROUTING_CONFIG: JSON.stringify(withJoin(201)), FIVETRAN_SOURCE_RANGES: '35.234.176.0/20', TRUSTED_PROXY_HOPS: '1', MAX_DELIVERY_ATTEMPTS: '7' });
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /✔ dbt job 201\s+exists in account 1/);
    assert.match(run.stdout, /✔ ingest settings .*source ranges: fivetran from FIVETRAN_SOURCE_RANGES, 1 trusted proxy hop/);
    assert.match(run.stdout, /✔ processor settings .*final alert on delivery 7 \(MAX_DELIVERY_ATTEMPTS\)/);
    assert.match(run.stdout, /✔ secret DBT_CLOUD_WEBHOOK_SECRET\s+readable/);
  });

  it('reports the sweep\'s freshness settings, and checks the vendor API credentials like the other secrets', async () => {
    const routing = { ...DEMO_ROUTING, freshness: { rules: [{ match: { source: 'fivetran' }, freshness: { every: '1h' } }], realert: '12h' } };
    const run = await runCli(['check'], { ...good(), ROUTING_CONFIG: JSON.stringify(routing), FIVETRAN_API_KEY: 'key', FIVETRAN_API_SECRET: 'secret' });
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /✔ sweep settings\s+1 freshness rule\(s\), reminders every 12h, messages to SLACK_WEBHOOK_URL, reconciliation with Fivetran API https:\/\/api\.fivetran\.com\/v1/);
    assert.match(run.stdout, /✔ secret FIVETRAN_API_KEY\s+readable/);
    assert.match(run.stdout, /✔ secret FIVETRAN_API_SECRET\s+readable/);
  });

  it('says Slack is not configured when SLACK_WEBHOOK_URL is unset, and passes (Slack is optional)', async () => {
    const { SLACK_WEBHOOK_URL: _, ...withoutSlack } = good();
    const run = await runCli(['check'], withoutSlack);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /✔ Slack\s+not configured \(SLACK_WEBHOOK_URL is not set\): no message goes to Slack; each is logged as "Slack message not sent: no Slack webhook is configured", which an alert policy matches/);
    assert.doesNotMatch(run.stdout, /secret SLACK_WEBHOOK_URL/);
    const configured = await runCli(['check'], good());
    assert.doesNotMatch(configured.stdout, /Slack\s+not configured/);
  });

  it('--routing FILE checks that file; --json reports each check', async () => {
    const run = await runCli(['check', '--routing', 'functions/local/routing.local.json', '--json'], good());
    const report = JSON.parse(run.stdout) as { ok: boolean; results: Array<{ check: string; ok: boolean; detail: string }> };
    assert.match(report.results[0]!.detail, /routing\.local\.json: valid, 2 route\(s\)/);
    assert.equal(report.results.find((r) => r.check === 'dbt job 202')?.ok, false);
    assert.equal(report.ok, false);
    assert.equal(run.code, 1);
  });

  describe('run targets (issue 28)', () => {
    const JOB = 'projects/demo-project/locations/europe-west1/jobs/dbt-core';
    const cloudRun = fakeCloudRun({ jobs: [{ name: JOB }], token: LOCAL_STAND_IN_TOKEN });
    const airflow = fakeAirflow({ version: 2, dags: ['dbt_build'], auth: { bearer: 'airflow-check-token-0123456789abcdefghij' } });
    before(async () => Promise.all([cloudRun.start(), airflow.start()]));
    after(async () => Promise.all([cloudRun.stop(), airflow.stop()]));
    beforeEach(() => {
      cloudRun.reset();
      cloudRun.permissions = new Set(RUN_PERMISSIONS);
      airflow.reset();
    });
    const routing = (job = JOB, dagId = 'dbt_build') => ({
      version: 1,
      routes: [
        {
          name: 'core',
          match: { source: 'fivetran' },
          cloudRunJobs: [{ job, args: ['build'] }],
          airflowDags: [{ api: airflow.apiBase, dagId, auth: { bearer: 'env:AIRFLOW_TOKEN' } }],
          slack: { notify: [] },
        },
      ],
    });
    const env = (r: unknown) => ({ ...good(), ROUTING_CONFIG: JSON.stringify(r), CLOUD_RUN_API_BASE_URL: cloudRun.url, AIRFLOW_TOKEN: 'airflow-check-token-0123456789abcdefghij' });

    it('passes when the Cloud Run job exists with every permission the processor needs and the DAG can be read', async () => {
      const run = await runCli(['check'], env(routing()));
      assert.equal(run.code, 0, run.stdout);
      assert.match(run.stdout, /✔ Cloud Run job dbt-core \(europe-west1\)\s+exists; 5 permissions held/);
      assert.match(run.stdout, /✔ Airflow DAG dbt_build\s+exists at http:\/\/127\.0\.0\.1:\d+\/api\/v2/);
      assert.ok(cloudRun.requests.some((r) => r.url.endsWith(':testIamPermissions')), 'asked Cloud Run which permissions are held');
    });

    it('names the permission missing on the job, a job that does not exist, and a DAG that does not', async () => {
      cloudRun.permissions.delete('run.jobs.runWithOverrides');
      const missingPermission = await runCli(['check'], env(routing()));
      assert.equal(missingPermission.code, 1);
      assert.match(missingPermission.stdout, /✖ Cloud Run job dbt-core \(europe-west1\)\s+exists, but run\.jobs\.runWithOverrides is not granted on it/);
      const missing = await runCli(['check'], env(routing('projects/demo-project/locations/europe-west1/jobs/nope', 'nope')));
      assert.equal(missing.code, 1);
      assert.match(missing.stdout, /✖ Cloud Run job nope \(europe-west1\)\s+projects\/demo-project\/locations\/europe-west1\/jobs\/nope does not exist, or this identity may not see it/);
      assert.match(missing.stdout, /✖ Airflow DAG nope\s+not found at /);
    });
  });
});
