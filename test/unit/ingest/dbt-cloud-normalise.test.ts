import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DbtCloudWebhook } from '../../../functions/generated/dbt-cloud-webhook.schema.js';
import { normaliseDbtCloud } from '../../../functions/ingest/dbt-cloud/normalise.js';
import { validator } from '../../../functions/shared/schemas.js';
import { attributesOf, type SyncEvent } from '../../../functions/shared/sync-event.js';
import { fixture, fixtureNames } from '../../support/webhook-fixtures.js';

const RECEIVED = new Date('2026-11-20T10:42:14.000Z');
const validSyncEvent = validator<SyncEvent>('sync-event.v1');
const dbtSchema = validator<DbtCloudWebhook>('dbt-cloud-webhook');
const load = (name: string) => fixture<DbtCloudWebhook>('dbt-cloud', name);
// UTF-8 encoding replaces a lone surrogate, so only well-formed text survives the round trip.
const wellFormed = (value: string) => Buffer.from(value, 'utf8').toString('utf8') === value;

function normalised(payload: DbtCloudWebhook, receivedAt = RECEIVED): SyncEvent {
  assert.ok(dbtSchema(payload), JSON.stringify(dbtSchema.errors));
  const event = normaliseDbtCloud(payload, receivedAt);
  assert.ok(validSyncEvent(event), JSON.stringify(validSyncEvent.errors));
  return event;
}

interface Expectation {
  type: SyncEvent['type'];
  status: SyncEvent['sync']['status'];
  runId: string;
  jobId: string;
  startedAt: string | null;
  finishedAt: string | null;
  occurredAt: string;
  durationSeconds: number | null;
  error: SyncEvent['error'];
  projectId?: string | null;
  cause?: string | null;
}

const POSTLOAD_CAUSE = 'postload: Fivetran sync.succeeded for orders_pg [event 6e84f591dfdad48136bab0ac6e4c52b8]';
const ORDERS_FAILED = { message: 'Database Error in model orders', type: null, origin: null };

const table: Record<string, Expectation> = {
  'job.run.started': { type: 'transformation.started', status: 'running', runId: '70000123', jobId: '101', startedAt: '2026-11-20T10:40:01Z', finishedAt: null, occurredAt: '2026-11-20T10:40:01Z', durationSeconds: null, error: null, projectId: '3', cause: POSTLOAD_CAUSE },
  'job.run.errored': { type: 'transformation.failed', status: 'failed', runId: '70000123', jobId: '101', startedAt: '2026-11-20T10:40:01Z', finishedAt: '2026-11-20T10:42:09Z', occurredAt: '2026-11-20T10:42:09Z', durationSeconds: 128, error: ORDERS_FAILED, cause: POSTLOAD_CAUSE },
  'job.run.completed-errored': { type: 'transformation.failed', status: 'failed', runId: '70000123', jobId: '101', startedAt: '2026-11-20T10:40:01Z', finishedAt: '2026-11-20T10:42:10Z', occurredAt: '2026-11-20T10:42:10Z', durationSeconds: 129, error: ORDERS_FAILED, cause: POSTLOAD_CAUSE },
  'job.run.completed-success': { type: 'transformation.succeeded', status: 'succeeded', runId: '70000201', jobId: '101', startedAt: '2026-11-21T10:28:07Z', finishedAt: '2026-11-21T10:29:32Z', occurredAt: '2026-11-21T10:29:32Z', durationSeconds: 85, error: null, cause: 'Kicked off by the scheduler' },
  'job.run.completed-canceled': { type: 'transformation.cancelled', status: 'cancelled', runId: '70000305', jobId: '102', startedAt: '2026-11-22T08:10:00Z', finishedAt: '2026-11-22T08:14:58Z', occurredAt: '2026-11-22T08:14:58Z', durationSeconds: 298, error: null },
  'job.run.completed-cancelled-legacy': { type: 'transformation.cancelled', status: 'cancelled', runId: '60000044', jobId: '102', startedAt: null, finishedAt: '2025-03-02T08:14:58Z', occurredAt: '2025-03-02T08:14:58Z', durationSeconds: null, error: null },
  'docs-2023-started': { type: 'transformation.started', status: 'running', runId: '12345', jobId: '123', startedAt: '2023-01-31T19:28:07Z', finishedAt: null, occurredAt: '2023-01-31T19:28:07Z', durationSeconds: null, error: null, projectId: null },
  'docs-2023-completed': { type: 'transformation.succeeded', status: 'succeeded', runId: '12345', jobId: '123', startedAt: '2023-01-31T19:28:07Z', finishedAt: '2023-01-31T19:29:32Z', occurredAt: '2023-01-31T19:29:32Z', durationSeconds: 85, error: null, cause: null },
  'unknown-event-type': { type: 'other', status: null, runId: '70000400', jobId: '101', startedAt: null, finishedAt: null, occurredAt: '2026-11-23T09:00:00.000000001Z', durationSeconds: null, error: null },
};

