import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { awaitOutcome, PublishedLog, sendSteps, type ScenarioOutcome } from '../../functions/local/demo-run.js';
import { DEMO_CONNECTORS, DEMO_JOBS, DEMO_ROUTING, DEMO_RUN_WEBHOOKS, demoScenario } from '../../functions/local/demo-scenario.js';
import { fakeCloudRun, type FakeCloudRun } from '../../functions/local/fake-cloud-run.js';
import { fakeDbtCloud } from '../../functions/local/fake-dbt-cloud.js';
import { LOCAL_STAND_IN_TOKEN } from '../../functions/processor/clients/google-token.js';
import type { LocalStack } from '../../functions/local/stack.js';
import { postFivetran } from '../../functions/local/webhooks.js';
import { readProcessorConfig } from '../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../functions/processor/process-sync-event.js';
import { StatusReader, type ReadSettings } from '../../functions/read-model/status-reader.js';
import { startStatusServer, type StatusServer } from '../../functions/status/server.js';
import { startTestStack } from './local-stack.js';
import { emulatorFirestore, quietLogger } from './processor-harness.js';
import { pollUntil } from '../../functions/local/poll.js';
import { pubSubCloudEvent, syncEvent, TEST_SIGNING_KEY } from './sync-event-fixtures.js';

// The status page's end-to-end setting: the local stack with the demo's routing, the demo's
// afternoon sent through it, and what the demo does not show: a connector whose name and
// error are hostile, a quarantined payload, a join left waiting, and a dead letter (made by
// the real processor, delivered until its last attempt while dbt Cloud answers 503).

/** Text a vendor could send that must stay text: markup, an event handler, terminal escapes, a direction override, and length. */
export const HOSTILE = {
  connectorId: 'hostile_conn',
  name: `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">\u001b[31mred\u202Eevil`,
  reason: `<img src=x onerror="window.pwned=3"> ${'very-long-error-without-spaces-'.repeat(400)}`,
};

/**
 * What the sweep expects of two of the demo's connectors, so that its ticks (the test asks
 * for them) judge them without waiting long: orders late a second after its last success
 * and overdue only a week later; events overdue two seconds after its last success.
 */
export const FRESHNESS_RULES = {
  late: { connectorId: DEMO_CONNECTORS.ordersPostgres, name: 'orders_pg', freshness: { every: '1s', grace: '1w' } },
  overdue: { connectorId: DEMO_CONNECTORS.eventsPostgres, name: 'events_pg', freshness: { every: '1s', grace: '1s' } },
} as const;

/** A route that runs "dbt Core" as a Cloud Run job (issue 28), on the Cloud Run stand-in: its executions end when a test says. */
export const CLOUD_RUN = { job: 'projects/postload-local/locations/europe-west1/jobs/dbt-core', connectorId: 'dbt_core_pg', name: 'orders_core_pg' } as const;

function routing() {
  const rules = Object.values(FRESHNESS_RULES).map((r) => ({ match: { source: 'fivetran', connectorId: r.connectorId }, freshness: r.freshness }));
  const dbtCore = { name: 'dbt-core', match: { source: 'fivetran', connectorId: CLOUD_RUN.connectorId }, cloudRunJobs: [{ job: CLOUD_RUN.job, args: ['build', '--select', 'source:{{connector.name}}+'], onBusy: 'queue' }], slack: { notify: [] } };
  return { ...DEMO_ROUTING, routes: [...DEMO_ROUTING.routes, dbtCore], freshness: { ...DEMO_ROUTING.freshness, rules: [...rules, ...DEMO_ROUTING.freshness.rules] } };
}

export interface SeededStack {
  stack: LocalStack;
  db: Firestore;
  settings: ReadSettings;
  outcome: ScenarioOutcome;
  hostileEventId: string;
  quarantinedEventId: string;
  deadLetterEventId: string;
  /** The join upstream sent after the demo's join fired: the join waits for its other upstream. */
  waitingJoinEventId: string;
  /** The load whose route started a Cloud Run execution (still pending on the stand-in). */
  cloudRunEventId: string;
  cloudRun: FakeCloudRun;
  stop(): Promise<void>;
}

