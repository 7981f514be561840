import { randomInt, randomUUID } from 'node:crypto';
import { DEMO_FRESHNESS_ROUTE, DEMO_FRESHNESS_SETTINGS } from './demo-freshness.js';
import { DEMO_SLACK_APP_ROUTE } from './demo-slack-app.js';
import type { RunWebhooks } from './fake-dbt-cloud.js';

// The demo's story: what a data team's Fivetran and Airbyte send in an afternoon, and what
// postload must do about each, under a routing file written for the story. Sync ids and
// times are fresh on every run, so a run against long-lived emulators is not mistaken for
// a duplicate of an earlier one.

export const DEMO_CONNECTORS = {
  ordersPostgres: 'demo_orders_pg',
  crmSalesforce: 'demo_crm_salesforce',
  billingConnection: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
  // Issue 12: two upstreams of the finance mart join (one per vendor), and a chatty connector.
  financeSalesforce: 'demo_finance_salesforce',
  financeBilling: '8b9c0d1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e',
  eventsPostgres: 'demo_events_pg',
} as const;

export const DEMO_JOBS = { orders: 101, crm: 102, billing: 201, financeMart: 401, events: 301 } as const;

/** The join the demo completes across Fivetran and Airbyte. */
export const DEMO_JOIN = 'finance mart';
/** Successes of one connector sent back to back: coalesced into one waiting run. */
export const DEMO_BURST = 5;

/**
 * How the stand-in ends each job's runs in the demo (its run webhooks come back through
 * /dbt-cloud): billing's models break; the burst's job stays queued, so every later event
 * of the burst coalesces into its first run whatever the machine's speed.
 */
export const DEMO_RUN_WEBHOOKS: Pick<RunWebhooks, 'endFor' | 'errorMessage' | 'hold'> = {
  endFor: (run) => (run.jobId === DEMO_JOBS.billing ? 'error' : 'success'),
  hold: (run) => run.jobId === DEMO_JOBS.events,
  errorMessage: () => 'Database Error in model stg_invoices: column "discount_code" does not exist',
};

/** Successful syncs start their connector's dbt job; failures and schema changes go to Slack, and so do orders' successes. */
export const DEMO_ROUTING = {
  version: 1,
  slack: { notify: ['sync.failed', 'schema.changed', 'connection.failed', 'connector.disabled', 'transformation.failed'] },
  routes: [
    {
      name: 'orders',
      match: { source: 'fivetran', connectorId: DEMO_CONNECTORS.ordersPostgres },
      dbtJobs: [{ jobId: DEMO_JOBS.orders, steps_override: ['dbt build --select source:orders+'] }],
      slack: { notify: ['sync.failed', 'sync.succeeded', 'schema.changed'] },
    },
    { name: 'crm', match: { source: 'fivetran', connectorId: DEMO_CONNECTORS.crmSalesforce }, dbtJobs: [{ jobId: DEMO_JOBS.crm }] },
    { name: 'billing', match: { source: 'airbyte', connectorId: DEMO_CONNECTORS.billingConnection }, dbtJobs: [{ jobId: DEMO_JOBS.billing }] },
    { name: 'events', match: { source: 'fivetran', connectorId: DEMO_CONNECTORS.eventsPostgres }, dbtJobs: [{ jobId: DEMO_JOBS.events, onBusy: 'coalesce' }] },
    // Issue 27: the connector of the freshness story (demo-freshness.ts).
    DEMO_FRESHNESS_ROUTE,
    // Issue 31: the dbt job of the Slack app story (demo-slack-app.ts).
    DEMO_SLACK_APP_ROUTE,
  ],
  joins: [
    {
      name: DEMO_JOIN,
      upstreams: [
        { name: 'salesforce', match: { source: 'fivetran', connectorId: DEMO_CONNECTORS.financeSalesforce } },
        { name: 'billing', match: { source: 'airbyte', connectorId: DEMO_CONNECTORS.financeBilling } },
      ],
      within: 'PT6H',
      dbtJob: { jobId: DEMO_JOBS.financeMart, steps_override: ['dbt build --select marts.finance+'] },
    },
  ],
  freshness: DEMO_FRESHNESS_SETTINGS,
};

