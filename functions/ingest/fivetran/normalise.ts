import type { FivetranWebhook } from '../../generated/fivetran-webhook.schema.js';
import { SCHEMA_VERSION, type SyncEvent, type SyncEventType } from '../../shared/sync-event.js';
import { eventId } from '../event-id.js';

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

/**
 * `data.status` of a finished sync. Only SUCCESSFUL is a success and RESCHEDULED is
 * neither final nor a failure; any other value (FAILURE, FAILURE_WITH_TASK, FAILED, or
 * one Fivetran adds later) is treated as a failure so that a human gets told.
 */
function syncOutcome(status: string | undefined): { type: SyncEventType; status: Status } {
  switch (status?.toUpperCase()) {
    case undefined:
    case '':
      return { type: 'other', status: null };
    case 'SUCCESSFUL':
      return { type: 'sync.succeeded', status: 'succeeded' };
    case 'RESCHEDULED':
      return { type: 'sync.rescheduled', status: 'rescheduled' };
    default:
      return { type: 'sync.failed', status: 'failed' };
  }
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
};

export function normaliseFivetran(payload: FivetranWebhook, receivedAt: Date): SyncEvent {
  const { type, status } = classify(payload);
  const connectorId = payload.connector_id ?? payload.connection_id ?? null;
  const connectorName = payload.connector_name ?? payload.connection_name ?? null;
  const data = payload.data ?? {};
  const failed = type === 'sync.failed' || type === 'transformation.failed' || type === 'connection.failed';
  const reason = typeof data.reason === 'string' ? data.reason : null;
  const label = LABELS[type] ?? payload.event;
  return {
    schemaVersion: SCHEMA_VERSION,
    id: eventId(['fivetran', payload.event, connectorId, payload.sync_id, payload.created]),
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
      startedAt: type === 'sync.started' ? payload.created : null,
      finishedAt: status === 'succeeded' || status === 'failed' ? payload.created : null,
      rescheduledAt: typeof data.rescheduledAt === 'string' ? data.rescheduledAt : null,
    },
    metrics: null,
    error: failed
      ? { message: reason, type: typeof data.taskType === 'string' ? data.taskType : null, origin: null }
      : null,
    summary: `Fivetran ${connectorName ?? connectorId ?? 'connector'}: ${label}${reason ? ` (${reason})` : ''}`,
    payload,
  };
}
