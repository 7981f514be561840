import { randomInt, randomUUID } from 'node:crypto';
import { CliError, EXIT } from './errors.js';
import * as templates from './payload-templates.js';
import type { Json } from './payload-templates.js';

export type Vendor = 'fivetran' | 'airbyte' | 'dbt-cloud';
export const VENDORS: readonly Vendor[] = ['fivetran', 'airbyte', 'dbt-cloud'];

/** The setting each vendor's secret is read from, as the ingest function reads it. */
export const SECRET_SETTINGS: Record<Vendor, string> = {
  fivetran: 'FIVETRAN_WEBHOOK_SECRET',
  airbyte: 'AIRBYTE_WEBHOOK_TOKEN',
  'dbt-cloud': 'DBT_CLOUD_WEBHOOK_SECRET',
};

export interface PayloadOptions {
  /** Fivetran `event`, Airbyte notification (`sync-succeeded`, `sync-failed`), dbt Cloud `eventType`. */
  event?: string;
  /** Fivetran `data.status`, Airbyte `succeeded|failed`, dbt Cloud `Success|Errored|Cancelled`. */
  status?: string;
  /** Fivetran connector id, Airbyte connection id, dbt Cloud job id. */
  connector?: string;
  now?: Date;
}

const clone = (value: Json): Json => structuredClone(value);

/** A payload as the vendor would send it, with fresh ids and times. */
export function buildPayload(vendor: Vendor, options: PayloadOptions = {}): Json {
  switch (vendor) {
    case 'fivetran':
      return fivetranPayload(options);
    case 'airbyte':
      return airbytePayload(options);
    case 'dbt-cloud':
      return dbtCloudPayload(options);
  }
}

const FIVETRAN_FAILURES = new Set(['FAILURE', 'FAILURE_WITH_TASK', 'FAILED']);

export function fivetranPayload({ event = 'sync_end', status, connector, now = new Date() }: PayloadOptions = {}): Json {
  if (event === 'test_event') return { ...clone(templates.fivetranTestEvent), created: now.toISOString() };
  if (status !== undefined && event !== 'sync_end') throw usage(`--status is only for Fivetran sync_end events, not ${event}`, 'leave out --status, or use --event sync_end');
  const vendorStatus = (status ?? 'SUCCESSFUL').toUpperCase();
  const template =
    event === 'sync_end' ? (FIVETRAN_FAILURES.has(vendorStatus) ? templates.fivetranSyncEndFailure : templates.fivetranSyncEndSuccessful) : templates.fivetranSyncStart;
  const payload = clone(template);
  payload.event = event;
  payload.created = now.toISOString();
  payload.sync_id = randomUUID();
  if (connector) payload.connector_id = connector;
  if (event === 'sync_end') payload.data = { ...(payload.data as Json), status: vendorStatus };
  else payload.data = {};
  return payload;
}

const AIRBYTE_EVENTS: Record<string, Json> = {
  'sync-succeeded': templates.airbyteSyncSucceeded,
  'sync-failed': templates.airbyteSyncFailed,
};

export function airbytePayload({ event, status, connector, now = new Date() }: PayloadOptions = {}): Json {
  const name = event ?? (status === undefined ? 'sync-succeeded' : `sync-${status.toLowerCase()}`);
  const template = AIRBYTE_EVENTS[name];
  if (!template) throw usage(`unknown Airbyte notification "${name}"`, `use --event ${Object.keys(AIRBYTE_EVENTS).join(' or ')} (or --status succeeded|failed)`);
  let text = JSON.stringify(template);
  const templateConnection = ((template.data as Json).connection as Json).id as string;
  // The connection id also appears in the text and URLs: replace it everywhere, as Airbyte would.
  if (connector) text = text.split(templateConnection).join(connector);
  const payload = JSON.parse(text) as Json;
  const data = payload.data as Json;
  const jobId = randomInt(100_000, 1_000_000_000);
  const started = new Date(now.getTime() - ((data.durationInSeconds as number) ?? 60) * 1000);
  payload.text = (payload.text as string).replace(/Job ID: \d+/, `Job ID: ${jobId}`);
  Object.assign(data, { jobId, startedAt: iso(started), finishedAt: iso(now) });
  return payload;
}

const DBT_STATUS: Record<string, number> = { Success: 10, Errored: 20, Cancelled: 30 };
const DBT_EVENTS = ['job.run.started', 'job.run.completed', 'job.run.errored'];

export function dbtCloudPayload({ event = 'job.run.completed', status, connector, now = new Date() }: PayloadOptions = {}): Json {
  if (!DBT_EVENTS.includes(event)) throw usage(`unknown dbt Cloud event "${event}"`, `use --event ${DBT_EVENTS.join(', ')}`);
  const runStatus = event === 'job.run.errored' ? 'Errored' : (status ?? 'Success');
  const code = DBT_STATUS[runStatus];
  if (code === undefined) throw usage(`unknown dbt Cloud run status "${runStatus}"`, `use --status ${Object.keys(DBT_STATUS).join(', ')}`);
  if (connector !== undefined && !/^\d+$/.test(connector)) throw usage(`dbt Cloud job ids are numbers, got "${connector}"`, 'pass the job id, e.g. --connector 101');
  const payload = clone(templates.dbtCloudRunCompleted);
  const data = { ...(payload.data as Json) };
  const runId = String(randomInt(70_000_000, 80_000_000));
  Object.assign(payload, {
    eventId: `wev_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    eventType: event,
    timestamp: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z'),
  });
  Object.assign(data, { runId, runStatus: event === 'job.run.started' ? 'Running' : runStatus, runStatusCode: event === 'job.run.started' ? 3 : code });
  if (connector) data.jobId = connector;
  data.runStartedAt = iso(new Date(now.getTime() - 120_000));
  delete data.runFinishedAt;
  if (event === 'job.run.completed') data.runFinishedAt = iso(now);
  if (event === 'job.run.errored') data.runErroredAt = iso(now);
  if (runStatus === 'Errored') data.runStatusMessage = 'Database Error in model orders';
  payload.data = data;
  return payload;
}

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function usage(message: string, fix: string): CliError {
  return new CliError(message, fix, EXIT.usage);
}