describe('normalising dbt Cloud webhooks', () => {
  it('has an expectation for every fixture in test/fixtures/dbt-cloud', () => {
    assert.deepEqual(Object.keys(table).sort(), fixtureNames('dbt-cloud'));
  });

  for (const [name, expected] of Object.entries(table)) {
    it(`${name} → ${expected.type} (${String(expected.status)})`, () => {
      const payload = load(name);
      const event = normalised(payload);
      const actual: Expectation = {
        type: event.type,
        status: event.sync.status,
        runId: event.sync.id!,
        jobId: event.connector.id!,
        startedAt: event.sync.startedAt,
        finishedAt: event.sync.finishedAt,
        occurredAt: event.occurredAt,
        durationSeconds: event.sync.durationSeconds ?? null,
        error: event.error,
        ...(expected.projectId !== undefined ? { projectId: event.transformation?.projectId ?? null } : {}),
        ...(expected.cause !== undefined ? { cause: event.transformation?.cause ?? null } : {}),
      };
      assert.deepEqual(actual, expected);
      assert.equal(event.source, 'dbt-cloud');
      assert.equal(event.vendorEvent, payload.eventType);
      assert.equal(event.connector.type, 'dbt_cloud_job');
      assert.equal(event.connector.name, payload.data?.jobName);
      assert.equal(event.transformation?.runId, event.sync.id);
      assert.equal(event.transformation?.jobId, event.connector.id);
      assert.equal(event.transformation?.accountId, '1');
      assert.equal(event.destination.name, payload.data?.environmentName ?? null);
      assert.equal(event.receivedAt, RECEIVED.toISOString());
      assert.deepEqual(event.payload, payload);
    });
  }

  it('fills every field of a failed run postload started (the contract example)', () => {
    const event = normalised(load('job.run.completed-errored'));
    assert.deepEqual(event.transformation, {
      accountId: '1',
      jobId: '101',
      jobName: 'Nightly build',
      runId: '70000123',
      projectId: '3',
      projectName: 'Analytics',
      environmentId: '7',
      environmentName: 'Production',
      cause: POSTLOAD_CAUSE,
    });
    assert.deepEqual(event.destination, { id: '7', name: 'Production' });
    assert.equal(event.sync.vendorStatus, 'Errored');
    assert.equal(event.summary, 'dbt Cloud Nightly build: run 70000123 failed (Database Error in model orders)');
    assert.deepEqual(attributesOf(event), {
      eventId: event.id,
      schemaVersion: '1',
      source: 'dbt-cloud',
      type: 'transformation.failed',
      vendorEvent: 'job.run.completed',
      connectorId: '101',
      connectorName: 'Nightly build',
      destinationId: '7',
      status: 'failed',
      stale: '',
    });
  });

  describe('one occurrence, one id', () => {
    const idOf = (name: string, receivedAt = RECEIVED) => normalised(load(name), receivedAt).id;

    it('job.run.errored and job.run.completed (Errored) of the same run share an id', () => {
      assert.equal(idOf('job.run.errored'), idOf('job.run.completed-errored'));
    });

    it('a retry of either (another delivery, another eventId and timestamp) keeps it', () => {
      const retry = { ...load('job.run.errored'), eventId: 'wev_retry', timestamp: '2026-11-20T10:45:00.1Z' };
      assert.equal(normalised(retry, new Date('2026-11-20T11:00:00Z')).id, idOf('job.run.errored'));
    });

    it('an errored event whose status says cancelled pairs with the completed (Cancelled) event, not with a failure', () => {
      const errored = load('job.run.errored');
      const cancelledErrored = normalised({ ...errored, data: { ...errored.data, runStatusCode: 30, runStatus: 'Cancelled' } });
      const cancelledCompleted = normalised({ ...load('job.run.completed-errored'), data: { ...load('job.run.completed-errored').data, runStatusCode: 30, runStatus: 'Cancelled' } });
      assert.equal(cancelledErrored.type, 'transformation.cancelled');
      assert.equal(cancelledErrored.id, cancelledCompleted.id);
      assert.equal(cancelledErrored.error, null);
      // Whatever else an errored event says about its status, it is a failure.
      assert.equal(normalised({ ...errored, data: { ...errored.data, runStatusCode: 10, runStatus: 'Success' } }).type, 'transformation.failed');
    });

    it('the same run started, failed, succeeded or cancelled are four occurrences', () => {
      const base = load('job.run.completed-errored');
      const as = (runStatusCode: number, runStatus: string) => normalised({ ...base, data: { ...base.data, runStatusCode, runStatus } }).id;
      const ids = [idOf('job.run.started'), as(20, 'Errored'), as(10, 'Success'), as(30, 'Canceled')];
      assert.equal(new Set(ids).size, 4);
    });

    it('property: for any account and run, errored ≡ completed-with-error, and no two runs or accounts share an id', () => {
      const errored = load('job.run.errored');
      const completed = load('job.run.completed-errored');
      const digits = fc.stringMatching(/^[0-9]{1,12}$/);
      fc.assert(
        fc.property(fc.nat(), digits, fc.nat(), digits, (accountA, runA, accountB, runB) => {
          const with_ = (p: DbtCloudWebhook, accountId: number, runId: string) => normaliseDbtCloud({ ...p, accountId, data: { ...p.data, runId } }, RECEIVED).id;
          assert.equal(with_(errored, accountA, runA), with_(completed, accountA, runA));
          if (accountA !== accountB || runA !== runB) assert.notEqual(with_(errored, accountA, runA), with_(errored, accountB, runB));
        }),
        { seed: 1313, numRuns: 200 },
      );
    });
  });

  it('reads the status from runStatusCode first, then runStatus, and an unknown completed status is neither success nor failure', () => {
    const base = load('job.run.completed-success');
    const typeOf = (data: Partial<NonNullable<DbtCloudWebhook['data']>>) => normalised({ ...base, data: { ...base.data, ...data } }).type;
    assert.equal(typeOf({ runStatusCode: 20, runStatus: 'Success' }), 'transformation.failed');
    assert.equal(typeOf({ runStatusCode: null, runStatus: 'Errored' }), 'transformation.failed');
    assert.equal(typeOf({ runStatusCode: undefined, runStatus: 'Cancelled' }), 'transformation.cancelled');
    assert.equal(typeOf({ runStatusCode: 99, runStatus: 'Exploded' }), 'other');
  });

  it('treats "None" and "" as no value: no error message, no project', () => {
    const base = load('job.run.errored');
    const event = normalised({ ...base, data: { ...base.data, runStatusMessage: 'None', projectId: '', projectName: '' } });
    assert.deepEqual(event.error, { message: null, type: null, origin: null });
    assert.equal(event.transformation?.projectId, null);
    assert.equal(event.transformation?.projectName, null);
    assert.equal(event.summary, 'dbt Cloud Nightly build: run 70000123 failed');
  });

  it('property: any text dbt Cloud sends yields a valid SyncEvent with bounded, well-formed fields and attributes Pub/Sub accepts', () => {
    const base = load('job.run.completed-errored');
    // Full Unicode including lone surrogates (which JSON.parse produces from "\ud800").
    const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', minLength: 5000, maxLength: 6000 }), fc.constantFrom('None', '', '\ud83d', 'a\udc00b'));
    fc.assert(
      fc.property(anyText, anyText, anyText, anyText, (jobName, runStatusMessage, runReason, environmentName) => {
        const event = normalised({ ...base, data: { ...base.data, jobName, runStatusMessage, runReason, environmentName } });
        for (const value of [event.connector.name, event.error?.message, event.transformation?.cause, event.destination.name, event.summary]) {
          if (value === null || value === undefined) continue;
          assert.ok(value.length <= 4000, `bounded: ${value.length}`);
          assert.ok(wellFormed(value), 'no lone surrogate');
        }
        assert.ok(!event.summary!.includes('\n'));
        for (const [key, value] of Object.entries(attributesOf(event))) {
          assert.ok(wellFormed(value) && Buffer.byteLength(value) <= 1024, key);
        }
      }),
      { seed: 1313, numRuns: 150 },
    );
  });
});

