import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT } from './errors.js';
import { notInVocabulary, oneOf } from './vocabulary.js';

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

// What `send` can send: every notification the vendor fixtures hold (test/fixtures/SOURCES.md
// says where each comes from), by the name the vendor gives it. Fixtures that are variants of
// these (edge cases, legacy shapes, the Test buttons) are listed in test/unit/cli/payloads.test.ts.

/** Fivetran `event` values and their fixture; sync_end (and its deprecated name `status`) by `data.status`. */
const FIVETRAN_EVENTS: Record<string, string> = {
  sync_start: 'sync_start',
  sync_end: 'sync_end-successful',
  status: 'status-deprecated',
  test_event: 'test_event',
  connection_failure: 'connection_failure',
  pause_connector: 'pause_connector',
  resync_table: 'resync_table',
  dbt_run_start: 'dbt_run_start',
  dbt_run_succeeded: 'dbt_run_succeeded',
  dbt_run_failed: 'dbt_run_failed',
  transformation_run_failed: 'transformation_run_failed',
  transformation_succeeded: 'transformation_succeeded',
};

/** Fivetran sync_end `data.status` values and their fixture (the statuses test/fixtures/SOURCES.md lists, fivetran.com/docs/logs). */
const FIVETRAN_STATUSES: Record<string, string> = {
  SUCCESSFUL: 'sync_end-successful',
  FAILURE: 'sync_end-failure',
  FAILURE_WITH_TASK: 'sync_end-failure_with_task',
  FAILED: 'sync_end-failed',
  RESCHEDULED: 'sync_end-rescheduled',
  CANCELED: 'sync_end-canceled',
};

/** The Fivetran events --event accepts, and the sync_end statuses --status accepts. */
export const FIVETRAN_EVENT_NAMES = Object.keys(FIVETRAN_EVENTS);
export const FIVETRAN_STATUS_NAMES = Object.keys(FIVETRAN_STATUSES);

export function fivetranPayload({ event = 'sync_end', status, connector, now = new Date() }: PayloadOptions = {}): Json {
  const name = oneOf('--event', event, 'a Fivetran event', FIVETRAN_EVENT_NAMES);
  const takesStatus = name === 'sync_end' || name === 'status';
  if (status !== undefined && !takesStatus) throw usage(`--status is only for Fivetran sync_end events, not ${name}`, 'leave out --status, or use --event sync_end');
  const vendorStatus = status === undefined ? undefined : oneOf('--status', status, 'a Fivetran sync_end status', FIVETRAN_STATUS_NAMES, { anyCase: true });
  const payload = fixturePayload('fivetran', name === 'sync_end' && vendorStatus ? FIVETRAN_STATUSES[vendorStatus]! : FIVETRAN_EVENTS[name]!);
  payload.created = now.toISOString();
  if ('sync_id' in payload) payload.sync_id = randomUUID();
  if (vendorStatus && name === 'status') payload.data = { ...(payload.data as Json), status: vendorStatus };
  if (connector !== undefined) {
    if (!('connector_id' in payload)) throw usage(`Fivetran ${name} events carry no connector`, 'leave out --connector');
    payload.connector_id = connector;
  }
  return payload;
}

/** Airbyte notifications (by the fixture's name, which is the notification's) that --event accepts. */
export const AIRBYTE_EVENT_NAMES = [
  'sync-succeeded',
  'sync-failed',
  'sync-queued',
  'connection-disable-warning',
  'connection-disabled',
  'schema-propagated',
  'schema-detected',
  'schema-detected-connection-disabled',
];

const AIRBYTE_STATUSES = ['succeeded', 'failed'];
const CONNECTION_IN_URL = /\/connections\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/;

