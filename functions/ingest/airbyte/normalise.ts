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
 * text as well as possible. First match wins; the test message mentions "successes",
 * so it is checked before the sync results.
 */
const TEXT_RULES: ReadonlyArray<[RegExp, Classification]> = [
  [/\bthis is a test\b|\btest from airbyte\b/i, { type: 'test', vendorEvent: 'test', status: null }],
  [/\bbreaking\b[^.]*\bschema\b|\bschema\b[^.]*\bbreaking\b/i, { type: 'schema.changed', vendorEvent: 'breaking_schema_change', status: null }],
  [/\bschema\b[^.]*\bchange|\bchange[^.]*\bschema\b/i, { type: 'schema.changed', vendorEvent: 'schema_change', status: null }],
  [/\b(will be|about to be|may be|could be)\s+(automatically\s+)?disabled\b|\bwarning\b[^.]*\bdisabl/i, { type: 'connector.warning', vendorEvent: 'connection_disable_warning', status: null }],
  [/\bdisabled\b/i, { type: 'connector.disabled', vendorEvent: 'connection_disabled', status: null }],
  [/\bqueued\b/i, { type: 'sync.queued', vendorEvent: 'sync_queued', status: 'queued' }],
  [/\bfail(ed|ure)?\b/i, { type: 'sync.failed', vendorEvent: 'sync_failed', status: 'failed' }],
  [/\bsucce(eded|ss)\b/i, { type: 'sync.succeeded', vendorEvent: 'sync_succeeded', status: 'succeeded' }],
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
  for (const [pattern, classification] of TEXT_RULES) {
    if (pattern.test(payload.text)) return classification;
  }
  return { type: 'other', vendorEvent: 'notification', status: null };
}

const CONNECTION_URL = /\/workspaces\/([0-9a-f-]{36})\/connections\/([0-9a-f-]{36})/i;

export function normaliseAirbyte(payload: AirbyteWebhook, receivedAt: Date): SyncEvent {
  const { type, vendorEvent, status } = classify(payload);
  const data: SyncData | undefined = payload.data;
  const received = receivedAt.toISOString();
  // Data-less notifications still link to the connection; its id makes them routable.
  const linked = data ? undefined : CONNECTION_URL.exec(JSON.stringify(payload));
  const connectionId = data?.connection.id ?? linked?.[2] ?? null;
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
      name: data?.connection.name ?? null,
      type: data?.source?.name ?? null,
      url: data?.connection.url ?? null,
      sourceId: data?.source?.id ?? null,
      sourceName: data?.source?.name ?? null,
    },
    destination: entity(data?.destination),
    workspace: data?.workspace ? entity(data.workspace) : linked ? { id: linked[1] ?? null, name: null } : null,
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
