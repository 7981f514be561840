import { createHash } from 'node:crypto';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { decodeSyncEvent, encodeSyncEvent, attributesOf, type SyncEvent } from '../../functions/shared/sync-event.js';
import { SIGNATURE_ATTRIBUTE, signSyncEventData } from '../../functions/shared/sync-event-signature.js';

/** The SYNC_EVENT_SIGNING_KEY the tests give the functions (and sign test messages with). */
export const TEST_SIGNING_KEY = 'test-sync-event-signing-key-0123456789abcdef';

let counter = 0;

/** A fresh 32-hex event id, unique in this test run. */
export function newEventId(): string {
  return createHash('sha256').update(`fixture-${process.pid}-${Date.now()}-${counter++}`).digest('hex').slice(0, 32);
}

type Overrides = Partial<Omit<SyncEvent, 'connector' | 'destination' | 'sync'>> & {
  connector?: Partial<SyncEvent['connector']>;
  destination?: Partial<SyncEvent['destination']>;
  sync?: Partial<SyncEvent['sync']>;
};

/**
 * A SyncEvent valid against schemas/sync-event.v1.schema.json (checked on every call), by
 * default a successful Fivetran sync of connector assimilate_seem, received just now. Independent of the
 * ingest normaliser on purpose.
 */
export function syncEvent(overrides: Overrides = {}): SyncEvent {
  const { connector, destination, sync, ...rest } = overrides;
  const event: SyncEvent = {
    schemaVersion: '1',
    id: newEventId(),
    source: 'fivetran',
    type: 'sync.succeeded',
    vendorEvent: 'sync_end',
    occurredAt: '2026-05-22T00:06:08.638Z',
    // Received now: the processor acts on nothing received longer ago than AUDIT_RETENTION_DAYS (staleness.ts).
    receivedAt: new Date().toISOString(),
    connector: { id: 'assimilate_seem', name: 'ftar_pg', type: 'google_cloud_postgresql', ...connector },
    destination: { id: 'inappropriate_implode', name: null, ...destination },
    sync: {
      id: 'b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e',
      status: 'succeeded',
      vendorStatus: 'SUCCESSFUL',
      startedAt: null,
      finishedAt: '2026-05-22T00:06:08.638Z',
      ...sync,
    },
    metrics: null,
    error: null,
    payload: { event: 'sync_end', connector_id: 'assimilate_seem', data: { status: 'SUCCESSFUL' } },
    ...rest,
  };
  return decodeSyncEvent(encodeSyncEvent(event));
}

export function failedSync(overrides: Overrides = {}): SyncEvent {
  return syncEvent({
    type: 'sync.failed',
    sync: { status: 'failed', vendorStatus: 'FAILURE_WITH_TASK', ...overrides.sync },
    error: { message: 'Cannot connect to the database: password authentication failed', type: 'reconnect' },
    payload: { event: 'sync_end', data: { status: 'FAILURE_WITH_TASK', reason: 'Cannot connect' } },
    ...withoutSync(overrides),
  });
}

export function airbyteSucceeded(overrides: Overrides = {}): SyncEvent {
  return syncEvent({
    source: 'airbyte',
    vendorEvent: 'sync_succeeded',
    connector: { id: '9e1e8c2a-1d2b-4c3d-8e4f-5a6b7c8d9e0f', name: 'finance_postgres', type: 'Postgres', url: 'https://cloud.airbyte.com/workspaces/w/connections/9e1e8c2a' },
    destination: { id: '0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f', name: 'BigQuery' },
    sync: { id: '4242', status: 'succeeded', vendorStatus: 'success: true', startedAt: '2026-05-22T00:00:00Z', finishedAt: '2026-05-22T00:02:05Z', durationSeconds: 125 },
    metrics: { recordsEmitted: 1200, recordsCommitted: 1200, bytesEmitted: 2_621_440, bytesCommitted: 2_621_440 },
    payload: { data: { success: true, jobId: 4242 } },
    ...overrides,
  });
}

export function schemaChanged(overrides: Overrides = {}): SyncEvent {
  return syncEvent({
    source: 'airbyte',
    type: 'schema.changed',
    vendorEvent: 'schema_change',
    connector: { id: null, name: null, type: null },
    destination: { id: null, name: null },
    sync: { id: null, status: null, vendorStatus: null, startedAt: null, finishedAt: null },
    summary: 'The schema of connection finance_postgres has changed: 2 new columns in public.invoices',
    payload: { text: 'The schema of connection finance_postgres has changed' },
    ...overrides,
  });
}

function withoutSync(overrides: Overrides): Overrides {
  const { sync: _sync, ...rest } = overrides;
  return rest;
}

/** A SyncEvent as ingest publishes it: the data and its attributes, signature included (with TEST_SIGNING_KEY). */
export function signedMessage(event: SyncEvent, signingKey = TEST_SIGNING_KEY): { data: Buffer; attributes: Record<string, string> } {
  const data = encodeSyncEvent(event);
  return { data, attributes: { ...attributesOf(event), [SIGNATURE_ATTRIBUTE]: signSyncEventData(data, Buffer.from(signingKey)) } };
}

/**
 * The CloudEvent the Functions Framework hands a cloudEvent function for a Pub/Sub push,
 * signed as ingest signs (with TEST_SIGNING_KEY unless `signingKey` says otherwise; null:
 * unsigned).
 */
export function pubSubCloudEvent(
  event: SyncEvent | Buffer | string,
  messageId = `m-${newEventId().slice(0, 12)}`,
  { signingKey = TEST_SIGNING_KEY, attributes: extra = {} }: { signingKey?: string | null; attributes?: Record<string, string> } = {},
): CloudEvent<unknown> {
  const data = Buffer.isBuffer(event) ? event : typeof event === 'string' ? Buffer.from(event) : encodeSyncEvent(event);
  const attributes: Record<string, string> = Buffer.isBuffer(event) || typeof event === 'string' ? {} : attributesOf(event);
  if (signingKey !== null) attributes[SIGNATURE_ATTRIBUTE] = signSyncEventData(data, Buffer.from(signingKey));
  Object.assign(attributes, extra);
  return {
    specversion: '1.0',
    id: messageId,
    source: '//pubsub.googleapis.com/projects/postload-local/topics/sync-events',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    datacontenttype: 'application/json',
    time: new Date().toISOString(),
    data: { message: { data: data.toString('base64'), attributes, messageId }, subscription: 'projects/postload-local/subscriptions/processor' },
  } as CloudEvent<unknown>;
}
