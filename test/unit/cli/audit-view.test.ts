import assert from 'node:assert/strict';
import { Timestamp } from '@google-cloud/firestore';
import fc from 'fast-check';
import { toEventView } from '../../../functions/read-model/audit-trail.js';
import { parseSince } from '../../../functions/cli/event-report.js';
import { actionSummary, timelineOf } from '../../../functions/read-model/timeline.js';
import type { ActionStatus } from '../../../functions/processor/planning/claims.js';
import { initialEventRecord } from '../../../functions/processor/store/event-record.js';
import type { ActionRecord } from '../../../functions/processor/store/event-store.js';
import { syncEvent } from '../../support/sync-event-fixtures.js';

// Audit documents as the processor's store writes them: the event's fields from the store's
// own initialEventRecord, actions typed as the store's ActionRecord (so a change of the
// stored shape fails to compile here), the delivery fields as EventStore.begin writes them.
// test/integration/cli/audit-trail.test.ts reads documents the real processor wrote.

const at = (iso: string) => Timestamp.fromDate(new Date(iso));

function action(overrides: Partial<ActionRecord> & Pick<ActionRecord, 'kind' | 'target' | 'status'>): ActionRecord {
  return {
    attempts: 1,
    requests: 0,
    claimedBy: null,
    leaseUntil: null,
    notBefore: null,
    uncertain: false,
    firstAttemptAt: null,
    lastAttemptAt: null,
    completedAt: null,
    lastError: null,
    errors: [],
    requestLog: [],
    ...overrides,
  };
}

function auditDocument(actions: Record<string, ActionRecord>, delivery: Record<string, unknown> = {}) {
  const event = syncEvent({ occurredAt: '2026-11-29T10:00:00.000Z', receivedAt: '2026-11-29T10:00:01.000Z' });
  return {
    event,
    doc: {
      ...initialEventRecord(event, ['orders']),
      status: 'processed',
      firstDeliveredAt: at('2026-11-29T10:00:02Z'),
      lastDeliveredAt: at('2026-11-29T10:01:00Z'),
      processedAt: at('2026-11-29T10:01:02Z'),
      deliveries: 3,
      messageIds: ['m1'],
      messageDeliveries: { m1: 3 },
      actions,
      ...delivery,
    },
  };
}

// A dbt job refused with 429 + Retry-After, then timed out, started on the third delivery,
// and the run later reported failed by dbt Cloud; a Slack message that waited for the job.
const dbtJob = action({
  kind: 'dbt',
  target: '101',
  status: 'succeeded',
  attempts: 3,
  requests: 3,
  firstAttemptAt: at('2026-11-29T10:00:03Z'),
  lastAttemptAt: at('2026-11-29T10:01:00Z'),
  completedAt: at('2026-11-29T10:01:01Z'),
  runId: 70000001,
  runHref: 'https://cloud.getdbt.com/deploy/1/projects/1/runs/70000001/',
  recovered: true,
  lastError: 'timed out after 10000 ms',
  errors: [
    { at: '2026-11-29T10:00:04.000Z', attempt: 1, kind: 'transient', message: 'dbt Cloud answered 429', status: 429 },
    { at: '2026-11-29T10:00:30.000Z', attempt: 2, kind: 'transient', message: 'timed out after 10000 ms', status: null },
  ],
  requestLog: [
    { at: '2026-11-29T10:00:04.000Z', status: 429 },
    { at: '2026-11-29T10:00:30.000Z', error: 'timed out after 10000 ms' },
    { at: '2026-11-29T10:01:01.000Z', status: 200 },
  ],
});
const runOutcome = {
  status: 'failed',
  runStatusCode: 20,
  startedAt: '2026-11-29T10:01:05Z',
  finishedAt: '2026-11-29T10:03:05Z',
  durationSeconds: 120,
  errorMessage: 'Database Error in model orders',
  eventId: 'dbt0000000000000000000000000001',
  recordedAt: '2026-11-29T10:03:06Z',
};

