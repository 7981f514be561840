import assert from 'node:assert/strict';
import { Timestamp } from '@google-cloud/firestore';
import fc from 'fast-check';
import { toEventView } from '../../../functions/read-model/audit-trail.js';
import { byUrgency, toConnectorView } from '../../../functions/read-model/connectors.js';
import { decodeCursor, encodeCursor, matchesFilter, pushedDown } from '../../../functions/read-model/event-query.js';
import { toJoinView } from '../../../functions/read-model/joins.js';
import { deadLetterKey, groupProblems, problemKey } from '../../../functions/read-model/problems.js';
import { causesFrom, finalEventIds, toRunView } from '../../../functions/read-model/runs.js';
import { eventId } from '../../../functions/ingest/event-id.js';
import { describeExpectation } from '../../../functions/sweep/freshness/expectation.js';

describe('read-model: views of stored documents', () => {
  it('cursors round-trip, and anything else is refused rather than misread', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.string({ minLength: 1, maxLength: 200 }), (ms, id) => {
        assert.deepEqual(decodeCursor(encodeCursor({ occurredAtMs: ms, id })), { occurredAtMs: ms, id });
      }),
    );
    for (const bad of ['', 'not base64!', Buffer.from('[1]').toString('base64url'), Buffer.from('["x","y"]').toString('base64url'), Buffer.from('[1.5,"y"]').toString('base64url'), 'a'.repeat(3000)]) {
      assert.equal(decodeCursor(bad), undefined, bad);
    }
  });

  it('the most selective filter goes to Firestore; every filter, time and text is checked on the records read', () => {
    assert.equal(pushedDown({ source: 'fivetran', type: 'sync.failed', connector: 'c' }), 'connector');
    assert.equal(pushedDown({ source: 'fivetran', outcome: 'failed' }), 'source');
    assert.equal(pushedDown({}), undefined);
    const view = toEventView('e1', { eventId: 'e1', source: 'airbyte', type: 'sync.failed', connectorId: 'c1', connectorName: 'Billing', syncStatus: 'failed', status: 'processed', occurredAt: Timestamp.fromMillis(1_000), event: { error: { message: 'Could not connect' } } });
    const base = { since: new Date(0), limit: 1 };
    assert.ok(matchesFilter(view, { ...base, source: 'airbyte', type: 'sync.failed', status: 'failed', outcome: 'processed', connector: 'c1', text: 'COULD NOT' }));
    assert.ok(matchesFilter(view, { ...base, text: 'billing' }));
    assert.ok(!matchesFilter(view, { ...base, source: 'fivetran' }));
    assert.ok(!matchesFilter(view, { ...base, until: new Date(1_000) }), 'until is exclusive');
    assert.ok(!matchesFilter(view, { ...base, since: new Date(1_001) }));
  });

  it('a connector: the strip is its last 14 finished syncs oldest first; state from the sweep, else failing when its latest sync failed', () => {
    const syncs = Array.from({ length: 16 }, (_, i) => ({ eventId: `e${i}`, type: i % 4 === 0 ? 'sync.failed' : 'sync.succeeded', status: 'x', occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 60 - i)).toISOString() }));
    const view = toConnectorView('fivetran-c', { source: 'fivetran', connectorId: 'c', latestStatus: 'failed', recentSyncs: syncs }, undefined);
    assert.deepEqual(view.strip.map((s) => s.eventId), syncs.slice(0, 14).map((s) => s.eventId).reverse());
    assert.equal(view.health, 'failing');
    const judged = toConnectorView('fivetran-c', { source: 'fivetran', connectorId: 'c', latestStatus: 'failed' }, { state: 'overdue', expectation: { kind: 'every', everyMs: 6 * 3_600_000, graceMs: 1_800_000, source: 'fivetran', detail: 'Fivetran sync_frequency 360' }, expectedBy: Timestamp.fromMillis(5) });
    assert.equal(judged.health, 'overdue');
    assert.equal(judged.freshness?.expectationSource, 'fivetran');
    assert.equal(judged.freshness?.expectation, describeExpectation({ kind: 'every', everyMs: 6 * 3_600_000, graceMs: 1_800_000, source: 'fivetran', detail: '' }));
    assert.equal(judged.freshness?.expectationDetail, 'Fivetran sync_frequency 360');
    assert.equal(judged.freshness?.expectedBy?.getTime(), 5);
    // Where the sweep expects nothing (unknown), a failed latest sync still needs attention; a judgement of its own stands.
    assert.equal(toConnectorView('fivetran-c', { connectorId: 'c', latestStatus: 'failed' }, { state: 'unknown' }).health, 'failing');
    assert.equal(toConnectorView('fivetran-c', { connectorId: 'c', latestStatus: 'succeeded' }, { state: 'unknown' }).health, 'unknown');
    assert.equal(toConnectorView('fivetran-c', { connectorId: 'c', latestStatus: 'failed' }, { state: 'paused' }).health, 'paused');
    const names = ['late', 'fresh', 'failing', 'overdue', 'unknown'].map((state, i) => toConnectorView(`d${i}`, { connectorId: `c${i}` }, { state }));
    assert.deepEqual(names.sort(byUrgency).map((c) => c.health), ['failing', 'overdue', 'late', 'unknown', 'fresh']);
  });

  it('a join: present and missing upstreams, waiting since the oldest success, stale at that success plus within', () => {
    const view = toJoinView('finance mart', {
      join: 'finance mart', jobId: '401', within: 'PT6H', round: 2,
      upstreams: { salesforce: { success: { eventId: 's', connector: 'sf', source: 'fivetran', occurredAt: '2026-01-01T10:00:00Z' }, failure: null }, billing: { success: null, failure: { eventId: 'f', connector: 'b', occurredAt: '2026-01-01T11:00:00Z', since: '2026-01-01T09:00:00Z', count: 3, message: 'down' } } },
      firings: [{ round: 2, firedAt: '2026-01-01T08:00:00Z', eventId: 'x' }],
      runs: { '2': { outcome: 'triggered', runId: 7, at: '2026-01-01T08:00:01Z' } },
    });
    assert.deepEqual([view.present, view.missing, view.waiting], [['salesforce'], ['billing'], true]);
    assert.equal(view.deadline?.toISOString(), '2026-01-01T16:00:00.000Z');
    assert.equal(view.upstreams.find((u) => u.name === 'billing')?.failure?.count, 3);
    assert.equal(view.lastFiring?.run?.id, 7);
  });

  it('problems group by what differs only in ids, times and long numbers; the newest text heads the group', () => {
    assert.equal(problemKey('dbt job 101: HTTP 503 for run 70000001 at 2026-01-01T00:00:00.5Z'), problemKey('dbt job 101: HTTP 503 for run 70000099 at 2026-02-01T10:00:00Z'));
    assert.notEqual(problemKey('dbt job 101: HTTP 503'), problemKey('dbt job 102: HTTP 503'));
    assert.notEqual(problemKey('HTTP 503'), problemKey('HTTP 401'));
    const events = ['run 100001 failed: 503', 'run 100002 failed: 503', 'token revoked'].map((e, i) =>
      toEventView(`e${i}`, { eventId: `e${i}`, occurredAt: Timestamp.fromMillis(i * 1000), actions: { a: { kind: 'dbt', target: '1', status: 'retry', lastError: e } } }),
    );
    const groups = groupProblems(events, deadLetterKey, (m) => m.map((e) => e.eventId), (e) => e.lastError);
    assert.deepEqual(groups.map((g) => [g.count, g.commands]), [[2, ['e1', 'e0']], [1, ['e2']]]);
    assert.equal(groups[0]!.problem, 'dbt job 1: run 100002 failed: 503');
  });

  it('a run: from its run event, with the load that started it and, for a join, the upstreams; its final events\' ids as ingest makes them', () => {
    const origin = 'a'.repeat(32);
    const report = toEventView('r1', { eventId: 'r1', source: 'dbt-cloud', type: 'transformation.failed', occurredAt: Timestamp.fromMillis(9), connectorId: '401', syncId: '77', event: { transformation: { accountId: '1', jobId: '401', runId: '77', cause: `load done [event ${origin}]` }, sync: { durationSeconds: 12 }, error: { message: 'boom' } } });
    const run = toRunView(report)!;
    assert.deepEqual([run.status, run.target, run.runId, run.durationSeconds, run.errorMessage, run.originEventId], ['failed', '401', '77', 12, 'boom', origin]);
    const load = toEventView(origin, {
      eventId: origin, source: 'airbyte', type: 'sync.succeeded', connectorName: 'billing',
      actions: { 'dbt-job-401': { kind: 'dbt', target: '401', status: 'succeeded', runId: 77, runHref: 'https://x/runs/77' } },
      joins: { 'finance mart': { outcome: 'fired', upstreams: ['billing'], firing: { round: 1, upstreams: { billing: { eventId: origin, connector: 'billing', occurredAt: '2026-01-01T00:00:00Z' }, salesforce: { eventId: 'b'.repeat(32), connector: 'sf', occurredAt: '2026-01-01T00:00:00Z' } } } } },
    });
    const { causes, href } = causesFrom(run, load);
    assert.equal(href, 'https://x/runs/77');
    assert.deepEqual(causes.map((c) => [c.eventId, c.how]), [[origin, 'completed join finance mart'], ['b'.repeat(32), 'upstream salesforce of join finance mart']]);
    assert.deepEqual(finalEventIds('1', '77'), ['succeeded', 'failed', 'cancelled'].map((o) => eventId(['dbt-cloud', '1', '77', o])));
  });
});
