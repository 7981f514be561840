import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normaliseAirbyte } from '../../../functions/ingest/airbyte/normalise.js';
import { normaliseFivetran } from '../../../functions/ingest/fivetran/normalise.js';
import { SOURCES } from '../../../functions/ingest/sources.js';
import { validator } from '../../../functions/shared/schemas.js';
import * as templates from '../../../functions/cli/payload-templates.js';
import { airbytePayload, dbtCloudPayload, fivetranPayload } from '../../../functions/cli/payloads.js';
import { fixture, type FixtureSource } from '../../support/webhook-fixtures.js';

/** The payload, after asserting it passes the ingest function's own schema for the source. */
function validatePayload(source: keyof typeof SOURCES, payload: unknown): unknown {
  const validate = validator(SOURCES[source].schema);
  assert.ok(validate(payload), JSON.stringify(validate.errors));
  return payload;
}

// The CLI sends the payloads the tests use: its templates are the fixtures, and what it
// builds passes the ingest function's own schema and normaliser.

const TEMPLATE_FIXTURES: Array<[keyof typeof templates, FixtureSource, string]> = [
  ['fivetranSyncStart', 'fivetran', 'sync_start'],
  ['fivetranSyncEndSuccessful', 'fivetran', 'sync_end-successful'],
  ['fivetranSyncEndFailure', 'fivetran', 'sync_end-failure'],
  ['fivetranTestEvent', 'fivetran', 'test_event'],
  ['airbyteSyncSucceeded', 'airbyte', 'sync-succeeded'],
  ['airbyteSyncFailed', 'airbyte', 'sync-failed'],
];

describe('cli/payloads', () => {
  for (const [name, source, file] of TEMPLATE_FIXTURES) {
    it(`template ${name} is test/fixtures/${source}/${file}.json`, () => {
      assert.deepEqual(templates[name], fixture(source, file));
    });
  }

  it('Fivetran sync_end: the status asked for, a fresh sync id and time, valid and normalised to the matching type', () => {
    const now = new Date('2026-11-29T12:00:00.000Z');
    for (const [status, type] of [['SUCCESSFUL', 'sync.succeeded'], ['FAILURE', 'sync.failed'], ['RESCHEDULED', 'sync.rescheduled']] as const) {
      const payload = fivetranPayload({ status, connector: 'my_conn', now });
      assert.equal((payload.data as { status: string }).status, status);
      assert.equal(payload.connector_id, 'my_conn');
      assert.equal(payload.created, now.toISOString());
      assert.notEqual(payload.sync_id, templates.fivetranSyncEndSuccessful.sync_id);
      const event = normaliseFivetran(validatePayload('fivetran', payload) as never, now);
      assert.equal(event.type, type);
      assert.equal(event.connector.id, 'my_conn');
    }
  });

  it('every Fivetran build is a distinct event (fresh sync id), so a send is never taken for a duplicate', () => {
    fc.assert(
      fc.property(fc.constantFrom('sync_start', 'sync_end'), fc.stringMatching(/^[a-z_]{1,20}$/), (event, connector) => {
        const a = fivetranPayload({ event, connector });
        const b = fivetranPayload({ event, connector });
        assert.notEqual(a.sync_id, b.sync_id);
        validatePayload('fivetran', a);
      }),
      { seed: 16, numRuns: 50 },
    );
  });

  it('Airbyte: succeeded and failed notifications with the connection id everywhere it appears', () => {
    const connection = '11111111-2222-4333-8444-555555555555';
    const failed = airbytePayload({ status: 'failed', connector: connection });
    assert.equal((failed.data as { success: boolean }).success, false);
    assert.ok(!JSON.stringify(failed).includes((templates.airbyteSyncFailed.data as { connection: { id: string } }).connection.id));
    const event = normaliseAirbyte(validatePayload('airbyte', failed) as never, new Date());
    assert.equal(event.type, 'sync.failed');
    assert.equal(event.connector.id, connection);
    assert.equal(normaliseAirbyte(validatePayload('airbyte', airbytePayload()) as never, new Date()).type, 'sync.succeeded');
    assert.throws(() => airbytePayload({ event: 'sync-exploded' }), /unknown Airbyte notification/);
  });

  it('dbt Cloud: string ids, nanosecond timestamp, a finish time only when finished', () => {
    const completed = dbtCloudPayload({ status: 'Errored', connector: '101', now: new Date('2026-11-20T10:42:13.123Z') });
    assert.equal(completed.timestamp, '2026-11-20T10:42:13.123000000Z');
    const data = completed.data as Record<string, unknown>;
    assert.equal(data.jobId, '101');
    assert.equal(typeof data.runId, 'string');
    assert.equal(data.runStatusCode, 20);
    assert.ok(data.runFinishedAt);
    const started = dbtCloudPayload({ event: 'job.run.started' }).data as Record<string, unknown>;
    assert.equal(started.runFinishedAt, undefined);
    assert.ok((dbtCloudPayload({ event: 'job.run.errored' }).data as Record<string, unknown>).runErroredAt);
    assert.throws(() => dbtCloudPayload({ connector: 'abc' }), /job ids are numbers/);
    assert.notEqual(dbtCloudPayload().eventId, dbtCloudPayload().eventId);
  });
});
