import type { DbtCloudWebhook } from '../../generated/dbt-cloud-webhook.schema.js';
import { SCHEMA_VERSION, type SyncEvent, type SyncEventType } from '../../shared/sync-event.js';
import { eventId } from '../event-id.js';

type Outcome = 'started' | 'succeeded' | 'failed' | 'cancelled';

const OUTCOMES: Record<Outcome, { type: SyncEventType; status: SyncEvent['sync']['status']; label: string }> = {
  started: { type: 'transformation.started', status: 'running', label: 'started' },
  succeeded: { type: 'transformation.succeeded', status: 'succeeded', label: 'succeeded' },
  failed: { type: 'transformation.failed', status: 'failed', label: 'failed' },
  cancelled: { type: 'transformation.cancelled', status: 'cancelled', label: 'cancelled' },
};

// The Administrative API's run status codes, which webhooks repeat in runStatusCode.
const BY_CODE = new Map<number, Outcome>([
  [10, 'succeeded'],
  [20, 'failed'],
  [30, 'cancelled'],
]);
// runStatus as sent; dbt Labs' release notes say "Cancelled" became "Canceled".
const BY_TEXT = new Map<string, Outcome>([
  ['success', 'succeeded'],
  ['errored', 'failed'],
  ['error', 'failed'],
  ['cancelled', 'cancelled'],
  ['canceled', 'cancelled'],
]);

/** The finished run's status: runStatusCode first, then the runStatus text. */
function statusOutcome(data: NonNullable<DbtCloudWebhook['data']>): Outcome | undefined {
  return BY_CODE.get(data.runStatusCode ?? Number.NaN) ?? BY_TEXT.get((data.runStatus ?? '').trim().toLowerCase());
}

/**
 * What the event says happened to the run. `job.run.errored` fires as soon as a run
 * errors and `job.run.completed` for every finished run, so a failed run sends both and
 * both must name the same outcome: an errored event is a failure unless its status says
 * cancelled. An unknown status on a completed run is neither a success nor a failure (null).
 */
function outcomeOf(payload: DbtCloudWebhook): Outcome | null {
  const data = payload.data ?? {};
  switch (payload.eventType) {
    case 'job.run.started':
      return 'started';
    case 'job.run.errored':
      return statusOutcome(data) === 'cancelled' ? 'cancelled' : 'failed';
    case 'job.run.completed':
      return statusOutcome(data) ?? null;
    default:
      return null;
  }
}

export function normaliseDbtCloud(payload: DbtCloudWebhook, receivedAt: Date): SyncEvent {
  const data = payload.data ?? {};
  const outcome = outcomeOf(payload);
  const { type, status, label } = outcome ? OUTCOMES[outcome] : { type: 'other' as const, status: null, label: payload.eventType };
  const accountId = String(payload.accountId);
  const jobId = id(data.jobId);
  const runId = id(data.runId);
  const jobName = text(data.jobName, NAME_LIMIT);
  const startedAt = time(data.runStartedAt);
  const finishedAt = outcome === 'started' ? null : (time(data.runFinishedAt) ?? time(data.runErroredAt) ?? time(data.runCanceledAt));
  const received = receivedAt.toISOString();
  const message = outcome === 'failed' ? text(data.runStatusMessage, MESSAGE_LIMIT) : null;
  return {
    schemaVersion: SCHEMA_VERSION,
    // One run has one start and one end: the errored and completed events of a failed run
    // (and dbt Cloud's retries of either, each with its own eventId) share this id.
    id: outcome
      ? eventId(['dbt-cloud', accountId, runId, outcome])
      : eventId(['dbt-cloud', accountId, payload.eventType, runId, payload.eventId ?? time(payload.timestamp)]),
    source: 'dbt-cloud',
    type,
    vendorEvent: payload.eventType,
    occurredAt: finishedAt ?? startedAt ?? time(payload.timestamp) ?? received,
    receivedAt: received,
    connector: { id: jobId, name: jobName, type: 'dbt_cloud_job' },
    // A dbt Cloud environment is where the models are built: the transformation's destination.
    destination: { id: id(data.environmentId), name: text(data.environmentName, NAME_LIMIT) },
    sync: {
      id: runId,
      status,
      vendorStatus: text(data.runStatus, NAME_LIMIT),
      startedAt,
      finishedAt,
      durationSeconds: duration(startedAt, finishedAt),
    },
    metrics: null,
    error: outcome === 'failed' ? { message, type: null, origin: null } : null,
    transformation: {
      accountId,
      jobId,
      jobName,
      runId,
      projectId: id(data.projectId),
      projectName: text(data.projectName, NAME_LIMIT),
      environmentId: id(data.environmentId),
      environmentName: text(data.environmentName, NAME_LIMIT),
      cause: text(data.runReason, CAUSE_LIMIT),
    },
    summary: summary(jobName ?? (jobId ? `job ${jobId}` : 'job'), runId, label, message),
    payload,
  };
}

// Bounds on the text copied out of the payload (which is kept whole in `payload`): dbt
// Cloud limits a run's cause to 255 characters, names are short, an error can be long.
const NAME_LIMIT = 256;
const CAUSE_LIMIT = 1000;
const MESSAGE_LIMIT = 4000;
const SUMMARY_LIMIT = 500;

function summary(job: string, runId: string | null, label: string, message: string | null): string {
  const line = `dbt Cloud ${job}: run ${runId ?? '(unknown)'} ${label}${message ? ` (${firstLine(message)})` : ''}`;
  return wellFormedPrefix(line, SUMMARY_LIMIT);
}

function firstLine(value: string): string {
  const end = value.indexOf('\n');
  return end === -1 ? value : value.slice(0, end);
}

/** Ids are strings of digits by the schema; dbt Cloud sends "" or "None" when it has none. */
function id(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' || value === 'None' ? null : value;
}

/** Times are RFC 3339 by the schema, or one of its "none" markers. */
function time(value: string | null | undefined): string | null {
  return id(value);
}

/**
 * A bounded prefix of vendor text, or null for dbt Cloud's "no value" ("" or the text
 * "None" that a Python None becomes). Cut first, then every step is linear in the bound.
 */
function text(value: string | null | undefined, limit: number): string | null {
  if (value === undefined || value === null) return null;
  const cut = wellFormedPrefix(value, limit).trim();
  return cut === '' || cut === 'None' ? null : cut;
}

/**
 * At most `limit` UTF-16 units, never ending inside a surrogate pair, lone surrogates
 * replaced (one is not valid UTF-8, and Pub/Sub refuses an attribute holding one).
 */
function wellFormedPrefix(value: string, limit: number): string {
  let cut = value.length <= limit ? value : value.slice(0, limit);
  if (cut.length < value.length && /[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return cut.toWellFormed();
}

function duration(startedAt: string | null, finishedAt: string | null): number | null {
  if (!startedAt || !finishedAt) return null;
  const seconds = (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}
