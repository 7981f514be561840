import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AirbyteWebhook } from '../../../functions/generated/airbyte-webhook.schema.js';
import type { FivetranWebhook } from '../../../functions/generated/fivetran-webhook.schema.js';
import { normaliseAirbyte } from '../../../functions/ingest/airbyte/normalise.js';
import { normaliseFivetran } from '../../../functions/ingest/fivetran/normalise.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { fixture, fixtureNames } from '../../support/webhook-fixtures.js';

const RECEIVED = new Date('2026-05-22T12:34:56.789Z');
const LATER = new Date('2026-05-22T18:00:00.000Z');
const validSyncEvent = validator<SyncEvent>('sync-event.v1');
const fivetranSchema = validator('fivetran-webhook');
const airbyteSchema = validator('airbyte-webhook');

function assertValid(event: SyncEvent): void {
  assert.ok(validSyncEvent(event), JSON.stringify(validSyncEvent.errors));
}

type Expectation = Partial<{
  type: SyncEvent['type'];
  vendorEvent: string;
  status: SyncEvent['sync']['status'];
  vendorStatus: string | null;
  connectorId: string | null;
  connectorName: string | null;
  destinationId: string | null;
  syncId: string | null;
  error: SyncEvent['error'];
  occurredAt: string;
}>;

function check(event: SyncEvent, expected: Expectation): void {
  const actual: Expectation = {
    type: event.type,
    vendorEvent: event.vendorEvent,
    status: event.sync.status,
    vendorStatus: event.sync.vendorStatus,
    connectorId: event.connector.id,
    connectorName: event.connector.name,
    destinationId: event.destination.id,
    syncId: event.sync.id,
    error: event.error,
    occurredAt: event.occurredAt,
  };
  for (const key of Object.keys(expected) as Array<keyof Expectation>) {
    assert.deepEqual(actual[key], expected[key], `${key}`);
  }
}