export async function seededStack(context: Mocha.Context): Promise<SeededStack> {
  const run = randomUUID().slice(0, 8);
  const settings: ReadSettings = { audit: `syncEvents-ui-${run}`, connectors: `connectors-ui-${run}`, joins: `joins-ui-${run}`, jobState: `dbtJobState-ui-${run}`, freshness: `freshness-ui-${run}`, followedRuns: `followedRuns-ui-${run}` };
  const cloudRun = fakeCloudRun({ jobs: [{ name: CLOUD_RUN.job }], token: LOCAL_STAND_IN_TOKEN });
  await cloudRun.start();
  const functionEnv = {
    AUDIT_COLLECTION: settings.audit,
    CONNECTORS_COLLECTION: settings.connectors,
    JOINS_COLLECTION: settings.joins,
    JOB_STATE_COLLECTION: settings.jobState,
    FRESHNESS_COLLECTION: settings.freshness,
    FOLLOWED_RUNS_COLLECTION: settings.followedRuns,
    SWEEP_COLLECTION: `sweep-ui-${run}`,
    CLOUD_RUN_API_BASE_URL: cloudRun.url,
  };
  const published = new PublishedLog();
  const stack = await startTestStack(context, { topicPrefix: 'ui', routing: routing(), functionEnv, onFunctionLine: published.onLine, dbtRunWebhooks: DEMO_RUN_WEBHOOKS }).catch(async (error: unknown) => {
    await cloudRun.stop();
    throw error;
  });
  const db = emulatorFirestore(stack.firestoreHost, stack.projectId);
  try {
    const sent = await sendSteps(stack, demoScenario());
    const outcome = await awaitOutcome(stack, sent, published, { timeoutMs: 90_000, auditCollection: settings.audit });
    const secret = stack.settings.fivetranSecret;
    const fivetran = async (body: object) => {
      const response = await postFivetran(stack.fivetranUrl, JSON.stringify(body), secret);
      if (response.status !== 202) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { id: string }).id;
    };
    const now = new Date().toISOString();
    const hostileEventId = await fivetran({
      event: 'sync_end', created: now, connector_type: 'postgres', connector_id: HOSTILE.connectorId, connector_name: HOSTILE.name,
      sync_id: randomUUID(), destination_group_id: 'warehouse_bq', data: { status: 'FAILURE', reason: HOSTILE.reason },
    });
    // A connector id of the wrong type: authenticated, not understood (as the pipeline suite's quarantine test sends).
    const quarantinedEventId = await fivetran({ event: 'sync_end', created: now, connector_type: 'postgres', connector_id: 42, destination_group_id: 'warehouse_bq', sync_id: randomUUID(), data: {} });
    const waitingJoinEventId = await fivetran({
      event: 'sync_end', created: now, connector_type: 'salesforce', connector_id: DEMO_CONNECTORS.financeSalesforce, connector_name: 'finance_salesforce',
      sync_id: randomUUID(), destination_group_id: 'warehouse_bq', data: { status: 'SUCCESSFUL' },
    });
    const cloudRunEventId = await fivetran({
      event: 'sync_end', created: now, connector_type: 'postgres', connector_id: CLOUD_RUN.connectorId, connector_name: CLOUD_RUN.name,
      sync_id: randomUUID(), destination_group_id: 'warehouse_bq', data: { status: 'SUCCESSFUL' },
    });
    const audit = db.collection(settings.audit);
    for (const id of [hostileEventId, quarantinedEventId, waitingJoinEventId, cloudRunEventId]) {
      await pollUntil(async () => (['processed', 'failed'].includes(String((await audit.doc(id).get()).get('status'))) ? true : undefined), { timeoutMs: 60_000, everyMs: 200, failure: () => `event ${id} was not processed within 60 s` });
    }
    // The demo waits for the runs its loads started; the join's run reports back on its own time.
    await pollUntil(async () => ((await audit.where('connectorId', '==', String(DEMO_JOBS.financeMart)).where('type', '==', 'transformation.succeeded').limit(1).get()).empty ? undefined : true), {
      timeoutMs: 60_000,
      everyMs: 200,
      failure: () => `the join's dbt run (job ${DEMO_JOBS.financeMart}) was not reported within 60 s`,
    });
    const deadLetterEventId = await deadLetter(stack, db, settings);
    if (cloudRun.executions.length !== 1) throw new Error(`the dbt-core route started ${cloudRun.executions.length} Cloud Run executions, not 1`);
    const stop = async () => {
      await db.terminate();
      await stack.stop();
      await cloudRun.stop();
    };
    return { stack, db, settings, outcome, hostileEventId, quarantinedEventId, deadLetterEventId, waitingJoinEventId, cloudRunEventId, cloudRun, stop };
  } catch (error) {
    await db.terminate();
    await stack.stop();
    await cloudRun.stop();
    throw error;
  }
}

