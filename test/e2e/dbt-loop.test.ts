import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AuditReader } from '../../functions/local/audit-reader.js';
import { triggerRequests } from '../../functions/local/fake-dbt-cloud.js';
import { DEVELOPMENT_SECRETS } from '../../functions/local/local-settings.js';
import { pollUntil } from '../../functions/local/poll.js';
import type { RecordedRequest } from '../../functions/local/recording-server.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { postDbtCloud, postFivetran } from '../../functions/local/webhooks.js';
import type { RunOutcome } from '../../functions/processor/planning/run-outcome.js';

// Issue 13 end to end, nothing stubbed: a signed Fivetran success → ingest → Pub/Sub
// emulator → processor → the dbt Cloud stand-in starts a run → the stand-in sends dbt
// Cloud's signed run webhooks (started, errored, completed) to the ingest `/dbt-cloud`
// URL → Pub/Sub → processor → the Fivetran event's audit record shows the run failed and
// Slack gets one alert naming the Fivetran sync.

process.env.METADATA_SERVER_DETECTION ??= 'none';

const CONNECTOR = `loop_orders_${randomUUID().slice(0, 8)}`;
const JOB = 101;
const ROUTING = { routes: [{ name: 'orders', match: { source: 'fivetran', connectorId: CONNECTOR }, dbtJobs: [{ jobId: JOB }] }] };
const ERROR = 'Database Error in model orders (relation "raw.orders" does not exist)';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('end to end: the dbt Cloud loop closes through /dbt-cloud', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let audit: AuditReader;

  before(async function () {
    stack = await startTestStack(this, {
      topicPrefix: 'sync-events-loop',
      routing: ROUTING,
      dbtRunWebhooks: { delayMs: 200, endFor: (run) => (run.jobId === JOB ? 'error' : 'success'), errorMessage: () => ERROR },
    });
    audit = new AuditReader(stack.firestoreHost, stack.projectId, stack.collections.audit);
  });

  after(async () => {
    await audit?.close();
    await stack?.stop();
  });

  it('a Fivetran success starts a run; its errored run comes back signed; the audit record shows it failed; Slack gets one alert naming the sync; duplicates change nothing', async () => {
    const syncId = randomUUID();
    const body = JSON.stringify({
      event: 'sync_end', created: new Date().toISOString(), connector_type: 'google_cloud_postgresql', connector_id: CONNECTOR,
      connector_name: 'orders_pg', sync_id: syncId, destination_group_id: 'warehouse_bq', data: { status: 'SUCCESSFUL' },
    });
    const response = await postFivetran(stack.fivetranUrl, body, DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };

    const outcome = await pollUntil(
      async () => {
        const record = await audit.read(id);
        const runOutcome = (record?.actions[`dbt-job-${JOB}`] as { runOutcome?: RunOutcome } | undefined)?.runOutcome;
        return runOutcome?.status === 'failed' ? runOutcome : undefined;
      },
      { timeoutMs: 30_000, everyMs: 200, failure: () => `the audit record of ${id} shows no failed run after 30 s` },
    );
    const dbt = stack.dbt!;
    const [run] = dbt.runsFor(id);
    assert.ok(run);
    assert.equal(triggerRequests(dbt).filter((r) => r.body.includes(id)).length, 1, 'one run');
    await pollUntil(async () => (dbt.webhookDeliveries.filter((d) => d.runId === run.id).length === 3 ? true : undefined), { timeoutMs: 10_000, everyMs: 100, failure: () => 'the stand-in did not send its three webhooks' });
    const deliveries = dbt.webhookDeliveries.filter((d) => d.runId === run.id);
    assert.deepEqual(deliveries.map((d) => [d.eventType, d.status]), [['job.run.started', 202], ['job.run.errored', 202], ['job.run.completed', 202]]);
    assert.equal(outcome.errorMessage, ERROR);
    assert.equal(outcome.runStatusCode, 20);

    const alertsFor = (requests: RecordedRequest[]) => requests.filter((r) => r.body.includes('transformation failed') && r.body.includes(syncId));
    await pollUntil(async () => (alertsFor(stack.slack!.requests).length ? true : undefined), { timeoutMs: 10_000, everyMs: 100, failure: () => 'no Slack alert about the failed run' });
    // The dbt Cloud event's record is final once its alert is out; then re-send its webhooks as dbt Cloud retries would.
    await pollUntil(async () => ((await audit.read(outcome.eventId))?.status === 'processed' ? true : undefined), { timeoutMs: 10_000, everyMs: 100, failure: () => 'the run event was not processed' });
    for (const delivery of deliveries) {
      const again = await postDbtCloud(stack.dbtCloudUrl, delivery.body, DEVELOPMENT_SECRETS.DBT_CLOUD_WEBHOOK_SECRET);
      assert.equal(again.status, 202);
    }
    await pollUntil(async () => (((await audit.read(outcome.eventId))?.deliveries ?? 0) >= 4 ? true : undefined), { timeoutMs: 15_000, everyMs: 100, failure: () => 'the re-sent webhooks were not delivered' });
    await sleep(1000); // a second alert would show up here

    const alerts = alertsFor(stack.slack!.requests);
    assert.equal(alerts.length, 1, 'exactly one alert');
    const text = (alerts[0]!.json as { text: string }).text;
    assert.match(text, new RegExp(`started by postload for Fivetran sync\\.succeeded of orders_pg \\(${CONNECTOR}\\), sync ${syncId}`));
    assert.ok(text.includes(ERROR), text);
    const record = await audit.read(id);
    assert.deepEqual((record?.actions[`dbt-job-${JOB}`] as { runOutcome?: RunOutcome }).runOutcome, outcome, 'the duplicates changed nothing');
    const connector = await audit.connector(`fivetran-${CONNECTOR}`, stack.collections.connectors);
    assert.equal((connector?.latestTransformation as { runId?: number } | undefined)?.runId, run.id);
    assert.equal(triggerRequests(dbt).filter((r) => r.body.includes(id)).length, 1, 'still one run');
  });
});
