import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normaliseAirbyte } from '../../../functions/ingest/airbyte/normalise.js';
import { normaliseFivetran } from '../../../functions/ingest/fivetran/normalise.js';
import { SOURCES } from '../../../functions/ingest/sources.js';
import { validator } from '../../../functions/shared/schemas.js';
import { airbytePayload, buildPayload, dbtCloudPayload, fivetranPayload, sendable } from '../../../functions/cli/payloads.js';
import { normaliseDbtCloud } from '../../../functions/ingest/dbt-cloud/normalise.js';
import { fixture, fixtureNames, type FixtureSource } from '../../support/webhook-fixtures.js';

/** The payload, after asserting it passes the ingest function's own schema for the source. */
function validatePayload(source: keyof typeof SOURCES, payload: unknown): unknown {
  const validate = validator(SOURCES[source].schema);
  assert.ok(validate(payload), JSON.stringify(validate.errors));
  return payload;
}

// The CLI sends the payloads the tests use: it reads the fixtures at run time, changes only
// what makes each send a new event, and what it builds passes the ingest function's own
// schema and normaliser.

/** The payload with the fields a build makes fresh set aside, to compare with its fixture. */
function withoutFresh(payload: Record<string, unknown>, fresh: string[]): unknown {
  const copy = structuredClone(payload) as Record<string, Record<string, unknown>>;
  for (const path of fresh) {
    const [head, tail] = path.split('.') as [string, string | undefined];
    if (tail === undefined) delete copy[head];
    else delete copy[head]?.[tail];
  }
  return copy;
}