/**
 * A dead letter as the processor leaves one: the same message delivered MAX_DELIVERY_ATTEMPTS
 * times while dbt Cloud answers 503; the last delivery sends the final alert and the record
 * stays retrying (Pub/Sub would now move the message to the dead-letter topic).
 */
async function deadLetter(stack: LocalStack, db: Firestore, settings: ReadSettings): Promise<string> {
  const dbt = fakeDbtCloud();
  await dbt.start();
  try {
    for (let i = 0; i < 10; i++) dbt.script({ status: 503, body: { status: { code: 503, is_success: false, user_message: 'Service Unavailable' } } });
    const processor = createSyncEventProcessor(
      readProcessorConfig({
        ROUTING_CONFIG: JSON.stringify({ routes: [{ name: 'warehouse', match: { source: 'fivetran', connectorId: 'dead_letter_pg' }, dbtJobs: [{ jobId: 909 }] }] }),
        SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY,
        DBT_CLOUD_BASE_URL: dbt.url,
        DBT_CLOUD_ACCOUNT_ID: '1',
        DBT_CLOUD_API_TOKEN: 'local-dbt-token-for-the-status-page-test',
        SLACK_WEBHOOK_URL: stack.slackWebhookUrl,
        SLACK_WEBHOOK_HOSTS: new URL(stack.slackWebhookUrl).origin,
        GOOGLE_CLOUD_PROJECT: stack.projectId,
        AUDIT_COLLECTION: settings.audit,
        CONNECTORS_COLLECTION: settings.connectors,
        JOINS_COLLECTION: settings.joins,
        JOB_STATE_COLLECTION: settings.jobState,
        MAX_DELIVERY_ATTEMPTS: '5',
        OUTBOUND_MAX_ATTEMPTS: '1',
        OUTBOUND_TIMEOUT_MS: '2000',
        OUTBOUND_BUDGET_MS: '3000',
      }),
      { firestore: db, logger: quietLogger() },
    );
    const event = syncEvent({ connector: { id: 'dead_letter_pg', name: 'warehouse_pg' }, occurredAt: new Date().toISOString(), receivedAt: new Date().toISOString() });
    const message = pubSubCloudEvent(event);
    for (let delivery = 1; delivery <= 5; delivery++) await processor(message).catch(() => undefined);
    return event.id;
  } finally {
    await dbt.stop();
  }
}

export async function statusServer(seeded: Pick<SeededStack, 'db' | 'settings'>, refreshSeconds = 0): Promise<{ server: StatusServer; reader: StatusReader }> {
  const reader = new StatusReader(seeded.db, seeded.settings);
  const server = await startStatusServer({ reader, port: 0, refreshSeconds });
  return { server, reader };
}