export function airbytePayload({ event, status, connector, now = new Date() }: PayloadOptions = {}): Json {
  const fromStatus = status === undefined ? undefined : `sync-${oneOf('--status', status, 'an Airbyte sync status', AIRBYTE_STATUSES, { anyCase: true })}`;
  if (event !== undefined && fromStatus !== undefined && event !== fromStatus) throw usage(`--status ${status} contradicts --event ${event}`, 'give one of them');
  const name = event === undefined ? (fromStatus ?? 'sync-succeeded') : AIRBYTE_EVENT_NAMES.includes(event) ? event : undefined;
  if (name === undefined) throw notInVocabulary('--event', event!, 'an Airbyte notification', AIRBYTE_EVENT_NAMES);
  const template = fixturePayload('airbyte', name);
  let text = JSON.stringify(template);
  // The connection id also appears in the text and URLs: replace it everywhere, as Airbyte would.
  const templateConnection = ((template.data as Json | undefined)?.connection as Json | undefined)?.id ?? CONNECTION_IN_URL.exec(text)?.[1];
  if (connector && typeof templateConnection === 'string') text = text.split(templateConnection).join(connector);
  // Notifications without `data` carry no job id: Airbyte's own words tell one from another
  // (ingest dedupes them by text per day). A schema change's diff names a column of its own and
  // a disable notice its last job's duration, so each send is a new notification.
  if (name.startsWith('schema-')) text = text.split('discount_code').join(`discount_code_${randomUUID().slice(0, 6)}`);
  if (name.startsWith('connection-disable')) text = text.replace(/("\*Duration:\*"\},\{"type":"mrkdwn","text":")\d+ sec"/, `$1${randomInt(5, 3600)} sec"`);
  const payload = JSON.parse(text) as Json;
  const data = payload.data as Json | undefined;
  if (data) {
    const jobId = randomInt(100_000, 1_000_000_000);
    const started = new Date(now.getTime() - ((data.durationInSeconds as number) ?? 60) * 1000);
    text = JSON.stringify(payload).replace(/(Job ID:\*? )\d+/g, `$1${jobId}`);
    Object.assign(payload, JSON.parse(text) as Json);
    Object.assign(payload.data as Json, { jobId, startedAt: iso(started), finishedAt: iso(now) });
  }
  return payload;
}

// dbt Cloud's run statuses and codes (docs.getdbt.com/docs/deploy/webhooks, docs.getdbt.com/dbt-cloud/api-v2); "Canceled" is today's spelling, "Cancelled" the legacy one.
const DBT_COMPLETED: Record<string, string> = {
  Success: 'job.run.completed-success',
  Errored: 'job.run.completed-errored',
  Canceled: 'job.run.completed-canceled',
  Cancelled: 'job.run.completed-cancelled-legacy',
};
export const DBT_EVENT_NAMES = ['job.run.started', 'job.run.completed', 'job.run.errored'];
export const DBT_STATUS_NAMES = Object.keys(DBT_COMPLETED);

export function dbtCloudPayload({ event = 'job.run.completed', status, connector, now = new Date() }: PayloadOptions = {}): Json {
  const name = oneOf('--event', event, 'a dbt Cloud event', DBT_EVENT_NAMES);
  if (status !== undefined && name !== 'job.run.completed') throw usage(`--status is only for job.run.completed, not ${name}`, 'leave out --status, or use --event job.run.completed');
  const runStatus = oneOf('--status', status ?? 'Success', 'a dbt Cloud run status', DBT_STATUS_NAMES, { anyCase: true });
  if (connector !== undefined && !/^\d+$/.test(connector)) throw usage(`dbt Cloud job ids are numbers, got "${connector}"`, 'pass the job id, e.g. --connector 101');
  const payload = fixturePayload('dbt-cloud', name === 'job.run.completed' ? DBT_COMPLETED[runStatus]! : name);
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
  const end = Date.parse(String(data.runFinishedAt ?? data.runErroredAt ?? data.runCanceledAt ?? data.runStartedAt));
  for (const key of ['runStartedAt', 'runFinishedAt', 'runErroredAt', 'runCanceledAt']) {
    if (typeof data[key] === 'string' && !Number.isNaN(Date.parse(data[key] as string))) data[key] = iso(new Date(now.getTime() - (end - Date.parse(data[key] as string))));
  }
  return payload;
}

/** Every notification `send` can build, by --event and --status, with the fixture it starts from. */
export function sendable(): Array<{ vendor: Vendor; event: string; status?: string; fixture: string }> {
  return [
    ...FIVETRAN_EVENT_NAMES.filter((e) => e !== 'sync_end').map((event) => ({ vendor: 'fivetran' as const, event, fixture: FIVETRAN_EVENTS[event]! })),
    ...Object.entries(FIVETRAN_STATUSES).map(([status, fixture]) => ({ vendor: 'fivetran' as const, event: 'sync_end', status, fixture })),
    ...AIRBYTE_EVENT_NAMES.map((event) => ({ vendor: 'airbyte' as const, event, fixture: event })),
    ...DBT_EVENT_NAMES.filter((e) => e !== 'job.run.completed').map((event) => ({ vendor: 'dbt-cloud' as const, event, fixture: event })),
    ...Object.entries(DBT_COMPLETED).map(([status, fixture]) => ({ vendor: 'dbt-cloud' as const, event: 'job.run.completed', status, fixture })),
  ];
}

/** The --event names and --status values each vendor accepts (for help texts and checks). */
export const VOCABULARY: Record<Vendor, { events: readonly string[]; statuses: readonly string[] }> = {
  fivetran: { events: FIVETRAN_EVENT_NAMES, statuses: FIVETRAN_STATUS_NAMES },
  airbyte: { events: AIRBYTE_EVENT_NAMES, statuses: AIRBYTE_STATUSES },
  'dbt-cloud': { events: DBT_EVENT_NAMES, statuses: DBT_STATUS_NAMES },
};

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function usage(message: string, fix: string): CliError {
  return new CliError(message, fix, EXIT.usage);
}