describe('read-model/audit-trail and read-model/timeline', () => {
  it('names the other run-target kinds as their messages do, and a followed run\'s outcome (from the sweep) without saying dbt Cloud (issue 28)', () => {
    const job = 'projects/demo-project/locations/europe-west1/jobs/dbt-core';
    const cloudRun = action({
      kind: 'cloud-run',
      target: job,
      status: 'succeeded',
      runId: 'dbt-core-x7k2q',
      completedAt: at('2026-11-29T10:01:01Z'),
      runOutcome: { status: 'failed', startedAt: '2026-11-29T10:01:10.000Z', finishedAt: '2026-11-29T10:02:52.000Z', durationSeconds: 102, errorMessage: 'Task dbt-core-x7k2q-task0 failed with exit code 2', targetStatus: 'failed', observedBy: 'sweep', recordedAt: '2026-11-29T10:05:00.000Z' },
    });
    const airflow = action({ kind: 'airflow', target: 'https://composer.example/api/v1#dbt_build', status: 'succeeded', runId: 'postload-x-airflow', completedAt: at('2026-11-29T10:01:01Z') });
    const http = action({ kind: 'http', target: 'refresh-dashboards', status: 'failed', lastError: 'HTTP call refresh-dashboards: the receiver answered 400' });
    const { event, doc } = auditDocument({ 'cloud-run-dbt-core-1': cloudRun, 'airflow-dbt_build-1': airflow, 'http-refresh-dashboards': http });
    const whats = timelineOf(toEventView(event.id, doc)).map((e) => e.what);
    assert.ok(whats.includes('Cloud Run job dbt-core (europe-west1): run dbt-core-x7k2q running'), whats.join('\n'));
    assert.ok(whats.includes('Cloud Run job dbt-core (europe-west1): run dbt-core-x7k2q failed after 102 s: Task dbt-core-x7k2q-task0 failed with exit code 2'), whats.join('\n'));
    assert.ok(!whats.some((w) => w.includes('dbt Cloud')), 'no run here is a dbt Cloud run');
    assert.match(toEventView(event.id, doc).lastError ?? '', /^HTTP call refresh-dashboards: /);
    assert.ok(whats.some((w) => w.startsWith('Airflow DAG dbt_build')), whats.join('\n'));
  });

  it('maps an audit document to what the CLI prints: deliveries per message, the run, the newest error named', () => {
    const { event, doc } = auditDocument({ 'dbt-job-101': dbtJob }, { messageIds: ['m1', 'm2'], messageDeliveries: { m1: 2, m2: 1 } });
    const view = toEventView(event.id, doc);
    assert.equal(view.eventId, event.id);
    assert.equal(view.connectorId, 'assimilate_seem');
    assert.equal(view.outcome, 'processed');
    assert.equal(view.deliveries, 3);
    assert.deepEqual(view.messages, [{ messageId: 'm1', deliveries: 2 }, { messageId: 'm2', deliveries: 1 }]);
    assert.equal(view.lastError, 'dbt job 101: timed out after 10000 ms');
    assert.equal(view.actions[0]!.runId, 70000001);
    assert.equal(view.actions[0]!.recovered, true);
    assert.equal(view.actions[0]!.runOutcome, null, 'a record written before run outcomes existed has none');
  });

  it('tells the story in time order: deliveries, requests, errors, the run, its outcome from dbt Cloud, the messages', () => {
    const slack = action({
      kind: 'slack',
      target: 'SLACK_WEBHOOK_URL',
      status: 'succeeded',
      attempts: 1,
      requests: 1,
      sent: true,
      firstAttemptAt: at('2026-11-29T10:01:00.500Z'),
      completedAt: at('2026-11-29T10:01:01.500Z'),
      requestLog: [{ at: '2026-11-29T10:01:01.400Z', status: 200 }],
    });
    const { event, doc } = auditDocument(
      { slack, 'dbt-job-101': { ...dbtJob, runOutcome } as ActionRecord },
      { messageIds: ['m1', 'm2'], messageDeliveries: { m1: 2, m2: 1 } },
    );
    const lines = timelineOf(toEventView(event.id, doc)).map((e) => `${e.level} ${e.what}`);
    assert.deepEqual(lines, [
      'info fivetran sync_end happened',
      'info received by ingest and published',
      'info delivered to the processor (1st delivery; routes orders)',
      'info dbt job 101: claimed',
      'error dbt job 101: request → 429',
      'error dbt job 101: transient error (attempt 1): dbt Cloud answered 429',
      'error dbt job 101: request → timed out after 10000 ms',
      'error dbt job 101: transient error (attempt 2): timed out after 10000 ms',
      'info delivered again (3 deliveries in all: message m1 ×2, message m2 ×1)',
      'info Slack SLACK_WEBHOOK_URL: claimed',
      'info dbt job 101: request → 200',
      'ok dbt job 101: started run 70000001 (found already started, not started again) https://cloud.getdbt.com/deploy/1/projects/1/runs/70000001/',
      'info Slack SLACK_WEBHOOK_URL: request → 200',
      'ok Slack SLACK_WEBHOOK_URL: message sent',
      'ok outcome: processed',
      'info dbt job 101: run 70000001 running in dbt Cloud',
      'error dbt job 101: run 70000001 failed after 120 s: Database Error in model orders (dbt Cloud event dbt0000000000000000000000000001)',
    ]);
  });

  it('an event still retrying: notBefore from Retry-After, an uncertain claim, a message waiting for its job, a final alert', () => {
    const { event, doc } = auditDocument(
      {
        'dbt-job-101': action({
          kind: 'dbt',
          target: '101',
          status: 'retry',
          uncertain: true,
          notBefore: at('2026-11-29T10:05:00Z'),
          firstAttemptAt: at('2026-11-29T10:00:03Z'),
          lastAttemptAt: at('2026-11-29T10:00:03Z'),
          lastError: 'dbt Cloud answered 429',
          errors: [{ at: '2026-11-29T10:00:04.000Z', attempt: 1, kind: 'transient', message: 'dbt Cloud answered 429', status: 429 }],
          requestLog: [{ at: '2026-11-29T10:00:04.000Z', status: 429 }],
        }),
        slack: action({ kind: 'slack', target: 'SLACK_WEBHOOK_URL', status: 'waiting', attempts: 0, firstAttemptAt: at('2026-11-29T10:00:03Z'), lastAttemptAt: at('2026-11-29T10:00:03Z') }),
        'final-alert': action({ kind: 'alert', target: 'SLACK_WEBHOOK_URL', status: 'succeeded', sent: true, firstAttemptAt: at('2026-11-29T10:00:03Z'), completedAt: at('2026-11-29T10:00:05Z') }),
      },
      { status: 'retrying', processedAt: null, deliveries: 10, messageDeliveries: { m1: 10 } },
    );
    const view = toEventView(event.id, doc);
    const lines = timelineOf(view).map((e) => e.what);
    assert.ok(lines.includes('dbt job 101: left for the next delivery, not before 2026-11-29T10:05:00.000Z (the service asked to wait: Retry-After)'), lines.join('\n'));
    assert.ok(lines.includes('dbt job 101: an earlier attempt may have acted without its outcome being recorded; the next attempt looks for a run it started before starting one'));
    assert.ok(lines.includes('Slack SLACK_WEBHOOK_URL: waiting until the dbt jobs it reports are started or failed for good'));
    assert.ok(lines.some((l) => l.startsWith('final alert to Slack SLACK_WEBHOOK_URL: sent')));
    assert.equal(lines.at(-1), 'outcome so far: retrying');
    assert.equal(actionSummary(view.actions.find((a) => a.kind === 'dbt')!), 'dbt job 101 retry (not before 2026-11-29T10:05:00Z, uncertain)');
    assert.equal(view.lastError, 'dbt job 101: dbt Cloud answered 429');
  });

  it('an action state this CLI does not know (a newer processor) is shown as stored, not dropped', () => {
    const { event, doc } = auditDocument({ 'dbt-job-101': action({ kind: 'dbt', target: '101', status: 'coalesced' as ActionStatus, lastAttemptAt: at('2026-11-29T10:00:03Z') }) });
    const view = toEventView(event.id, doc);
    assert.ok(timelineOf(view).some((e) => e.what === 'dbt job 101: coalesced'));
    assert.equal(actionSummary(view.actions[0]!), 'dbt job 101 coalesced');
  });

  it('a dbt job not started by this event (covered by a batch, coalesced, skipped or capped; issues 12, 26) says where the load went', () => {
    const holder = 'a1b2c3d4'.repeat(4);
    const { event, doc } = auditDocument({
      'dbt-job-101': action({ kind: 'dbt', target: '101', status: 'succeeded', completedAt: at('2026-11-29T10:00:03Z'), busy: { outcome: 'coalesced', runId: 70000003, runStatus: 'queued' } }),
      'dbt-job-102': action({ kind: 'dbt', target: '102', status: 'succeeded', completedAt: at('2026-11-29T10:00:04Z'), busy: { outcome: 'skipped', runId: 70000004, runStatus: 'running' } }),
      'dbt-job-103': action({ kind: 'dbt', target: '103', status: 'succeeded', completedAt: at('2026-11-29T10:00:05Z'), busy: { outcome: 'joined', holder, closesAt: '2026-11-29T10:00:05.500Z' } }),
      'dbt-job-104': action({ kind: 'dbt', target: '104', status: 'succeeded', completedAt: at('2026-11-29T10:00:06Z'), busy: { outcome: 'capped', cap: 'maxRunsPerDay', reason: 'at most 24 runs a day (24 started today, UTC)', until: '2026-11-30T00:00:00.000Z' } }),
    });
    const view = toEventView(event.id, doc);
    const lines = timelineOf(view).map((e) => e.what);
    assert.ok(lines.includes('dbt job 101: not started: coalesced into run 70000003 (queued)'), lines.join('\n'));
    assert.ok(lines.includes('dbt job 102: not started: skipped for run 70000004 (running)'), lines.join('\n'));
    assert.ok(lines.includes(`dbt job 103: not started by this event: covered by the run event ${holder} starts or joins (postload event ${holder})`), lines.join('\n'));
    assert.ok(lines.includes('dbt job 104: not started: run cap reached (at most 24 runs a day (24 started today, UTC))'), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes(': started')), 'never said to have started a run');
    assert.deepEqual(view.actions.map(actionSummary).sort(), [
      'dbt job 101 succeeded (coalesced → run 70000003)',
      'dbt job 102 succeeded (skipped → run 70000004)',
      'dbt job 103 succeeded (covered by a1b2c3d4)',
      'dbt job 104 succeeded (capped)',
    ]);
  });

  it('summarises each action in a line for the events table', () => {
    const { event, doc } = auditDocument({
      'dbt-job-101': { ...dbtJob, runOutcome } as ActionRecord,
      slack: action({ kind: 'slack', target: 'SLACK_WEBHOOK_URL', status: 'succeeded', sent: false }),
    });
    assert.deepEqual(toEventView(event.id, doc).actions.map(actionSummary).sort(), ['Slack SLACK_WEBHOOK_URL succeeded (nothing to send)', 'dbt job 101 succeeded (run 70000001 failed)']);
  });

  it('an invalid message (no SyncEvent) shows its source from the attributes and its problems as the last error', () => {
    // As dropInvalid records it (functions/processor/process-sync-event.ts).
    const view = toEventView('invalid-9', {
      kind: 'invalid',
      messageId: '9',
      problems: [{ field: '/type', message: 'must be equal to one of the allowed values' }],
      attributes: { source: 'fivetran', connectorId: 'orders' },
      status: 'invalid',
      deliveries: 1,
      firstDeliveredAt: at('2026-11-29T10:00:02Z'),
      processedAt: at('2026-11-29T10:00:03Z'),
      actions: {},
    });
    assert.deepEqual([view.type, view.source, view.connectorId], ['invalid message', 'fivetran', 'orders']);
    assert.equal(view.lastError, '/type must be equal to one of the allowed values');
    assert.deepEqual(timelineOf(view).map((e) => `${e.level} ${e.what}`), [
      'error delivered to the processor: not a valid SyncEvent (/type must be equal to one of the allowed values)',
      'error outcome: invalid',
    ]);
  });

  it('a refused message (not signed by postload) says so, with what was wrong with its signature', () => {
    // As dropRefused records it (functions/processor/process-sync-event.ts).
    const view = toEventView('refused-m-1', {
      kind: 'refused',
      messageId: 'm-1',
      problems: [{ field: 'attributes.postloadSignature', message: 'the message has no postloadSignature attribute' }],
      attributes: { source: 'fivetran', connectorId: 'orders' },
      status: 'invalid',
      deliveries: 1,
      firstDeliveredAt: at('2026-11-29T10:00:02Z'),
      processedAt: at('2026-11-29T10:00:03Z'),
      actions: {},
    });
    assert.equal(view.type, 'refused message');
    assert.deepEqual(timelineOf(view).map((e) => `${e.level} ${e.what}`), [
      'error delivered to the processor: refused, not signed by postload, nothing started (attributes.postloadSignature the message has no postloadSignature attribute)',
      'error outcome: invalid',
    ]);
  });

  it('property: any record the store can write is read without throwing, and its timeline is in time order with undated entries last', () => {
    const time = fc.option(fc.integer({ min: Date.parse('2026-01-01'), max: Date.parse('2027-01-01') }).map((ms) => Timestamp.fromMillis(ms)), { nil: null });
    const iso = fc.integer({ min: Date.parse('2026-01-01'), max: Date.parse('2027-01-01') }).map((ms) => new Date(ms).toISOString());
    const record = fc.record({
      kind: fc.constantFrom('dbt', 'slack', 'alert') as fc.Arbitrary<ActionRecord['kind']>,
      target: fc.constantFrom('101', 'SLACK_WEBHOOK_URL'),
      status: fc.constantFrom('pending', 'retry', 'waiting', 'succeeded', 'failed') as fc.Arbitrary<ActionStatus>,
      attempts: fc.nat(20),
      uncertain: fc.boolean(),
      notBefore: time,
      leaseUntil: time,
      firstAttemptAt: time,
      lastAttemptAt: time,
      completedAt: time,
      runId: fc.option(fc.integer({ min: 1 }), { nil: undefined }),
      sent: fc.option(fc.boolean(), { nil: undefined }),
      errors: fc.array(fc.record({ at: iso, attempt: fc.nat(20), kind: fc.constantFrom('transient', 'permanent') as fc.Arbitrary<'transient' | 'permanent'>, message: fc.string(), status: fc.option(fc.integer({ min: 400, max: 599 }), { nil: null }) }), { maxLength: 10 }),
      requestLog: fc.array(fc.oneof(fc.record({ at: iso, status: fc.integer({ min: 200, max: 599 }) }), fc.record({ at: iso, error: fc.string() })), { maxLength: 10 }),
    });
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z-]{1,12}$/), record, { maxKeys: 5 }), fc.constantFrom('received', 'retrying', 'processed', 'failed'), (actions, status) => {
        const { event, doc } = auditDocument(Object.fromEntries(Object.entries(actions).map(([id, a]) => [id, action(a)])), { status });
        const view = toEventView(event.id, doc);
        const times = timelineOf(view).map((e) => e.at?.getTime() ?? Infinity);
        assert.deepEqual(times, [...times].sort((a, b) => a - b));
        const newest = view.actions.flatMap((a) => a.errors).sort((a, b) => a.at!.getTime() - b.at!.getTime()).at(-1);
        if (newest) assert.ok(view.lastError?.endsWith(newest.message));
        view.actions.forEach((a) => assert.ok(actionSummary(a).includes(a.status)));
      }),
      { seed: 16, numRuns: 200 },
    );
  });

  it('a quarantined event shows what postload did not understand, and a Slack alert left to an earlier event says so', () => {
    // The record as the store writes it for a quarantined event (problems at the top).
    const event = syncEvent({
      type: 'quarantined',
      vendorEvent: 'sync_end',
      quarantine: { problems: [{ code: 'schema_violation', message: '/connector_id must be string', pointer: '/connector_id' }], payloadText: null },
    });
    const slack = action({ kind: 'slack', target: 'SLACK_WEBHOOK_URL', status: 'succeeded', sent: false, alreadyAlertedBy: ['e0'], firstAttemptAt: at('2026-11-29T10:00:03Z'), completedAt: at('2026-11-29T10:00:04Z') });
    const quarantined = { ...initialEventRecord(event, ['default']), status: 'processed', actions: { slack } };
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
