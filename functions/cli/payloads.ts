import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT } from './errors.js';

export type Json = Record<string, unknown>;

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

// The payloads start from the vendor fixtures the tests use (test/fixtures/<vendor>/, each
// shape's source in its SOURCES.md). The CLI runs from a clone (the deploy archive leaves it
// out), so it reads them from the package root at run time and nothing is written twice.
// From functions/cli/ and from dist/cli/ alike, the package root is two folders up.
const FIXTURES = new URL('../../test/fixtures/', import.meta.url);

/** A fresh copy of test/fixtures/<vendor>/<name>.json. */
export function fixturePayload(vendor: Vendor, name: string): Json {
  const file = new URL(`${vendor}/${name}.json`, FIXTURES);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (error) {
    throw new CliError(
      `the payload template ${fileURLToPath(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'run postload from a clone of the postload repository (npm ci && npm run build): `send` builds its payloads from test/fixtures/',
    );
  }
}

/**
 * What each vendor's own test sends, with fresh ids and times: events that start nothing.
 * - Fivetran: the `test_event` it POSTs when a webhook is created or tested
 *   (fivetran.com/docs/rest-api/troubleshooting/sync-id-field-required-error), published as
 *   type `test`.
 * - Airbyte: its Test button (since 1.3 a realistic success tagged
 *   `[THIS IS A TEST NOTIFICATION]`, with random UUIDs: airbyte-platform's
 *   NotificationsHandler), published as type `test`.
 * - dbt Cloud: its test delivery is "a correctly shaped" run event whose "values are
 *   hard-coded and not reflective of your project" (docs.getdbt.com/guides/zapier-new-cloud-job);
 *   its body is not documented, so this sends the sample completed run of dbt's webhook docs
 *   (job 123, "Daily Job (dbt build)"), with a fresh run id so that each test is a new event.
 *   It is published as a transformation.succeeded of job 123, which starts a dbt job only
 *   where a route's `on` lists it for that job.
 */
export function testPayload(vendor: Vendor, now: Date = new Date()): Json {
  switch (vendor) {
    case 'fivetran':
      return fivetranPayload({ event: 'test_event', now });
    case 'airbyte': {
      const template = JSON.stringify(fixturePayload('airbyte', 'test-sync-succeeded'));
      // Airbyte's Test button makes up every id; so does this, keeping each one consistent.
      const ids = new Map<string, string>();
      const payload = JSON.parse(template.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => ids.get(id) ?? (ids.set(id, randomUUID()), ids.get(id)!))) as Json;
      Object.assign(payload.data as Json, { startedAt: new Date(now.getTime() - 3_600_000).toISOString(), finishedAt: now.toISOString() });
      return payload;
    }
    case 'dbt-cloud': {
      const payload = fixturePayload('dbt-cloud', 'docs-2023-completed');
      const data = payload.data as Json;
      Object.assign(payload, { eventId: `wev_${randomUUID().replace(/-/g, '').slice(0, 24)}`, timestamp: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z') });
      Object.assign(data, { runId: String(randomInt(70_000_000, 80_000_000)), runStartedAt: iso(new Date(now.getTime() - 85_000)), runFinishedAt: iso(now) });
      return payload;
    }
  }
}

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
  if (event === 'test_event') return { ...fixturePayload('fivetran', 'test_event'), created: now.toISOString() };
  if (status !== undefined && event !== 'sync_end') throw usage(`--status is only for Fivetran sync_end events, not ${event}`, 'leave out --status, or use --event sync_end');
  const vendorStatus = (status ?? 'SUCCESSFUL').toUpperCase();
  const payload = fixturePayload('fivetran', event === 'sync_end' ? (FIVETRAN_FAILURES.has(vendorStatus) ? 'sync_end-failure' : 'sync_end-successful') : 'sync_start');
  payload.event = event;
  payload.created = now.toISOString();
  payload.sync_id = randomUUID();
  if (connector) payload.connector_id = connector;
  if (event === 'sync_end') payload.data = { ...(payload.data as Json), status: vendorStatus };
  else payload.data = {};
  return payload;
}

const AIRBYTE_EVENTS = ['sync-succeeded', 'sync-failed'];

export function airbytePayload({ event, status, connector, now = new Date() }: PayloadOptions = {}): Json {
  const name = event ?? (status === undefined ? 'sync-succeeded' : `sync-${status.toLowerCase()}`);
  if (!AIRBYTE_EVENTS.includes(name)) throw usage(`unknown Airbyte notification "${name}"`, `use --event ${AIRBYTE_EVENTS.join(' or ')} (or --status succeeded|failed)`);
  const template = fixturePayload('airbyte', name);
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

// dbt Cloud's run statuses and codes (docs.getdbt.com/docs/deploy/webhooks, docs.getdbt.com/dbt-cloud/api-v2); "Canceled" is today's spelling, "Cancelled" the legacy one.
const DBT_COMPLETED: Record<string, string> = { success: 'job.run.completed-success', errored: 'job.run.completed-errored', cancelled: 'job.run.completed-canceled', canceled: 'job.run.completed-canceled' };
const DBT_EVENTS = ['job.run.started', 'job.run.completed', 'job.run.errored'];

export function dbtCloudPayload({ event = 'job.run.completed', status, connector, now = new Date() }: PayloadOptions = {}): Json {
  if (!DBT_EVENTS.includes(event)) throw usage(`unknown dbt Cloud event "${event}"`, `use --event ${DBT_EVENTS.join(', ')}`);
  if (status !== undefined && event !== 'job.run.completed') throw usage(`--status is only for job.run.completed, not ${event}`, 'leave out --status, or use --event job.run.completed');
  const fixture = event === 'job.run.completed' ? DBT_COMPLETED[(status ?? 'Success').toLowerCase()] : event;
  if (fixture === undefined) throw usage(`unknown dbt Cloud run status "${status}"`, 'use --status Success, Errored or Cancelled');
  if (connector !== undefined && !/^\d+$/.test(connector)) throw usage(`dbt Cloud job ids are numbers, got "${connector}"`, 'pass the job id, e.g. --connector 101');
  const payload = fixturePayload('dbt-cloud', fixture);
  const data = payload.data as Json;
  Object.assign(payload, {
    eventId: `wev_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    // dbt Cloud writes nanoseconds.
    timestamp: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z'),
  });
  // A fresh run, not one postload started: a runReason naming an event would make the
  // processor take this run for that event's.
  Object.assign(data, { runId: String(randomInt(70_000_000, 80_000_000)), runReason: 'Kicked off from the postload CLI' });
  if (connector) data.jobId = connector;
  // The fixture's times, moved so the run finishes now.
  const end = Date.parse(String(data.runFinishedAt ?? data.runErroredAt ?? data.runStartedAt));
  for (const key of ['runStartedAt', 'runFinishedAt', 'runErroredAt']) {
    if (typeof data[key] === 'string' && !Number.isNaN(Date.parse(data[key] as string))) data[key] = iso(new Date(now.getTime() - (end - Date.parse(data[key] as string))));
  }
  return payload;
}

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function usage(message: string, fix: string): CliError {
  return new CliError(message, fix, EXIT.usage);
}
