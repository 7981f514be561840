import type { FivetranWebhook } from '../../generated/fivetran-webhook.schema.js';
import { SCHEMA_VERSION, type SyncEvent, type SyncEventType } from '../../shared/sync-event.js';
import { clip } from '../bounded-text.js';
import { eventId } from '../event-id.js';
import { readRun, type FivetranRun } from './transformation.js';

type Status = SyncEvent['sync']['status'];

const EVENT_TYPES = new Map<string, SyncEventType>(Object.entries({
  sync_start: 'sync.started',
  dbt_run_start: 'transformation.started',
  dbt_run_succeeded: 'transformation.succeeded',
  dbt_run_failed: 'transformation.failed',
  transformation_run_start: 'transformation.started',
  transformation_run_succeeded: 'transformation.succeeded',
  transformation_run_failed: 'transformation.failed',
  transformation_start: 'transformation.started',
  transformation_succeeded: 'transformation.succeeded',
  transformation_failed: 'transformation.failed',
  connection_successful: 'connection.succeeded',
  connection_failure: 'connection.failed',
  create_connector: 'connector.changed',
  pause_connector: 'connector.changed',
  resume_connector: 'connector.changed',
  edit_connector: 'connector.changed',
  delete_connector: 'connector.changed',
  force_update_connector: 'connector.changed',
  resync_connector: 'connector.changed',
  resync_table: 'connector.changed',
  test_event: 'test',
}));

const FAILURES = new Set(['FAILURE', 'FAILURE_WITH_TASK', 'FAILED']);

/**
 * `data.status` of a finished sync. Only SUCCESSFUL is a success; RESCHEDULED is neither
 * final nor a failure; CANCELED (a user stopped the sync) is not a failure either. A
 * status Fivetran adds later is neither a success nor a failure: type 'other', with the
 * value kept in vendorStatus, so no dbt job starts and no failure alert goes out on a guess.
 */
function syncOutcome(status: string | undefined): { type: SyncEventType; status: Status } {
  const value = status?.toUpperCase() ?? '';
  if (value === 'SUCCESSFUL') return { type: 'sync.succeeded', status: 'succeeded' };
  if (value === 'RESCHEDULED') return { type: 'sync.rescheduled', status: 'rescheduled' };
  if (value === 'CANCELED' || value === 'CANCELLED') return { type: 'sync.cancelled', status: 'cancelled' };
  if (FAILURES.has(value)) return { type: 'sync.failed', status: 'failed' };
  return { type: 'other', status: null };
}

function classify(payload: FivetranWebhook): { type: SyncEventType; status: Status } {
  // `status` is the deprecated name of sync_end and carries the same data.status.
  if (payload.event === 'sync_end' || payload.event === 'status') return syncOutcome(payload.data?.status);
  if (payload.event === 'sync_start') return { type: 'sync.started', status: 'running' };
  // A Map, not an object: an event named `__proto__` or `toString` must not find Object's.
  return { type: EVENT_TYPES.get(payload.event) ?? 'other', status: null };
}

const LABELS: Partial<Record<SyncEventType, string>> = {
  'sync.started': 'sync started',
  'sync.succeeded': 'sync succeeded',
  'sync.failed': 'sync failed',
  'sync.rescheduled': 'sync rescheduled',
  'sync.cancelled': 'sync cancelled',
  'transformation.started': 'transformation started',
  'transformation.succeeded': 'transformation succeeded',
  'transformation.failed': 'transformation failed',
};

const FAILED_TYPES = new Set<SyncEventType>(['sync.failed', 'transformation.failed', 'connection.failed']);

export function normaliseFivetran(payload: FivetranWebhook, receivedAt: Date): SyncEvent {
  const { type, status } = classify(payload);
  const connectorId = payload.connector_id ?? payload.connection_id ?? null;
  const connectorName = payload.connector_name ?? payload.connection_name ?? null;
  const data = payload.data ?? {};
  const run: FivetranRun | null = type.startsWith('transformation.') ? readRun(data) : null;
  const reason = typeof data.reason === 'string' ? clip(data.reason) : null;
  const failure = run ? (run.failure ?? reason) : reason;
  const label = LABELS[type] ?? payload.event;
  const subject = run
    ? `dbt job ${run.transformation.jobName ?? run.transformation.jobId ?? 'transformation'}`
    : (connectorName ?? connectorId ?? 'connector');
  const shown = run ? (type === 'transformation.failed' ? failure : null) : reason;
  return {
    schemaVersion: SCHEMA_VERSION,
    id: run
      ? eventId(['fivetran', payload.event, run.transformation.jobId, payload.created])
      : eventId(['fivetran', payload.event, connectorId, payload.sync_id, payload.created]),
    source: 'fivetran',
    type,
    vendorEvent: payload.event,
    occurredAt: payload.created,
    receivedAt: receivedAt.toISOString(),
    connector: { id: connectorId, name: connectorName, type: payload.connector_type ?? null },
    destination: { id: payload.destination_group_id ?? payload.group_id ?? null, name: null },
    sync: {
      id: payload.sync_id ?? null,
      status,
      vendorStatus: typeof data.status === 'string' ? data.status : null,
      startedAt: run ? run.startedAt : type === 'sync.started' ? payload.created : null,
      finishedAt: run ? (type === 'transformation.started' ? null : run.finishedAt) : finishedAt(status, payload.created),
      rescheduledAt: typeof data.rescheduledAt === 'string' ? data.rescheduledAt : null,
    },
    metrics: null,
    error: FAILED_TYPES.has(type)
      ? { message: failure, type: typeof data.taskType === 'string' ? data.taskType : null, origin: null }
      : null,
    ...(run ? { transformation: run.transformation } : {}),
    summary: `Fivetran ${subject}: ${label}${shown ? ` (${firstLine(shown)})` : ''}`,
    payload,
  };
}

function finishedAt(status: Status, created: string): string | null {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled' ? created : null;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