describe('cli/payloads', () => {
  it('each build is its fixture (test/fixtures/) with only the fresh ids and times changed', () => {
    const cases: Array<[Record<string, unknown>, FixtureSource, string, string[]]> = [
      [fivetranPayload({ event: 'sync_start' }), 'fivetran', 'sync_start', ['created', 'sync_id']],
      [fivetranPayload(), 'fivetran', 'sync_end-successful', ['created', 'sync_id']],
      [fivetranPayload({ status: 'FAILURE' }), 'fivetran', 'sync_end-failure', ['created', 'sync_id']],
      [fivetranPayload({ event: 'test_event' }), 'fivetran', 'test_event', ['created']],
      [airbytePayload({ status: 'failed' }), 'airbyte', 'sync-failed', ['text', 'data.jobId', 'data.startedAt', 'data.finishedAt']],
      [dbtCloudPayload(), 'dbt-cloud', 'job.run.completed-success', ['eventId', 'timestamp', 'data.runId', 'data.runReason', 'data.runStartedAt', 'data.runFinishedAt']],
      [dbtCloudPayload({ status: 'Canceled' }), 'dbt-cloud', 'job.run.completed-canceled', ['eventId', 'timestamp', 'data.runId', 'data.runReason', 'data.runStartedAt', 'data.runFinishedAt']],
      [dbtCloudPayload({ status: 'cancelled' }), 'dbt-cloud', 'job.run.completed-cancelled-legacy', ['eventId', 'timestamp', 'data.runId', 'data.runReason', 'data.runStartedAt', 'data.runCanceledAt']],
      [dbtCloudPayload({ event: 'job.run.errored' }), 'dbt-cloud', 'job.run.errored', ['eventId', 'timestamp', 'data.runId', 'data.runReason', 'data.runStartedAt', 'data.runErroredAt']],
    ];
    for (const [built, source, name, fresh] of cases) {
      assert.deepEqual(withoutFresh(built, fresh), withoutFresh(fixture(source, name), fresh), `${source}/${name}`);
    }
  });

  it('Fivetran sync_end: the status asked for, a fresh sync id and time, valid and normalised to the matching type', () => {
    const now = new Date('2026-11-29T12:00:00.000Z');
    for (const [status, type] of [['SUCCESSFUL', 'sync.succeeded'], ['FAILURE', 'sync.failed'], ['RESCHEDULED', 'sync.rescheduled']] as const) {
      const payload = fivetranPayload({ status, connector: 'my_conn', now });
      assert.equal((payload.data as { status: string }).status, status);
      assert.equal(payload.connector_id, 'my_conn');
      assert.equal(payload.created, now.toISOString());
      assert.notEqual(payload.sync_id, fixture('fivetran', 'sync_end-successful').sync_id);
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
    assert.ok(!JSON.stringify(failed).includes(fixture<{ data: { connection: { id: string } } }>('airbyte', 'sync-failed').data.connection.id));
    const event = normaliseAirbyte(validatePayload('airbyte', failed) as never, new Date());
    assert.equal(event.type, 'sync.failed');
    assert.equal(event.connector.id, connection);
    assert.equal(normaliseAirbyte(validatePayload('airbyte', airbytePayload()) as never, new Date()).type, 'sync.succeeded');
    assert.throws(() => airbytePayload({ event: 'sync-exploded' }), /--event "sync-exploded" is not an Airbyte notification/);
  });

  it('dbt Cloud: string ids, nanosecond timestamp, finishing now, a finish time only when finished, valid and normalised', () => {
    const now = new Date('2026-11-20T10:42:13.123Z');
    const completed = dbtCloudPayload({ status: 'Errored', connector: '101', now });
    assert.equal(completed.timestamp, '2026-11-20T10:42:13.123000000Z');
    const data = completed.data as Record<string, unknown>;
    assert.equal(data.jobId, '101');
    assert.equal(typeof data.runId, 'string');
    assert.equal(data.runStatusCode, 20);
    assert.equal(data.runFinishedAt, '2026-11-20T10:42:13Z');
    assert.ok(Date.parse(String(data.runStartedAt)) < now.getTime());
    // Never a reason naming an event: the processor would take the run for that event's.
    assert.doesNotMatch(String(data.runReason), /\[event /);
    const event = normaliseDbtCloud(validatePayload('dbt-cloud', completed) as never, now);
    assert.equal(event.type, 'transformation.failed');
    assert.equal(event.connector.id, '101');
    const started = dbtCloudPayload({ event: 'job.run.started' });
    assert.equal((started.data as Record<string, unknown>).runFinishedAt, undefined);
    assert.equal(normaliseDbtCloud(validatePayload('dbt-cloud', started) as never, now).type, 'transformation.started');
    assert.ok((dbtCloudPayload({ event: 'job.run.errored' }).data as Record<string, unknown>).runErroredAt);
    assert.throws(() => dbtCloudPayload({ connector: 'abc' }), /job ids are numbers/);
    assert.throws(() => dbtCloudPayload({ status: 'Exploded' }), /--status "Exploded" is not a dbt Cloud run status/);
    assert.throws(() => dbtCloudPayload({ event: 'job.run.started', status: 'Success' }), /--status is only for job.run.completed/);
    assert.notEqual(dbtCloudPayload().eventId, dbtCloudPayload().eventId);
  });

  /**
   * Fixtures that are not a notification of their own: variants of a sendable one (edge
   * cases the normalisers are tested with), older shapes, and the Test buttons (`send --test`,
   * issue 24). Each says why; a new fixture must be sendable or listed here.
   */
  const VARIANTS: Record<FixtureSource, Record<string, string>> = {
    fivetran: {
      'sync_end-connection-fields': 'sync_end with the newer connection_* fields',
      'sync_end-unknown-status': 'a status Fivetran might add',
      'unknown-new-event': 'an event Fivetran might add',
      'seed-example': "the project's first example of sync_end",
    },
    airbyte: {
      'sync-failed-error-says-queued': 'sync-failed with a misleading error text',
      'sync-succeeded-connection-named-queued': 'sync-succeeded with a misleading connection name',
      'schema-propagated-escaped-name': 'schema-propagated with an escaped name',
      'legacy-text-success': 'the text-only shape of sync-succeeded before 2024',
      'legacy-text-failure': 'the text-only shape of sync-failed before 2024',
      'legacy-connection-disabled': 'the text-only shape of connection-disabled before 2024',
      'legacy-schema-propagated': 'the text-only shape of schema-propagated before 2024',
      'legacy-schema-breaking': 'the text-only shape of a breaking schema change before 2024',
      'test-sync-succeeded': "Airbyte's Test button",
      'test-sync-failed': "Airbyte's Test button",
      'test-connection-disabled': "Airbyte's Test button",
      'test-schema-change': "Airbyte's Test button",
      'test-text-only': "Airbyte's Test button before v1.3",
      'test-text-only-queued': "Airbyte's Test button for queued syncs",
      'unknown-notification': 'a shape no Airbyte template has',
    },
    'dbt-cloud': {
      'docs-2023-completed': "dbt Cloud's 2023 documentation example of job.run.completed",
      'docs-2023-started': "dbt Cloud's 2023 documentation example of job.run.started",
      'unknown-event-type': 'an event type dbt Cloud might add',
    },
  };

  it('every vendor notification the fixtures hold can be sent: built from its fixture, valid, and understood (never "other")', () => {
    const normalise = { fivetran: normaliseFivetran, airbyte: normaliseAirbyte, 'dbt-cloud': normaliseDbtCloud } as const;
    const covered = new Set<string>();
    for (const { vendor, event, status, fixture: name } of sendable()) {
      covered.add(`${vendor}/${name}`);
      const built = buildPayload(vendor, { event, ...(status ? { status } : {}) });
      const normalised = normalise[vendor](validatePayload(vendor, built) as never, new Date());
      assert.notEqual(normalised.type, 'other', `${vendor} --event ${event}${status ? ` --status ${status}` : ''}`);
      assert.notEqual(normalised.type, 'quarantined', `${vendor} --event ${event}`);
      // Same kind of event as the fixture it comes from.
      assert.equal(normalised.type, normalise[vendor](fixture(vendor, name) as never, new Date()).type, `${vendor}/${name}`);
      // Sent twice, two events: a send is never taken for a re-send of the last one.
      const again = normalise[vendor](buildPayload(vendor, { event, ...(status ? { status } : {}), now: new Date(Date.now() + 1000) }) as never, new Date());
      assert.notEqual(again.id, normalised.id, `${vendor} --event ${event}: two sends, one event id`);
    }
    for (const vendor of ['fivetran', 'airbyte', 'dbt-cloud'] as const) {
      for (const name of fixtureNames(vendor)) {
        assert.ok(covered.has(`${vendor}/${name}`) || name in VARIANTS[vendor], `test/fixtures/${vendor}/${name}.json: not sendable by postload send and not listed as a variant`);
      }
    }
  });

  it("Airbyte's schema change (the demo's) is sent with the connection asked for", () => {
    const connection = '11111111-2222-4333-8444-555555555555';
    const event = normaliseAirbyte(validatePayload('airbyte', airbytePayload({ event: 'schema-propagated', connector: connection })) as never, new Date());
    assert.equal(event.type, 'schema.changed');
    assert.equal(event.connector.id, connection);
  });

  it('refuses words outside the vendors\' vocabularies, suggesting the closest and listing the rest', () => {
    assert.throws(() => fivetranPayload({ status: 'SUCCESFUL' }), (e: Error & { fix?: string; exitCode?: number }) => {
      assert.match(e.message, /--status "SUCCESFUL" is not a Fivetran sync_end status/);
      assert.match(e.fix!, /did you mean --status SUCCESSFUL\? allowed: SUCCESSFUL, FAILURE, FAILURE_WITH_TASK, FAILED, RESCHEDULED, CANCELED/);
      assert.equal(e.exitCode, 2);
      return true;
    });
    const said = (build: () => unknown) => {
      try {
        build();
      } catch (error) {
        return `${(error as Error).message}\n${(error as { fix?: string }).fix}`;
      }
      return 'built';
    };
    assert.match(said(() => fivetranPayload({ event: 'sync-end' })), /did you mean --event sync_end\?/);
    assert.match(said(() => airbytePayload({ event: 'schema-propagate' })), /did you mean --event schema-propagated\?/);
    assert.match(said(() => dbtCloudPayload({ event: 'job.run.complete' })), /did you mean --event job.run.completed\?/);
    assert.throws(() => fivetranPayload({ event: 'dbt_run_start', connector: 'c' }), /carry no connector/);
    // Case does not matter for statuses, as vendors' own spellings vary.
    assert.equal((fivetranPayload({ status: 'failure' }).data as { status: string }).status, 'FAILURE');
  });
});