describe('the dbt Cloud webhook schema', () => {
  const problems = (payload: unknown) => (dbtSchema(payload) ? [] : dbtSchema.errors!.map((e) => `${e.instancePath} ${e.message}`));
  const errored = load('job.run.errored');

  it('accepts every fixture, extra fields included', () => {
    for (const name of fixtureNames('dbt-cloud')) assert.deepEqual(problems(load(name)), [], name);
    assert.deepEqual(problems({ ...errored, someNewField: { nested: true }, data: { ...errored.data, newToo: 1 } }), []);
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['ids sent as numbers', { ...errored, data: { ...errored.data, runId: 70000123 } }, /\/data\/runId must be string/],
    ['an id that is not digits', { ...errored, data: { ...errored.data, jobId: '101; drop' } }, /\/data\/jobId must match pattern/],
    ['a run event without a run id', { ...errored, data: { ...errored.data, runId: undefined } }, /\/data must have required property 'runId'/],
    ['a finished run with neither runFinishedAt nor runErroredAt', { ...errored, data: { ...errored.data, runErroredAt: undefined } }, /\/data must match a schema in anyOf/],
    ['a finish time that is not a time', { ...errored, data: { ...errored.data, runErroredAt: 'yesterday' } }, /\/data\/runErroredAt must match format "date-time"/],
    ['no event type', { ...errored, eventType: undefined }, / must have required property 'eventType'/],
    ['no account', { ...errored, accountId: undefined }, / must have required property 'accountId'/],
  ];
  for (const [name, payload, problem] of refused) {
    it(`refuses ${name}`, () => {
      const found = problems(JSON.parse(JSON.stringify(payload)));
      assert.ok(found.some((p) => problem.test(p)), found.join('; '));
    });
  }
});
