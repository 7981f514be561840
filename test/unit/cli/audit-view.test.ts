import assert from 'node:assert/strict';
import { Timestamp } from '@google-cloud/firestore';
import { timelineOf, toEventView } from '../../../functions/cli/audit-view.js';
import { parseSince } from '../../../functions/cli/event-report.js';

const at = (iso: string) => Timestamp.fromDate(new Date(iso));

// An audit document as functions/processor/audit-store.ts writes it: a dbt job that failed
// transiently twice (a 503, then a timeout) and started on the third delivery.
const doc = {
  eventId: 'e1',
  source: 'fivetran',
  type: 'sync.succeeded',
  vendorEvent: 'sync_end',
  connectorId: 'orders',
  connectorName: 'orders_pg',
  syncStatus: 'succeeded',
  occurredAt: at('2026-11-29T10:00:00Z'),
  receivedAt: at('2026-11-29T10:00:01Z'),
  firstDeliveredAt: at('2026-11-29T10:00:02Z'),
  lastDeliveredAt: at('2026-11-29T10:01:00Z'),
  processedAt: at('2026-11-29T10:01:02Z'),
  status: 'processed',
  deliveries: 3,
  routes: ['orders'],
  actions: {
    'dbt-job-101': {
      kind: 'dbt',
      target: '101',
      status: 'succeeded',
      attempts: 3,
      requests: 3,
      runId: 70000001,
      runHref: 'https://cloud.getdbt.com/deploy/1/projects/1/runs/70000001/',
      firstAttemptAt: at('2026-11-29T10:00:03Z'),
      completedAt: at('2026-11-29T10:01:01Z'),
      lastError: 'dbt Cloud answered 503',
      errors: [
        { at: '2026-11-29T10:00:04Z', attempt: 1, kind: 'transient', message: 'dbt Cloud answered 503', status: 503 },
        { at: '2026-11-29T10:00:30Z', attempt: 2, kind: 'transient', message: 'timed out after 10000 ms', status: null },
      ],
      requestLog: [
        { at: '2026-11-29T10:00:04Z', status: 503 },
        { at: '2026-11-29T10:00:30Z', error: 'timed out after 10000 ms' },
        { at: '2026-11-29T10:01:01Z', status: 200 },
      ],
    },
  },
};

describe('cli/audit-view', () => {
  it('maps an audit document to what the CLI prints, with the latest error', () => {
    const view = toEventView('e1', doc);
    assert.equal(view.outcome, 'processed');
    assert.equal(view.deliveries, 3);
    assert.equal(view.lastError, 'timed out after 10000 ms');
    assert.equal(view.actions[0]!.runId, 70000001);
  });

  it('tells the story in time order: deliveries, requests, errors, the run, the outcome', () => {
    const lines = timelineOf(toEventView('e1', doc)).map((e) => `${e.level} ${e.what}`);
    assert.deepEqual(lines, [
      'info fivetran sync_end happened',
      'info received by ingest and published',
      'info delivered to the processor (1st delivery; routes orders)',
      'info dbt job 101: claimed',
      'error dbt job 101: request → 503',
      'error dbt job 101: transient error: dbt Cloud answered 503',
      'error dbt job 101: request → timed out after 10000 ms',
      'error dbt job 101: transient error: timed out after 10000 ms',
      'info delivered again (3 deliveries in all)',
      'info dbt job 101: request → 200',
      'ok dbt job 101: started run 70000001 https://cloud.getdbt.com/deploy/1/projects/1/runs/70000001/',
      'ok outcome: processed',
    ]);
  });

  it('an invalid message (no SyncEvent) still shows its problems as the last error', () => {
    const view = toEventView('invalid-9', { status: 'invalid', messageId: '9', problems: [{ field: '/type', message: 'must be equal to one of the allowed values' }], deliveries: 1, actions: {} });
    assert.equal(view.type, 'invalid message');
    assert.equal(view.lastError, '/type must be equal to one of the allowed values');
  });

  it('a quarantined event shows what postload did not understand, and a Slack alert left to an earlier event says so', () => {
    const quarantined = {
      ...doc,
      type: 'quarantined',
      vendorEvent: 'sync_end',
      problems: [{ code: 'schema_violation', message: '/connector_id must be string', pointer: '/connector_id' }],
      actions: { slack: { kind: 'slack', target: 'SLACK_WEBHOOK_URL', status: 'succeeded', attempts: 1, requests: 0, sent: false, alreadyAlertedBy: ['e0'], firstAttemptAt: at('2026-11-29T10:00:03Z'), completedAt: at('2026-11-29T10:00:04Z'), errors: [], requestLog: [] } },
    };
    const view = toEventView('e1', quarantined);
    assert.equal(view.lastError, 'schema_violation at /connector_id: /connector_id must be string');
    const story = timelineOf(view).map((e) => e.what);
    assert.ok(story.includes('not understood (quarantined; the body is in the audit record, payloadJson or payloadText): schema_violation at /connector_id: /connector_id must be string'), story.join('\n'));
    assert.ok(story.includes('Slack SLACK_WEBHOOK_URL: not sent: already alerted today by e0'), story.join('\n'));
  });

  it('--since takes durations and dates, and refuses anything else with the fix', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    assert.equal(parseSince('24h', now).toISOString(), '2026-11-28T12:00:00.000Z');
    assert.equal(parseSince('30m', now).toISOString(), '2026-11-29T11:30:00.000Z');
    assert.equal(parseSince('2026-11-01T00:00:00Z', now).toISOString(), '2026-11-01T00:00:00.000Z');
    assert.throws(() => parseSince('yesterday', now), (error: { fix?: string }) => /--since 24h/.test(error.fix ?? ''));
  });
});