describe('normalising Fivetran webhooks', () => {
  const table: Record<string, Expectation> = {
    'sync_end-successful': { type: 'sync.succeeded', status: 'succeeded', vendorStatus: 'SUCCESSFUL', connectorId: 'assimilate_seem', connectorName: 'ftar_pg', destinationId: 'inappropriate_implode', syncId: 'b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e', error: null, occurredAt: '2026-05-22T00:06:08.638Z' },
    'sync_end-failure': { type: 'sync.failed', status: 'failed', vendorStatus: 'FAILURE', error: { message: 'Invalid credentials for Salesforce', type: null, origin: null } },
    'sync_end-failure_with_task': { type: 'sync.failed', status: 'failed', vendorStatus: 'FAILURE_WITH_TASK', error: { message: 'Permission denied on schema public', type: 'reconnect', origin: null } },
    'sync_end-failed': { type: 'sync.failed', status: 'failed', vendorStatus: 'FAILED', error: { message: null, type: null, origin: null } },
    'sync_end-rescheduled': { type: 'sync.rescheduled', status: 'rescheduled', vendorStatus: 'RESCHEDULED', error: null },
    sync_start: { type: 'sync.started', status: 'running', syncId: 'b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e' },
    test_event: { type: 'test', vendorEvent: 'test_event', status: null, syncId: null, connectorId: '_connector_1', destinationId: '_destination_1' },
    'status-deprecated': { type: 'sync.succeeded', vendorEvent: 'status', status: 'succeeded', destinationId: 'inappropriate_implode' },
    dbt_run_failed: { type: 'transformation.failed', status: null, error: { message: 'Compilation Error in model orders', type: null, origin: null } },
    transformation_succeeded: { type: 'transformation.succeeded', status: null, error: null },
    connection_failure: { type: 'connection.failed', error: { message: 'Connection timed out', type: null, origin: null } },
    pause_connector: { type: 'connector.changed', vendorEvent: 'pause_connector', status: null },
    resync_table: { type: 'connector.changed', vendorEvent: 'resync_table' },
    'unknown-new-event': { type: 'other', vendorEvent: 'quota_warning', status: null },
    'sync_end-connection-fields': { type: 'sync.succeeded', connectorId: 'new_style_id', connectorName: 'snowflake_db' },
    'seed-example': { type: 'sync.succeeded', connectorId: 'abc123', destinationId: null, syncId: 'xyz789' },
  };

  it('has an expectation for every Fivetran fixture', () => {
    assert.deepEqual(Object.keys(table).sort(), fixtureNames('fivetran'));
  });

  for (const [name, expected] of Object.entries(table)) {
    it(`${name} → ${expected.type}`, () => {
      const payload = fixture<FivetranWebhook>('fivetran', name);
      assert.ok(fivetranSchema(payload), `fixture passes the inbound schema: ${JSON.stringify(fivetranSchema.errors)}`);
      const event = normaliseFivetran(payload, RECEIVED);
      assertValid(event);
      check(event, expected);
      assert.equal(event.source, 'fivetran');
      assert.equal(event.receivedAt, RECEIVED.toISOString());
      assert.deepEqual(event.payload, payload, 'the original payload travels verbatim');
    });
  }

  it('maps every other documented event type to its normalised type', () => {
    const types: Record<string, SyncEvent['type']> = {
      dbt_run_start: 'transformation.started', dbt_run_succeeded: 'transformation.succeeded',
      transformation_run_start: 'transformation.started', transformation_run_succeeded: 'transformation.succeeded', transformation_run_failed: 'transformation.failed',
      transformation_start: 'transformation.started', transformation_failed: 'transformation.failed',
      connection_successful: 'connection.succeeded', create_connector: 'connector.changed', resume_connector: 'connector.changed',
      edit_connector: 'connector.changed', delete_connector: 'connector.changed', force_update_connector: 'connector.changed', resync_connector: 'connector.changed',
    };
    for (const [event, type] of Object.entries(types)) {
      const normalised = normaliseFivetran({ event, created: '2026-05-22T00:00:00.000Z', connector_id: 'c1' }, RECEIVED);
      assert.equal(normalised.type, type, event);
      assertValid(normalised);
    }
  });

  it('maps event names that are also Object property names to other (found by the property test)', () => {
    for (const event of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      const normalised = normaliseFivetran({ event, created: '2026-05-22T00:00:00.000Z', connector_id: 'c1' }, RECEIVED);
      assert.equal(normalised.type, 'other', event);
      assertValid(normalised);
    }
  });

  it('treats a sync_end status Fivetran may add later as a failure, and a missing one as other', () => {
    const base = { event: 'sync_end', created: '2026-05-22T00:00:00.000Z', connector_id: 'c1' };
    assert.equal(normaliseFivetran({ ...base, data: { status: 'CANCELED' } }, RECEIVED).type, 'sync.failed');
    assert.equal(normaliseFivetran({ ...base, data: {} }, RECEIVED).type, 'other');
  });

  describe('event id', () => {
    const payload = fixture<FivetranWebhook>('fivetran', 'sync_end-successful');
    it('is the same when the vendor re-sends the occurrence, whenever it arrives', () => {
      assert.equal(normaliseFivetran(payload, RECEIVED).id, normaliseFivetran(structuredClone(payload), LATER).id);
    });
    it('differs for another sync, another event of the same sync, another connector or another time', () => {
      const id = normaliseFivetran(payload, RECEIVED).id;
      const variants: FivetranWebhook[] = [
        { ...payload, sync_id: '00000000-0000-4000-8000-000000000000' },
        { ...payload, event: 'sync_start' },
        { ...payload, connector_id: 'other_connector' },
        { ...payload, created: '2026-05-22T00:06:08.639Z' },
      ];
      for (const variant of variants) assert.notEqual(normaliseFivetran(variant, RECEIVED).id, id, JSON.stringify(variant));
    });
  });

  it('turns any payload the inbound schema accepts into a valid SyncEvent (property)', () => {
    const text = fc.string({ maxLength: 40 });
    const payloads = fc.record(
      {
        event: fc.oneof(fc.constantFrom('sync_end', 'sync_start', 'status', 'test_event', 'dbt_run_failed', 'resync_table'), fc.string({ minLength: 1, maxLength: 30 })),
        created: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
        connector_id: text, connector_name: text, connector_type: text, sync_id: text, group_id: text, destination_group_id: text,
        data: fc.record({ status: fc.oneof(fc.constantFrom('SUCCESSFUL', 'FAILURE', 'FAILURE_WITH_TASK', 'RESCHEDULED', 'FAILED'), text), reason: text, taskType: text, rescheduledAt: text }, { requiredKeys: [] }),
      },
      { requiredKeys: ['event', 'created', 'connector_id'] },
    );
    fc.assert(
      fc.property(payloads, (payload) => {
        fc.pre(fivetranSchema(payload));
        const event = normaliseFivetran(payload as FivetranWebhook, RECEIVED);
        assertValid(event);
        assert.match(event.id, /^[0-9a-f]{32}$/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('normalising Airbyte webhooks', () => {
  const CONNECTION = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  const table: Record<string, Expectation & { workspaceId?: string | null; metrics?: boolean }> = {
    'sync-succeeded': { type: 'sync.succeeded', vendorEvent: 'sync_succeeded', status: 'succeeded', connectorId: CONNECTION, connectorName: 'pg_to_bq', destinationId: '2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b', syncId: '9012', error: null, occurredAt: '2026-05-22T10:04:05Z', metrics: true },
    'sync-failed': { type: 'sync.failed', vendorEvent: 'sync_failed', status: 'failed', syncId: '9013', error: { message: 'Something went wrong in the connector. See the logs for more details.', type: 'config_error', origin: 'source' }, metrics: true },
    'sync-queued': { type: 'sync.queued', vendorEvent: 'sync_queued', status: 'queued', syncId: '9014', error: null },
    'connection-disabled': { type: 'connector.disabled', vendorEvent: 'connection_disabled', connectorId: CONNECTION, connectorName: null, workspaceId: '6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e', syncId: null, metrics: false },
    'connection-disable-warning': { type: 'connector.warning', vendorEvent: 'connection_disable_warning', connectorId: CONNECTION },
    'schema-changed': { type: 'schema.changed', vendorEvent: 'schema_change', connectorId: CONNECTION, connectorName: 'pg_to_bq' },
    'schema-breaking': { type: 'schema.changed', vendorEvent: 'breaking_schema_change', connectorId: CONNECTION },
    'test-text-only': { type: 'test', vendorEvent: 'test', connectorId: null, occurredAt: RECEIVED.toISOString() },
    'legacy-text-failure': { type: 'sync.failed', status: 'failed', connectorId: CONNECTION, error: { message: null, type: null, origin: null } },
    'legacy-text-success': { type: 'sync.succeeded', status: 'succeeded', connectorId: CONNECTION },
    'unknown-notification': { type: 'other', vendorEvent: 'notification', connectorId: null },
  };

  it('has an expectation for every Airbyte fixture', () => {
    assert.deepEqual(Object.keys(table).sort(), fixtureNames('airbyte'));
  });

  for (const [name, { workspaceId, metrics, ...expected }] of Object.entries(table)) {
    it(`${name} → ${expected.type}`, () => {
      const payload = fixture<AirbyteWebhook>('airbyte', name);
      assert.ok(airbyteSchema(payload), `fixture passes the inbound schema: ${JSON.stringify(airbyteSchema.errors)}`);
      const event = normaliseAirbyte(payload, RECEIVED);
      assertValid(event);
      check(event, expected);
      if (workspaceId !== undefined) assert.equal(event.workspace?.id ?? null, workspaceId);
      if (metrics !== undefined) assert.equal(event.metrics !== null, metrics);
      assert.deepEqual(event.payload, payload);
    });
  }

  it('carries volumes, duration and links from the data block', () => {
    const event = normaliseAirbyte(fixture<AirbyteWebhook>('airbyte', 'sync-succeeded'), RECEIVED);
    assert.deepEqual(event.metrics, { recordsEmitted: 250000, recordsCommitted: 250000, recordsFilteredOut: null, bytesEmitted: 104857600, bytesCommitted: 104857600, bytesFilteredOut: null });
    assert.equal(event.sync.durationSeconds, 245);
    assert.equal(event.sync.startedAt, '2026-05-22T10:00:00Z');
    assert.match(event.connector.url ?? '', /\/connections\/7a1b2c3d/);
    assert.equal(event.connector.sourceName, 'Postgres');
    assert.equal(event.workspace?.name, 'Analytics');
  });

  it('computes the duration when Airbyte does not send it', () => {
    const payload = fixture<AirbyteWebhook>('airbyte', 'sync-succeeded');
    delete payload.data!.durationInSeconds;
    assert.equal(normaliseAirbyte(payload, RECEIVED).sync.durationSeconds, 245);
  });

  describe('event id', () => {
    it('is stable for a re-sent sync notification', () => {
      const payload = fixture<AirbyteWebhook>('airbyte', 'sync-failed');
      assert.equal(normaliseAirbyte(payload, RECEIVED).id, normaliseAirbyte(structuredClone(payload), LATER).id);
    });
    it('differs between jobs and between queued and finished notices of one job', () => {
      const payload = fixture<AirbyteWebhook>('airbyte', 'sync-succeeded');
      const id = normaliseAirbyte(payload, RECEIVED).id;
      assert.notEqual(normaliseAirbyte({ ...payload, data: { ...payload.data!, jobId: 9999 } }, RECEIVED).id, id);
      assert.notEqual(normaliseAirbyte({ ...payload, text: 'queued', data: { ...payload.data!, success: undefined } }, RECEIVED).id, id);
    });
    it('for a data-less notice, is the same within a UTC day and new the next day', () => {
      const payload = fixture<AirbyteWebhook>('airbyte', 'connection-disabled');
      assert.equal(normaliseAirbyte(payload, RECEIVED).id, normaliseAirbyte(payload, LATER).id);
      assert.notEqual(normaliseAirbyte(payload, RECEIVED).id, normaliseAirbyte(payload, new Date('2026-05-23T00:00:01Z')).id);
    });
  });
});
