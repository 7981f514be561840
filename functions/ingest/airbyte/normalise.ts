import type { AirbyteWebhook, Entity, SyncData } from '../../generated/airbyte-webhook.schema.js';
import { SCHEMA_VERSION, type SyncEvent, type SyncEventType } from '../../shared/sync-event.js';
import { eventId } from '../event-id.js';

type Status = SyncEvent['sync']['status'];

interface Classification {
  type: SyncEventType;
  vendorEvent: string;
  status: Status;
}

/**
 * Airbyte's data-less notifications (connection disabled, its warning, schema changes,
 * the Test button, text-only sync results before v0.59.0) are recognised from their
 * text, worded after Airbyte's notification templates. First match wins: the disable
 * notices mention failures, and the test message mentions "successes".
 */
const TEXT_RULES: ReadonlyArray<[(text: string) => boolean, Classification]> = [
  [(t) => /\bthis is a test\b|\btest from airbyte\b/i.test(t), { type: 'test', vendorEvent: 'test', status: null }],
  [
    (t) => /\bschema\b/i.test(t) && /\bbreaking\b|\bbroken syncs\b|\bdisabled this connection\b|\baction (is )?required\b/i.test(t),
    { type: 'schema.changed', vendorEvent: 'breaking_schema_change', status: null },
  ],
  [
    (t) => /\bschema (has )?(changed|change|update)|\bschema\b.*\bpropagated\b/i.test(t),
    { type: 'schema.changed', vendorEvent: 'schema_change', status: null },
  ],
  [
    (t) => /\b(scheduled to be|will be|about to be)\s+(automatically\s+)?disabled\b/i.test(t) && !/\bwas (automatically )?disabled\b/i.test(t),
    { type: 'connector.warning', vendorEvent: 'connection_disable_warning', status: null },
  ],
  [(t) => /\bdisabled\b/i.test(t), { type: 'connector.disabled', vendorEvent: 'connection_disabled', status: null }],
  [(t) => /\bqueued\b/i.test(t), { type: 'sync.queued', vendorEvent: 'sync_queued', status: 'queued' }],
  [(t) => /\bfail(ed|ure)?\b/i.test(t), { type: 'sync.failed', vendorEvent: 'sync_failed', status: 'failed' }],
  [(t) => /\bsucce(eded|ss)\b/i.test(t), { type: 'sync.succeeded', vendorEvent: 'sync_succeeded', status: 'succeeded' }],
];

function classify(payload: AirbyteWebhook): Classification {
  const data = payload.data;
  if (data) {
    if (/\bqueued\b/i.test(payload.text) || (data.success === undefined && !data.finishedAt)) {
      return { type: 'sync.queued', vendorEvent: 'sync_queued', status: 'queued' };
    }
    if (data.success === true) return { type: 'sync.succeeded', vendorEvent: 'sync_succeeded', status: 'succeeded' };
    if (data.success === false) return { type: 'sync.failed', vendorEvent: 'sync_failed', status: 'failed' };
  }
  for (const [matches, classification] of TEXT_RULES) {
    if (matches(payload.text)) return classification;
  }
  return { type: 'other', vendorEvent: 'notification', status: null };
}

const UUID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const CONNECTION_URL = new RegExp(`/workspaces/${UUID}/connections/${UUID}`, 'i');
const CONNECTION_ID = new RegExp(`connection id:?\\s*${UUID}`, 'i');
const WORKSPACE_ID = new RegExp(`workspace id:?\\s*${UUID}`, 'i');

// "Your source schema has changed for connection 'pg_to_bq' ..." (and the queued notice).
const CONNECTION_NAME = /\bconnection '([^'\n]{1,200})'/i;

/** The connection (and workspace) a data-less notification names in its links or text. */
function linkedIds(payload: AirbyteWebhook): { connectionId: string | null; connectionName: string | null; workspaceId: string | null } {
  const text = JSON.stringify(payload);
  const url = CONNECTION_URL.exec(text);
  return {
    connectionId: url?.[2] ?? CONNECTION_ID.exec(text)?.[1] ?? null,
    connectionName: CONNECTION_NAME.exec(payload.text)?.[1] ?? null,
    workspaceId: url?.[1] ?? WORKSPACE_ID.exec(text)?.[1] ?? null,
  };
}

export function normaliseAirbyte(payload: AirbyteWebhook, receivedAt: Date): SyncEvent {
  const { type, vendorEvent, status } = classify(payload);
  const data: SyncData | undefined = payload.data;
  const received = receivedAt.toISOString();
  // Data-less notifications still name the connection; its id makes them routable.
  const linked = data ? undefined : linkedIds(payload);
  const connectionId = data?.connection.id ?? linked?.connectionId ?? null;
  const startedAt = data?.startedAt ?? null;
  const finishedAt = data?.finishedAt ?? null;
  return {
    schemaVersion: SCHEMA_VERSION,
    id: data
      ? eventId(['airbyte', vendorEvent, connectionId, data.jobId, status === 'queued' ? null : finishedAt])
      : // No id or time in the payload: the same text on the same UTC day is one occurrence.
        eventId(['airbyte', vendorEvent, payload.text, received.slice(0, 10)]),
    source: 'airbyte',
    type,
    vendorEvent,
    occurredAt: finishedAt ?? startedAt ?? received,
    receivedAt: received,
    connector: {
      id: connectionId,
      name: data?.connection.name ?? linked?.connectionName ?? null,
      type: data?.source?.name ?? null,
      url: data?.connection.url ?? null,
      sourceId: data?.source?.id ?? null,
      sourceName: data?.source?.name ?? null,
    },
    destination: entity(data?.destination),
    workspace: data?.workspace ? entity(data.workspace) : linked?.workspaceId ? { id: linked.workspaceId, name: null } : null,
    sync: {
      id: data?.jobId === undefined ? null : String(data.jobId),
      status,
      vendorStatus: data?.success === undefined ? null : `success: ${data.success}`,
      startedAt,
      finishedAt,
      durationSeconds: duration(data),
    },
    metrics: data ? metrics(data) : null,
    error:
      status === 'failed'
        ? { message: data?.errorMessage ?? null, type: data?.errorType ?? null, origin: data?.errorOrigin ?? null }
        : null,
    summary: payload.text.split('\n', 1)[0]!.slice(0, 500),
    payload,
  };
}

function entity(value: Entity | undefined): { id: string | null; name: string | null; url?: string | null } {
  return { id: value?.id ?? null, name: value?.name ?? null, url: value?.url ?? null };
}

function duration(data: SyncData | undefined): number | null {
  if (!data) return null;
  if (typeof data.durationInSeconds === 'number' && data.durationInSeconds >= 0) return data.durationInSeconds;
  if (!data.startedAt || !data.finishedAt) return null;
  const seconds = (Date.parse(data.finishedAt) - Date.parse(data.startedAt)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function metrics(data: SyncData): NonNullable<SyncEvent['metrics']> {
  return {
    recordsEmitted: data.recordsEmitted ?? null,
    recordsCommitted: data.recordsCommitted ?? null,
    recordsFilteredOut: data.recordsFilteredOut ?? null,
    bytesEmitted: data.bytesEmitted ?? null,
    bytesCommitted: data.bytesCommitted ?? null,
    bytesFilteredOut: data.bytesFilteredOut ?? null,
  };
}
