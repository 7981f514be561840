import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FivetranWebhook } from '../../../functions/generated/fivetran-webhook.schema.js';
import { ERROR_MESSAGE_LIMIT } from '../../../functions/ingest/bounded-text.js';
import { normaliseFivetran } from '../../../functions/ingest/fivetran/normalise.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { checkEvent, type Expectation } from '../../support/normalise-expectations.js';
import { fixture, fixtureNames } from '../../support/webhook-fixtures.js';

const RECEIVED = new Date('2026-05-22T12:34:56.789Z');
const LATER = new Date('2026-05-22T18:00:00.000Z');
const validSyncEvent = validator<SyncEvent>('sync-event.v1');
const fivetranSchema = validator('fivetran-webhook');

function assertValid(event: SyncEvent): void {
  assert.ok(validSyncEvent(event), JSON.stringify(validSyncEvent.errors));
}

const none = { message: null, type: null, origin: null };

// One row per fixture (test/fixtures/fivetran, origins in test/fixtures/SOURCES.md).
const table: Record<string, Expectation> = {
  'sync_end-successful': { type: 'sync.succeeded', status: 'succeeded', vendorStatus: 'SUCCESSFUL', connectorId: 'assimilate_seem', connectorName: 'ftar_pg', destinationId: 'inappropriate_implode', syncId: 'b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e', finishedAt: '2026-05-22T00:06:08.638Z', error: null, metrics: false, occurredAt: '2026-05-22T00:06:08.638Z', transformation: undefined },
  'sync_end-failure': { type: 'sync.failed', status: 'failed', vendorStatus: 'FAILURE', connectorId: 'warm_glow', error: { message: 'Invalid credentials for Salesforce', type: null, origin: null }, summary: /sync failed \(Invalid credentials/ },
  'sync_end-failure_with_task': { type: 'sync.failed', status: 'failed', vendorStatus: 'FAILURE_WITH_TASK', error: { message: 'Permission denied on schema public', type: 'reconnect', origin: null } },
  'sync_end-failed': { type: 'sync.failed', status: 'failed', vendorStatus: 'FAILED', error: none },
  'sync_end-rescheduled': { type: 'sync.rescheduled', status: 'rescheduled', vendorStatus: 'RESCHEDULED', finishedAt: null, error: null },
  'sync_end-canceled': { type: 'sync.cancelled', status: 'cancelled', vendorStatus: 'CANCELED', finishedAt: '2026-05-22T01:40:00.000Z', error: null },
  'sync_end-unknown-status': { type: 'other', vendorEvent: 'sync_end', status: null, vendorStatus: 'PARTIALLY_SUCCESSFUL', finishedAt: null, error: null },
  'sync_end-connection-fields': { type: 'sync.succeeded', connectorId: 'new_style_id', connectorName: 'snowflake_db' },
  sync_start: { type: 'sync.started', status: 'running', syncId: 'b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e', startedAt: '2026-05-22T00:00:01.120Z', finishedAt: null },
  'status-deprecated': { type: 'sync.succeeded', vendorEvent: 'status', status: 'succeeded', destinationId: 'inappropriate_implode' },
  test_event: { type: 'test', vendorEvent: 'test_event', status: null, syncId: null, connectorId: '_connector_1', destinationId: '_destination_1' },
  dbt_run_succeeded: {
    type: 'transformation.succeeded', vendorEvent: 'dbt_run_succeeded', status: null, connectorId: null, connectorName: null, destinationId: 'inappropriate_implode', syncId: null,
    startedAt: '2022-09-10T07:14:17.900Z', finishedAt: '2022-09-10T07:14:41.614Z', error: null, metrics: false,
    transformation: { jobId: 'lyre_stolen', jobName: 'TEST_MODELS:sunshine_time_temperature', runId: null, cause: 'integrated_scheduler' },
    summary: /^Fivetran dbt job TEST_MODELS:sunshine_time_temperature: transformation succeeded$/,
  },
  dbt_run_start: {
    type: 'transformation.started', connectorId: null, startedAt: '2026-05-22T05:01:58.114Z', finishedAt: null, error: null,
    transformation: { jobId: 'shimmer_quarry', jobName: 'daily_marts', runId: null, cause: 'scheduled' },
  },
  dbt_run_failed: {
    type: 'transformation.failed', status: null, connectorId: null, startedAt: '2026-05-22T05:01:58.114Z', finishedAt: '2026-05-22T05:02:40.977Z',
    error: {
      message: 'dbt run: Completed with 1 error and 0 warnings:\n\nDatabase Error in model orders (models/marts/orders.sql)\ncolumn "discount_code" does not exist\n\nDone. PASS=41 WARN=0 ERROR=1 SKIP=0 TOTAL=42',
      type: null, origin: null,
    },
    transformation: { jobId: 'shimmer_quarry', jobName: 'daily_marts', runId: null, cause: 'scheduled' },
    summary: /^Fivetran dbt job daily_marts: transformation failed \(dbt run: Completed with 1 error/,
  },
  transformation_run_failed: {
    type: 'transformation.failed', vendorEvent: 'transformation_run_failed', connectorId: null,
    error: { message: "dbt build: Compilation Error in model sessions (models/sessions.sql)\n  'sessionize' is undefined", type: null, origin: null },
    transformation: { jobId: 'brisk_lantern', jobName: 'hourly_sessions', runId: null, cause: null },
  },
  transformation_succeeded: { type: 'transformation.succeeded', status: null, connectorId: null, error: null, startedAt: null, finishedAt: null, transformation: { jobId: null, jobName: null, runId: null, cause: null } },
  connection_failure: { type: 'connection.failed', error: { message: 'Connection timed out', type: null, origin: null } },
  pause_connector: { type: 'connector.changed', vendorEvent: 'pause_connector', status: null },
  resync_table: { type: 'connector.changed', vendorEvent: 'resync_table' },
  'unknown-new-event': { type: 'other', vendorEvent: 'quota_warning', status: null },
  'seed-example': { type: 'sync.succeeded', connectorId: 'abc123', destinationId: null, syncId: 'xyz789' },
};

describe('normalising Fivetran webhooks', () => {
  it('has an expectation for every Fivetran fixture', () => {
    assert.deepEqual(Object.keys(table).sort(), fixtureNames('fivetran'));
  });

  for (const [name, expected] of Object.entries(table)) {
    it(`${name} → ${expected.type}`, () => {
      const payload = fixture<FivetranWebhook>('fivetran', name);
      assert.ok(fivetranSchema(payload), `fixture passes the inbound schema: ${JSON.stringify(fivetranSchema.errors)}`);
      const event = normaliseFivetran(payload, RECEIVED);
      assertValid(event);
      checkEvent(event, expected);
      assert.equal(event.source, 'fivetran');
      assert.equal(event.receivedAt, RECEIVED.toISOString());
      assert.deepEqual(event.payload, payload, 'the original payload travels verbatim');
    });
  }

  it('accepts dbt and transformation events without connector fields (they used to get 422)', () => {
    for (const name of ['dbt_run_start', 'dbt_run_succeeded', 'dbt_run_failed', 'transformation_succeeded']) {
      const payload = fixture<FivetranWebhook>('fivetran', name);
      assert.equal(payload.connector_id ?? payload.connection_id, undefined, name);
      assert.ok(fivetranSchema(payload), name);
    }
  });

  it('still requires event and created', () => {
    assert.equal(fivetranSchema({ created: '2026-05-22T00:00:00.000Z' }), false);
    assert.equal(fivetranSchema({ event: 'sync_end' }), false);
  });

  it('maps every documented event type to its normalised type', () => {
    const types: Record<string, SyncEvent['type']> = {
      dbt_run_start: 'transformation.started', dbt_run_succeeded: 'transformation.succeeded', dbt_run_failed: 'transformation.failed',
      transformation_run_start: 'transformation.started', transformation_run_succeeded: 'transformation.succeeded', transformation_run_failed: 'transformation.failed',
      transformation_start: 'transformation.started', transformation_succeeded: 'transformation.succeeded', transformation_failed: 'transformation.failed',
      connection_successful: 'connection.succeeded', connection_failure: 'connection.failed', create_connector: 'connector.changed', pause_connector: 'connector.changed',
      resume_connector: 'connector.changed', edit_connector: 'connector.changed', delete_connector: 'connector.changed', force_update_connector: 'connector.changed',
      resync_connector: 'connector.changed', resync_table: 'connector.changed', test_event: 'test', sync_start: 'sync.started',
    };
    for (const [event, type] of Object.entries(types)) {
      const normalised = normaliseFivetran({ event, created: '2026-05-22T00:00:00.000Z' }, RECEIVED);
      assert.equal(normalised.type, type, event);
      assertValid(normalised);
    }
  });

  it('maps event names that are also Object property names to other', () => {
    for (const event of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      const normalised = normaliseFivetran({ event, created: '2026-05-22T00:00:00.000Z', connector_id: 'c1' }, RECEIVED);
      assert.equal(normalised.type, 'other', event);
      assertValid(normalised);
    }
  });

  it('treats only the documented sync_end statuses as outcomes, case-insensitively', () => {
    const base = { event: 'sync_end', created: '2026-05-22T00:00:00.000Z', connector_id: 'c1' };
    const outcomes: Array<[string | undefined, SyncEvent['type']]> = [
      ['successful', 'sync.succeeded'], ['FAILURE', 'sync.failed'], ['failure_with_task', 'sync.failed'], ['FAILED', 'sync.failed'],
      ['CANCELED', 'sync.cancelled'], ['CANCELLED', 'sync.cancelled'], ['RESCHEDULED', 'sync.rescheduled'],
      ['PAUSED', 'other'], ['', 'other'], [undefined, 'other'],
    ];
    for (const [status, type] of outcomes) {
      const event = normaliseFivetran({ ...base, data: status === undefined ? {} : { status } }, RECEIVED);
      assert.equal(event.type, type, String(status));
      assert.equal(event.error, type === 'sync.failed' ? event.error : null, 'only failures carry an error');
    }
  });

  it('bounds a failed step output and keeps its end, where dbt prints the errors', () => {
    const output = `${'x'.repeat(50_000)}\nCompleted with 1 error and 0 warnings:\nDatabase Error in model huge`;
    const payload: FivetranWebhook = {
      event: 'dbt_run_failed', created: '2026-05-22T00:00:00.000Z',
      data: { dbtJobId: 'j', result: { stepResults: [{ step: { name: 'dbt run' }, success: false, commandResult: { exitCode: 1, output, error: '' } }] } },
    };
    const event = normaliseFivetran(payload, RECEIVED);
    assert.ok((event.error?.message ?? '').length <= ERROR_MESSAGE_LIMIT);
    assert.match(event.error?.message ?? '', /Database Error in model huge$/);
    const noMarker = normaliseFivetran({ ...payload, data: { result: { stepResults: [{ success: false, commandResult: { output: `${'y'.repeat(50_000)}END` } }] } } }, RECEIVED);
    assert.ok((noMarker.error?.message ?? '').length <= ERROR_MESSAGE_LIMIT);
    assert.match(noMarker.error?.message ?? '', /END$/);
  });

  it('ignores times that are not RFC 3339 date-times rather than publishing an invalid event', () => {
    const event = normaliseFivetran({ event: 'dbt_run_succeeded', created: '2026-05-22T00:00:00.000Z', data: { startTime: 'yesterday', endTime: '2026-05-22 00:00:00' } }, RECEIVED);
    assertValid(event);
    assert.equal(event.sync.startedAt, null);
    assert.equal(event.sync.finishedAt, null);
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
    it('tells dbt runs of different jobs at the same instant apart, and keeps one run re-sent as one', () => {
      const run = fixture<FivetranWebhook>('fivetran', 'dbt_run_failed');
      const id = normaliseFivetran(run, RECEIVED).id;
      assert.equal(normaliseFivetran(structuredClone(run), LATER).id, id);
      assert.notEqual(normaliseFivetran({ ...run, data: { ...run.data, dbtJobId: 'another_job' } }, RECEIVED).id, id);
    });
  });

  it('turns any payload the inbound schema accepts into a valid SyncEvent (property)', () => {
    const text = fc.string({ maxLength: 40 });
    const json = fc.jsonValue({ maxDepth: 3 });
    const step = fc.record(
      {
        step: fc.oneof(fc.record({ name: text, command: text }, { requiredKeys: [] }), json),
        success: fc.oneof(fc.boolean(), json),
        startTime: text,
        commandResult: fc.oneof(fc.record({ exitCode: fc.oneof(fc.integer(), json), output: fc.oneof(text, json), error: fc.oneof(text, json) }, { requiredKeys: [] }), json),
      },
      { requiredKeys: [] },
    );
    const time = fc.oneof(
      fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      text,
    );
    const payloads = fc.record(
      {
        event: fc.oneof(fc.constantFrom('sync_end', 'sync_start', 'status', 'test_event', 'dbt_run_failed', 'dbt_run_succeeded', 'transformation_failed', 'resync_table'), fc.string({ minLength: 1, maxLength: 30 })),
        created: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
        connector_id: text, connector_name: text, connector_type: text, sync_id: text, group_id: text, destination_group_id: text,
        data: fc.record(
          {
            status: fc.oneof(fc.constantFrom('SUCCESSFUL', 'FAILURE', 'FAILURE_WITH_TASK', 'RESCHEDULED', 'FAILED', 'CANCELED'), text),
            reason: text, taskType: text, rescheduledAt: text,
            dbtJobId: fc.oneof(text, fc.integer()), dbtJobName: text, startTime: time, endTime: time,
            startupDetails: fc.oneof(fc.record({ type: text }), json),
            result: fc.oneof(fc.record({ description: text, stepResults: fc.oneof(fc.array(fc.oneof(step, json), { maxLength: 4 }), json) }, { requiredKeys: [] }), json),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['event', 'created'] },
    );
    fc.assert(
      fc.property(payloads, (payload) => {
        fc.pre(fivetranSchema(payload));
        const event = normaliseFivetran(payload as FivetranWebhook, RECEIVED);
        assertValid(event);
        assert.match(event.id, /^[0-9a-f]{32}$/);
        if (event.error?.message) assert.ok(event.error.message.length <= ERROR_MESSAGE_LIMIT);
      }),
      { numRuns: 400, seed: 20261129 },
    );
  });
});
