import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AirbyteWebhook } from '../../../functions/generated/airbyte-webhook.schema.js';
import { normaliseAirbyte } from '../../../functions/ingest/airbyte/normalise.js';
import { ERROR_MESSAGE_LIMIT } from '../../../functions/ingest/bounded-text.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { checkEvent, type Expectation } from '../../support/normalise-expectations.js';
import { fixture, fixtureNames } from '../../support/webhook-fixtures.js';

const RECEIVED = new Date('2026-05-22T12:34:56.789Z');
const LATER = new Date('2026-05-22T18:00:00.000Z');
const validSyncEvent = validator<SyncEvent>('sync-event.v1');
const airbyteSchema = validator('airbyte-webhook');

function assertValid(event: SyncEvent): void {
  assert.ok(validSyncEvent(event), JSON.stringify(validSyncEvent.errors));
}

const WS = '6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e';
const CONN = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const DST = '2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b';
const LAST_ERROR = 'Cannot reach the source database: connection refused (host db.internal, port 5432)';
const test: Expectation = { type: 'test', vendorEvent: 'test', status: null, error: null, metrics: false, schemaChange: undefined };
const names: Expectation = { connectorId: CONN, connectorName: 'pg_to_bq', sourceName: 'Postgres', workspaceId: WS };

// One row per fixture (test/fixtures/airbyte, origins in test/fixtures/SOURCES.md).
const table: Record<string, Expectation> = {
  'sync-succeeded': {
    type: 'sync.succeeded', vendorEvent: 'sync_succeeded', status: 'succeeded', vendorStatus: 'success: true', ...names, destinationId: DST, destinationName: 'BigQuery',
    syncId: '9012', startedAt: '2026-05-22T10:00:00Z', finishedAt: '2026-05-22T10:04:05Z', occurredAt: '2026-05-22T10:04:05Z', error: null,
    metrics: { recordsEmitted: 250000, recordsCommitted: 250000, recordsFilteredOut: 0, bytesEmitted: 104857600, bytesCommitted: 104857600, bytesFilteredOut: 0 },
  },
  'sync-failed': {
    type: 'sync.failed', vendorEvent: 'sync_failed', status: 'failed', vendorStatus: 'success: false', ...names, syncId: '9013',
    error: { message: 'Something went wrong in the connector. See the logs for more details.', type: 'config_error', origin: 'source' }, metrics: true,
  },
  'sync-failed-error-says-queued': { type: 'sync.failed', status: 'failed', syncId: '9015', error: { message: 'Request was queued by the API and timed out after 300 seconds', type: 'transient_error', origin: 'source' } },
  'sync-succeeded-connection-named-queued': { type: 'sync.succeeded', status: 'succeeded', connectorName: 'Queued orders', syncId: '9016', metrics: true },
  'sync-queued': {
    type: 'sync.queued', vendorEvent: 'sync_queued', status: 'queued', vendorStatus: 'success: false', ...names, syncId: '9014',
    startedAt: null, finishedAt: null, occurredAt: '2026-05-22T12:00:01Z', error: null, metrics: false,
  },
  'connection-disabled': {
    type: 'connector.disabled', vendorEvent: 'connection_disabled', status: null, ...names, destinationId: DST, destinationName: 'BigQuery', syncId: null,
    error: { message: LAST_ERROR, type: 'config_error', origin: null }, metrics: false, occurredAt: RECEIVED.toISOString(),
  },
  'connection-disable-warning': { type: 'connector.warning', vendorEvent: 'connection_disable_warning', ...names, error: { message: LAST_ERROR, type: 'config_error', origin: null } },
  'schema-propagated': {
    type: 'schema.changed', vendorEvent: 'schema_change', status: null, ...names, error: null, metrics: false,
    schemaChange: { propagated: true, connectionDisabled: false }, summary: /^The schema of 'pg_to_bq' has changed\.$/,
  },
  'schema-propagated-escaped-name': { type: 'schema.changed', connectorId: CONN, connectorName: 'PSQL ->> BigQuery & co' },
  'schema-detected': { type: 'schema.changed', vendorEvent: 'schema_change_detected', ...names, schemaChange: { propagated: false, connectionDisabled: false } },
  'schema-detected-connection-disabled': { type: 'schema.changed', vendorEvent: 'schema_change_detected', ...names, schemaChange: { propagated: false, connectionDisabled: true } },
  'test-sync-succeeded': { ...test, syncId: '10', connectorName: 'Connection', summary: /^Test notification: Your connection Connection/ },
  'test-sync-failed': { ...test, syncId: '10', connectorName: 'Test Connection', summary: /^Test notification: / },
  'test-connection-disabled': { ...test, connectorName: 'Test Connection' },
  'test-schema-change': { ...test, connectorName: 'Some Connection', summary: /^\[THIS IS A TEST NOTIFICATION\] The schema of 'Some Connection' has changed\.$/ },
  'test-text-only': { ...test, connectorId: null, occurredAt: RECEIVED.toISOString() },
  'test-text-only-queued': { ...test, connectorId: null },
  'legacy-text-success': { type: 'sync.succeeded', status: 'succeeded', connectorId: CONN, workspaceId: WS, syncId: '813', error: null, metrics: false },
  'legacy-text-failure': { type: 'sync.failed', status: 'failed', connectorId: CONN, syncId: '812', error: { message: 'Something went wrong', type: null, origin: null } },
  'legacy-connection-disabled': { type: 'connector.disabled', connectorId: CONN, workspaceId: WS, error: { message: 'job failed.', type: null, origin: null } },
  'legacy-schema-propagated': { type: 'schema.changed', vendorEvent: 'schema_change', connectorId: CONN, schemaChange: { propagated: true, connectionDisabled: false } },
  'legacy-schema-breaking': { type: 'schema.changed', vendorEvent: 'breaking_schema_change', connectorId: CONN, schemaChange: { propagated: false, connectionDisabled: true } },
  'unknown-notification': { type: 'other', vendorEvent: 'notification', connectorId: null, connectorName: null, error: null },
};

