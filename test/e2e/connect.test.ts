import assert from 'node:assert/strict';
import { SECRET_PICKUP_AFTER_NONE_MS } from '../../functions/cli/connect/dbt-cloud.js';
import type { FunctionProcess } from '../../functions/local/function-process.js';
import type { SyncEvent } from '../../functions/shared/sync-event.js';
import { DBT_ACCOUNT, SECRETS, startStandIns, WORKSPACE, type StandIns } from '../support/connect-stand-ins.js';
import { ingestOnEmulator } from '../support/ingest-harness.js';
import type { EmulatorPubSub } from '../support/pubsub-emulator.js';
import { runCli } from '../support/run-cli.js';

// The whole of `postload connect`, as a deploy runs it: the real ingest function (reading
// its three secrets from the Secret Manager stand-in, as it reads Secret Manager in a
// deployment), publishing to the Pub/Sub emulator; `connect` registers it with the three
// vendor stand-ins, which then deliver signed webhooks to the URL each was given, and the
// function accepts them. A second `connect` changes nothing.

process.env.METADATA_SERVER_DETECTION ??= 'none';

describe('postload connect, end to end: vendors deliver to what connect registered, and the ingest function accepts it', function () {
  this.timeout(120_000);
  let s: StandIns;
  let ingest: FunctionProcess;
  let pubsub: EmulatorPubSub;
  let subscription: string;
  let env: Record<string, string>;

  before(async function () {
    s = await startStandIns();
    ({ pubsub, subscription, ingest } = await ingestOnEmulator(this, {
      SECRET_MANAGER_EMULATOR_HOST: s.sm.host,
      FIVETRAN_WEBHOOK_SECRET: `sm://${SECRETS.fivetran}`,
      AIRBYTE_WEBHOOK_TOKEN: `sm://${SECRETS.airbyte}`,
      DBT_CLOUD_WEBHOOK_SECRET: `sm://${SECRETS.dbtCloud}`,
    }));
    env = { ...s.env, POSTLOAD_INGEST_URL: ingest.url, DBT_CLOUD_ACCOUNT_ID: String(DBT_ACCOUNT) };
  });
  after(async () => {
    await ingest?.stop();
    await s?.stop();
  });

  const published = async (count: number) => (await pubsub.pullAtLeast(subscription, count, 15_000)).map((m) => JSON.parse(m.data) as SyncEvent);

  it('connects all three; each stand-in vendor delivers a signed webhook to its URL and the function publishes it', async () => {
    const fivetran = await runCli(['connect', 'fivetran', '--account'], env);
    assert.equal(fivetran.code, 0, fivetran.stdout + fivetran.stderr);
    assert.deepEqual(s.fivetran.webhooks.tests.map((t) => t.status), [202], "Fivetran's creation test reached the real function, signed with the new secret, and was accepted");
    const airbyte = await runCli(['connect', 'airbyte', '--workspace', WORKSPACE], env);
    assert.equal(airbyte.code, 0, airbyte.stdout + airbyte.stderr);
    const dbt = await runCli(['connect', 'dbt-cloud', '--account', String(DBT_ACCOUNT), '--job', '501'], env);
    assert.equal(dbt.code, 0, dbt.stdout + dbt.stderr);
    assert.deepEqual(dbt.waits, [SECRET_PICKUP_AFTER_NONE_MS], 'created inactive; activated after the wait for the function to read its secret (a fake clock here)');
    const tests = await published(2);
    assert.deepEqual(tests.map((e) => [e.source, e.type]).sort(), [['airbyte', 'test'], ['fivetran', 'test']], "Fivetran's creation test and connect's probe of the Airbyte token, each published as a test, which starts nothing");

    s.fivetran.addConnection({ id: 'orders_pg', group_id: 'warehouse_group' });
    const fivetranDeliveries = await s.fivetran.webhooks.deliver(s.fivetran.finishSync('orders_pg'));
    assert.deepEqual(fivetranDeliveries.map((d) => d.status), [202]);

    s.airbyte.addConnection({ connectionId: '7a1b2c3d-0000-4000-8000-000000000001', workspaceId: WORKSPACE, name: 'billing' });
    const { webhook } = s.airbyte.runJob('7a1b2c3d-0000-4000-8000-000000000001');
    assert.equal(await s.airbyte.workspaces.notify(WORKSPACE, 'success', webhook), 202);

    const run = s.dbt.addRun({ accountId: DBT_ACCOUNT, jobId: 501, cause: 'Kicked off from UI' });
    s.dbt.setStatus(run.id, 10);
    const dbtDeliveries = await s.dbt.subscriptions.deliver(DBT_ACCOUNT, 501, 'job.run.completed', s.dbt.webhookBody(run, 'job.run.completed'));
    assert.deepEqual(dbtDeliveries.map((d) => [d.status, d.attempts]), [[202, 1]]);

    const events = await published(3);
    assert.deepEqual(
      events.map((e) => [e.source, e.type, e.connector.id]).sort(),
      [
        ['airbyte', 'sync.succeeded', '7a1b2c3d-0000-4000-8000-000000000001'],
        ['dbt-cloud', 'transformation.succeeded', '501'],
        ['fivetran', 'sync.succeeded', 'orders_pg'],
      ],
    );
  });

  it('a second connect changes nothing, and --check finds every registration as postload expects', async () => {
    const snapshot = () =>
      JSON.stringify({
        fivetran: [...s.fivetran.webhooks.webhooks.values()],
        airbyte: [...s.airbyte.workspaces.workspaces.values()],
        dbt: [...s.dbt.subscriptions.subscriptions.values()].map(({ http_status_code: _h, failures: _f, ...rest }) => rest),
        secrets: Object.values(SECRETS).map((name) => s.sm.versions(name).map((v) => [v.number, v.state])),
      });
    const before = snapshot();
    for (const args of [['fivetran', '--account'], ['airbyte', '--workspace', WORKSPACE], ['dbt-cloud', '--account', String(DBT_ACCOUNT), '--job', '501']]) {
      const again = await runCli(['connect', ...args], env);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /nothing to change: already as postload expects/, args[0]);
    }
    assert.equal(snapshot(), before);
    assert.deepEqual(Object.values(SECRETS).map((name) => s.sm.versions(name).length), [1, 1, 1], 'one version each, from the first run');
    const check = await runCli(['connect', '--check'], env);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.stdout.match(/^✔/gm)?.length, 3);
  });

  it('after --new-secret both versions are enabled: a delivery Fivetran signed with the old secret is still accepted', async () => {
    const [oldSecret] = s.sm.enabledValues(SECRETS.fivetran);
    const rotated = await runCli(['connect', 'fivetran', '--account', '--new-secret'], env);
    assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);
    const [newSecret, stillEnabled] = s.sm.enabledValues(SECRETS.fivetran);
    assert.equal(stillEnabled, oldSecret);
    const [webhook] = s.fivetran.webhooks.webhooks.values();
    assert.equal(webhook!.secret, newSecret, 'Fivetran signs with the new one from now on');
    webhook!.secret = oldSecret!; // a retry of a delivery Fivetran signed before the change
    assert.deepEqual((await s.fivetran.webhooks.deliver(s.fivetran.finishSync('orders_pg'))).map((d) => d.status), [202]);
    await published(1);
  });
});