export interface DemoExpectation {
  /** HTTP status the ingest function must answer. */
  status: number;
  /** SyncEvent type, when accepted. */
  type?: string;
  /** dbt Cloud runs the event must start (over all its deliveries), and which jobs. */
  dbtJobs: number[];
  /** Slack messages about the event (over all its deliveries). */
  slackMessages: number;
  /** The audit record's final status, when accepted. */
  auditStatus?: 'processed' | 'failed';
  /**
   * One upstream of a join that the steps with the same `name` complete together: Pub/Sub
   * push keeps no order, so whichever is processed last fires it (starts `job` once, one
   * firing message); the other records `waiting`.
   */
  join?: { name: string; job: number };
  /**
   * One of a burst for `job`: together they start exactly `runs` runs (the stand-in holds
   * the job's runs queued, so every later event coalesces into the first), each event either
   * starting one or coalesced into one of them.
   */
  burst?: { job: number; runs: number };
  /**
   * The dbt Cloud loop: how the run this event started ends, as its audit record must show
   * once dbt Cloud's run webhooks came back (a failed or cancelled one is also alerted once in Slack).
   */
  runOutcome?: 'succeeded' | 'failed' | 'cancelled';
}

export interface DemoStep {
  label: string;
  source: 'fivetran' | 'airbyte';
  body: string;
  /** Sign with this secret instead of the right one (a forged request). */
  forgedSecret?: string;
  /** This step re-sends an earlier one (by index): same event id, nothing done twice. */
  duplicateOf?: number;
  expect: DemoExpectation;
}

const WORKSPACE = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const AIRBYTE = 'https://cloud.airbyte.com/workspaces';

export function demoScenario(now = new Date()): DemoStep[] {
  const at = (offsetSeconds: number) => new Date(now.getTime() + offsetSeconds * 1000).toISOString();
  const ordersSync = randomUUID();
  const tag = randomUUID().slice(0, 6);
  const fivetran = (event: string, connector: 'ordersPostgres' | 'crmSalesforce', syncId: string, created: string, data: object) =>
    JSON.stringify({
      event,
      created,
      connector_type: connector === 'ordersPostgres' ? 'google_cloud_postgresql' : 'salesforce',
      connector_id: DEMO_CONNECTORS[connector],
      connector_name: connector === 'ordersPostgres' ? 'orders_pg' : 'crm_salesforce',
      sync_id: syncId,
      destination_group_id: 'warehouse_bq',
      data,
    });
  const syncEnd = fivetran('sync_end', 'ordersPostgres', ordersSync, at(-60), { status: 'SUCCESSFUL' });
  const fivetranOf = (id: string, name: string, type: string) => (event: string, syncId: string, created: string) =>
    JSON.stringify({ event, created, connector_type: type, connector_id: id, connector_name: name, sync_id: syncId, destination_group_id: 'warehouse_bq', data: { status: 'SUCCESSFUL' } });
  const fivetranFinance = fivetranOf(DEMO_CONNECTORS.financeSalesforce, 'finance_salesforce', 'salesforce');
  const fivetranEvents = (syncId: string, created: string) => fivetranOf(DEMO_CONNECTORS.eventsPostgres, 'events_pg', 'google_cloud_postgresql')('sync_end', syncId, created);

  return [
    {
      label: 'Fivetran sync_start (orders)',
      source: 'fivetran',
      body: fivetran('sync_start', 'ordersPostgres', ordersSync, at(-300), {}),
      expect: { status: 202, type: 'sync.started', dbtJobs: [], slackMessages: 0, auditStatus: 'processed' },
    },
    {
      label: 'Fivetran sync_end SUCCESSFUL (orders)',
      source: 'fivetran',
      body: syncEnd,
      expect: { status: 202, type: 'sync.succeeded', dbtJobs: [DEMO_JOBS.orders], slackMessages: 1, auditStatus: 'processed', runOutcome: 'succeeded' },
    },
    {
      label: 'Fivetran sync_end FAILURE (crm)',
      source: 'fivetran',
      body: fivetran('sync_end', 'crmSalesforce', randomUUID(), at(-50), { status: 'FAILURE', reason: 'INVALID_SESSION_ID: Session expired or invalid' }),
      expect: { status: 202, type: 'sync.failed', dbtJobs: [], slackMessages: 1, auditStatus: 'processed' },
    },
    {
      label: 'Airbyte sync succeeded (billing)',
      source: 'airbyte',
      body: airbyteSync({ success: true, jobId: randomInt(100_000, 1_000_000_000), finishedAt: at(-40) }),
      expect: { status: 202, type: 'sync.succeeded', dbtJobs: [DEMO_JOBS.billing], slackMessages: 0, auditStatus: 'processed', runOutcome: 'failed' },
    },
    {
      label: 'Airbyte sync failed (billing)',
      source: 'airbyte',
      body: airbyteSync({ success: false, jobId: randomInt(100_000, 1_000_000_000), finishedAt: at(-30) }),
      expect: { status: 202, type: 'sync.failed', dbtJobs: [], slackMessages: 1, auditStatus: 'processed' },
    },
    {
      label: 'Airbyte schema change (billing)',
      source: 'airbyte',
      body: JSON.stringify({
        text:
          `Your source schema has changed for connection 'billing_pg_to_bq' and the following changes were automatically propagated:\n` +
          ` • public.invoices: added column discount_code_${tag}\n` +
          `Visit the connection page: ${AIRBYTE}/${WORKSPACE}/connections/${DEMO_CONNECTORS.billingConnection}\n`,
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Schema changes propagated' } }],
      }),
      expect: { status: 202, type: 'schema.changed', dbtJobs: [], slackMessages: 1, auditStatus: 'processed' },
    },
    {
      label: 'Fivetran re-sends the sync_end (duplicate)',
      source: 'fivetran',
      body: syncEnd,
      duplicateOf: 1,
      expect: { status: 202, type: 'sync.succeeded', dbtJobs: [], slackMessages: 0, auditStatus: 'processed' },
    },
    // Issue 12: a join across vendors, and a coalesced burst.
    {
      label: `Fivetran sync_end (finance salesforce): ${DEMO_JOIN} upstream`,
      source: 'fivetran',
      body: fivetranFinance('sync_end', randomUUID(), at(-20)),
      expect: { status: 202, type: 'sync.succeeded', dbtJobs: [], slackMessages: 0, auditStatus: 'processed', join: { name: DEMO_JOIN, job: DEMO_JOBS.financeMart } },
    },
    {
      label: `Airbyte sync succeeded (finance billing): ${DEMO_JOIN} upstream`,
      source: 'airbyte',
      body: airbyteSync({ success: true, jobId: randomInt(100_000, 1_000_000_000), finishedAt: at(-15), connection: DEMO_CONNECTORS.financeBilling, name: 'finance-billing' }),
      expect: { status: 202, type: 'sync.succeeded', dbtJobs: [], slackMessages: 0, auditStatus: 'processed', join: { name: DEMO_JOIN, job: DEMO_JOBS.financeMart } },
    },
    ...Array.from({ length: DEMO_BURST }, (_, i): DemoStep => ({
      label: `Fivetran sync_end (events) ${i + 1} of ${DEMO_BURST}: coalesced burst`,
      source: 'fivetran',
      body: fivetranEvents(randomUUID(), at(-14 + i)),
      expect: { status: 202, type: 'sync.succeeded', dbtJobs: [], slackMessages: 0, auditStatus: 'processed', burst: { job: DEMO_JOBS.events, runs: 1 } },
    })),
    {
      label: 'Forged Fivetran signature',
      source: 'fivetran',
      body: fivetran('sync_end', 'ordersPostgres', randomUUID(), at(-10), { status: 'SUCCESSFUL' }),
      forgedSecret: 'not-the-secret',
      expect: { status: 401, dbtJobs: [], slackMessages: 0 },
    },
  ];
}