describe('normalising Airbyte webhooks', () => {
  it('has an expectation for every Airbyte fixture', () => {
    assert.deepEqual(Object.keys(table).sort(), fixtureNames('airbyte'));
  });

  for (const [name, expected] of Object.entries(table)) {
    it(`${name} → ${expected.type}`, () => {
      const payload = fixture<AirbyteWebhook>('airbyte', name);
      assert.ok(airbyteSchema(payload), `fixture passes the inbound schema: ${JSON.stringify(airbyteSchema.errors)}`);
      const event = normaliseAirbyte(payload, RECEIVED);
      assertValid(event);
      checkEvent(event, expected);
      assert.equal(event.source, 'airbyte');
      assert.deepEqual(event.payload, payload);
    });
  }

  it('never makes a Test-button payload a success or a failure, whatever its data says', () => {
    for (const name of ['test-sync-succeeded', 'test-sync-failed']) {
      const payload = fixture<AirbyteWebhook>('airbyte', name);
      assert.equal(typeof payload.data?.success, 'boolean', 'the test carries a realistic data block');
      const event = normaliseAirbyte(payload, RECEIVED);
      assert.equal(event.type, 'test');
      assert.equal(event.sync.status, null);
    }
  });

  it('believes the title over data.success: a queued notice is not a failure', () => {
    const queued = fixture<AirbyteWebhook>('airbyte', 'sync-queued');
    assert.equal(queued.data?.success, false);
    assert.equal(normaliseAirbyte(queued, RECEIVED).type, 'sync.queued');
  });

  it('reads the title with or without a tag, and data when the title is unknown', () => {
    const payload = fixture<AirbyteWebhook>('airbyte', 'sync-succeeded');
    const titled = (title: string): AirbyteWebhook => ({ ...payload, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: title } }, ...(payload.blocks ?? []).slice(1)] });
    assert.equal(normaliseAirbyte(titled('[prod] Sync failure occurred: <https://x/|pg>'), RECEIVED).type, 'sync.failed');
    assert.equal(normaliseAirbyte(titled('Sync queued: <https://x/|pg>'), RECEIVED).type, 'sync.queued');
    assert.equal(normaliseAirbyte(titled('Something new: <https://x/|pg>'), RECEIVED).type, 'sync.succeeded');
    assert.equal(normaliseAirbyte({ ...payload, blocks: [] }, RECEIVED).type, 'sync.succeeded');
  });

  it('computes the duration when Airbyte does not send it', () => {
    const payload = fixture<AirbyteWebhook>('airbyte', 'sync-succeeded');
    delete payload.data!.durationInSeconds;
    assert.equal(normaliseAirbyte(payload, RECEIVED).sync.durationSeconds, 245);
  });

  it('bounds an error message and reads only a prefix of a huge text', () => {
    const payload = fixture<AirbyteWebhook>('airbyte', 'sync-failed');
    const long = normaliseAirbyte({ ...payload, data: { ...payload.data!, errorMessage: 'e'.repeat(100_000) } }, RECEIVED);
    assert.ok((long.error?.message ?? '').length <= ERROR_MESSAGE_LIMIT);
    // A legacy failure whose template sentence lies beyond the scanned prefix is still a failure; its error is just not read.
    const text = `Your connection pg from a to b just failed...\nThis happened with ${'x'.repeat(200_000)}\n\nYou can access its logs here: u`;
    const event = normaliseAirbyte({ text }, RECEIVED);
    assert.equal(event.type, 'sync.failed');
    assert.ok((event.error?.message ?? '').length <= ERROR_MESSAGE_LIMIT);
  });

  // The summary reaches Slack: a cut inside a surrogate pair would be invalid UTF-8 there.
  it('cuts a long summary line without leaving half of a surrogate pair', () => {
    for (const prefix of ['x', 'xy']) {
      const event = normaliseAirbyte({ text: `${prefix}${'😀'.repeat(600)}` }, RECEIVED);
      assert.ok(event.summary && event.summary.length <= 500 && event.summary.startsWith(prefix));
      assert.doesNotMatch(event.summary, /\p{Cs}/u);
    }
  });

  describe('event id', () => {
    it('is stable for a re-sent sync notification', () => {
      const payload = fixture<AirbyteWebhook>('airbyte', 'sync-failed');
      assert.equal(normaliseAirbyte(payload, RECEIVED).id, normaliseAirbyte(structuredClone(payload), LATER).id);
    });
    it('differs between jobs and between the queued and the finished notice of one job', () => {
      const payload = fixture<AirbyteWebhook>('airbyte', 'sync-succeeded');
      const queued = fixture<AirbyteWebhook>('airbyte', 'sync-queued');
      const id = normaliseAirbyte(payload, RECEIVED).id;
      assert.notEqual(normaliseAirbyte({ ...payload, data: { ...payload.data!, jobId: 9999 } }, RECEIVED).id, id);
      assert.notEqual(normaliseAirbyte({ ...queued, data: { ...queued.data!, jobId: 9012 } }, RECEIVED).id, id);
    });
    it('tells apart two schema changes of one connection on one day (same header, other blocks)', () => {
      const detected = normaliseAirbyte(fixture<AirbyteWebhook>('airbyte', 'schema-detected'), RECEIVED);
      const disabling = normaliseAirbyte(fixture<AirbyteWebhook>('airbyte', 'schema-detected-connection-disabled'), RECEIVED);
      assert.equal(detected.summary, disabling.summary);
      assert.notEqual(detected.id, disabling.id);
    });
    it("tells apart the Test button's success and failure tests", () => {
      const ok = normaliseAirbyte(fixture<AirbyteWebhook>('airbyte', 'test-sync-succeeded'), RECEIVED);
      const failed = normaliseAirbyte(fixture<AirbyteWebhook>('airbyte', 'test-sync-failed'), RECEIVED);
      assert.notEqual(ok.id, failed.id);
    });
    it('for a data-less notice, is the same within a UTC day and new the next day', () => {
      const payload = fixture<AirbyteWebhook>('airbyte', 'connection-disabled');
      assert.equal(normaliseAirbyte(payload, RECEIVED).id, normaliseAirbyte(payload, LATER).id);
      assert.notEqual(normaliseAirbyte(payload, RECEIVED).id, normaliseAirbyte(payload, new Date('2026-05-23T00:00:01Z')).id);
    });
  });

  it('turns any payload the inbound schema accepts into a valid SyncEvent (property)', () => {
    // Fragments of Airbyte's real wording, so that generated texts reach every rule.
    const fragment = fc.constantFrom(
      '[THIS IS A TEST NOTIFICATION] ', '[prod] ', 'Sync completed: ', 'Sync failure occurred: ', 'Sync queued: ', 'Connection disabled: ',
      'Warning - repeated connection failures: ', "The schema of '", "' has changed.", "Airbyte detected schema changes for '",
      'Airbyte has automatically disabled your connections', 'Your connection ', ' from ', ' just failed...', ' succeeded',
      'This happened with ', '\n\nYou can access its logs', 'The most recent attempted ', '\n\nWorkspace ID: ', 'Connection ID: ',
      `<https://cloud.airbyte.com/workspaces/${WS}/connections/${CONN}|pg_to_bq>`, '<https://x/source/1|', '&gt;', '$amp;', '*Failure reason:*\n\n```\n[config_error] ',
      '```', 'Hello World! This is a test', "Your sync for connection '", "' is queued and waiting", 'Your source schema has changed for connection',
      'Airbyte has disabled this connection', '*Job ID:* 12', '\n', '|', '<', '>', '\ud800',
    );
    const text = fc.array(fc.oneof(fragment, fc.string({ maxLength: 12 })), { maxLength: 8 }).map((parts) => parts.join(''));
    const json = fc.jsonValue({ maxDepth: 3 });
    const section = fc.record(
      { type: fc.constantFrom('section', 'divider'), text: fc.oneof(fc.record({ type: fc.constant('mrkdwn'), text }), json), fields: fc.oneof(fc.array(fc.record({ type: fc.constant('mrkdwn'), text }), { maxLength: 6 }), json) },
      { requiredKeys: [] },
    );
    const entity = fc.record({ id: fc.oneof(fc.uuid(), fc.constant(null), fc.string({ maxLength: 8 })), name: fc.oneof(text, fc.constant(null)), url: fc.oneof(text, fc.constant(null)) }, { requiredKeys: [] });
    const time = fc.oneof(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 20 }), fc.constant(null));
    const count = fc.oneof(fc.nat(), fc.constant(null));
    const data = fc.record(
      {
        workspace: entity, connection: entity, source: entity, destination: entity, jobId: fc.integer(), startedAt: time, finishedAt: time,
        bytesEmitted: count, bytesCommitted: count, recordsEmitted: count, recordsCommitted: count, recordsFilteredOut: count, bytesFilteredOut: count,
        success: fc.boolean(), errorMessage: fc.oneof(text, fc.constant(null)), errorType: fc.oneof(text, fc.constant(null)), errorOrigin: fc.oneof(text, fc.constant(null)),
        durationInSeconds: fc.oneof(fc.double({ noNaN: true }), fc.constant(null)),
      },
      { requiredKeys: ['connection'] },
    );
    const payloads = fc.record({ text, blocks: fc.array(fc.oneof(section, json), { maxLength: 5 }), data }, { requiredKeys: ['text'] });
    fc.assert(
      fc.property(payloads, (payload) => {
        fc.pre(airbyteSchema(payload));
        const event = normaliseAirbyte(payload as AirbyteWebhook, RECEIVED);
        assertValid(event);
        if (event.error?.message) assert.ok(event.error.message.length <= ERROR_MESSAGE_LIMIT);
        if (event.type === 'test') assert.equal(event.sync.status, null);
      }),
      { numRuns: 500, seed: 20261129 },
    );
  });
});