function airbyteSync({
  success,
  jobId,
  finishedAt,
  connection: connectionId = DEMO_CONNECTORS.billingConnection,
  name = 'billing_pg_to_bq',
}: {
  success: boolean;
  jobId: number;
  finishedAt: string;
  connection?: string;
  name?: string;
}): string {
  const connection = `${AIRBYTE}/${WORKSPACE}/connections/${connectionId}`;
  const entity = (id: string, name: string, kind: string) => ({ id, name, url: `${AIRBYTE}/${WORKSPACE}/${kind}/${id}` });
  const startedAt = new Date(Date.parse(finishedAt) - 245_000).toISOString();
  const records = success ? 182_340 : 0;
  const bytes = success ? 48_234_112 : 0;
  return JSON.stringify({
    text: success
      ? `Your connection ${name} from Postgres to BigQuery succeeded\nThis was for null\n\nYou can access its logs here: ${connection}\n\nJob ID: ${jobId}`
      : `Your connection ${name} from Postgres to BigQuery just failed...\nThis happened with Could not connect to the source database\n\nYou can access its logs here: ${connection}\n\nJob ID: ${jobId}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Sync ${success ? 'completed' : 'failed'}: ${name}` } }],
    data: {
      workspace: { id: WORKSPACE, name: 'Analytics', url: `${AIRBYTE}/${WORKSPACE}` },
      connection: { id: connectionId, name, url: connection },
      source: entity('6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c', 'Postgres', 'source'),
      destination: entity('7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d', 'BigQuery', 'destination'),
      jobId,
      startedAt,
      finishedAt,
      bytesEmitted: bytes,
      bytesCommitted: bytes,
      recordsEmitted: records,
      recordsCommitted: records,
      success,
      ...(success ? {} : { errorMessage: 'Could not connect to the source database', errorType: 'config_error', errorOrigin: 'source' }),
      durationInSeconds: 245,
    },
  });
}
