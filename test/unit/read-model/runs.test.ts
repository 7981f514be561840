import assert from 'node:assert/strict';
import { Timestamp } from '@google-cloud/firestore';
import fc from 'fast-check';
import { toEventView } from '../../../functions/read-model/audit-trail.js';
import type { EventCursor } from '../../../functions/read-model/event-query.js';
import { compareKeys, mergePages, startedRunsOf, type ListedRecord, type StreamPage } from '../../../functions/read-model/runs.js';

// The runs view merges two streams of the audit trail (runs postload started, by when; dbt
// Cloud runs it did not start, by their run events) under one cursor.

/** One stream read as the read model reads it: after the cursor, at most `limit` entries, or fewer when the read stops at `scan` records. */
function readStream(stream: ListedRecord[], cursor: EventCursor | undefined, limit: number, scan: number): StreamPage {
  const after = stream.filter((e) => !cursor || compareKeys(e.key, cursor) > 0);
  if (after.length <= Math.min(limit, scan)) return { entries: after };
  if (scan < limit) return { entries: after.slice(0, scan), stoppedAt: after[scan - 1]!.key };
  return { entries: after.slice(0, limit), stoppedAt: after[limit - 1]!.key };
}

const entry = (ms: number, id: string): ListedRecord => ({ key: { occurredAtMs: ms, id }, runs: [] });

describe('read-model: runs of every kind', () => {
  it('property: merged pages list every record of both streams once, newest first, whatever the page size and where a stream stops early', () => {
    const stream = (prefix: string) => fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 20 }).chain((ids) => fc.tuple(...ids.map((id) => fc.integer({ min: 0, max: 6 }).map((ms) => entry(ms, `${prefix}${String(id).padStart(2, '0')}`)))));
    fc.assert(
      fc.property(stream('r'), stream('s'), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), (reports, started, limit, scan) => {
        const [r, s] = [[...reports].sort((a, b) => compareKeys(a.key, b.key)), [...started].sort((a, b) => compareKeys(a.key, b.key))];
        const seen: string[] = [];
        let cursor: EventCursor | undefined;
        for (let pages = 0; pages < 200; pages++) {
          const page = mergePages([readStream(r, cursor, limit, 10), readStream(s, cursor, limit, scan)], limit);
          assert.ok(page.entries.length <= limit);
          seen.push(...page.entries.map((e) => e.key.id));
          if (!page.next) break;
          assert.ok(!cursor || compareKeys(page.next, cursor) > 0, 'the cursor moves on');
          cursor = page.next;
        }
        assert.deepEqual(seen, [...r, ...s].sort((a, b) => compareKeys(a.key, b.key)).map((e) => e.key.id));
      }),
    );
  });

  it('a load\'s runs: each run action with a run id, of any kind; `started` until an outcome is recorded on it; the load (and a join\'s upstreams) caused it', () => {
    const origin = toEventView('e1', {
      eventId: 'e1', source: 'fivetran', type: 'sync.succeeded', connectorId: 'orders', connectorName: 'orders_pg', occurredAt: Timestamp.fromMillis(1_000), runStartedAt: Timestamp.fromMillis(3_000),
      actions: {
        'dbt-job-101': { kind: 'dbt', target: '101', status: 'succeeded', runId: 7, runHref: 'https://cloud.getdbt.com/runs/7', completedAt: Timestamp.fromMillis(2_000), runOutcome: { status: 'failed', startedAt: '1970-01-01T00:00:02Z', finishedAt: '1970-01-01T00:00:09Z', durationSeconds: 7, errorMessage: 'boom', eventId: 'r1' } },
        'cloud-run-dbt': { kind: 'cloud-run', target: 'projects/p/locations/r/jobs/dbt', status: 'succeeded', runId: 'projects/p/locations/r/jobs/dbt/executions/x1', completedAt: Timestamp.fromMillis(3_000) },
        'dbt-job-102': { kind: 'dbt', target: '102', status: 'succeeded', busy: { outcome: 'coalesced', runId: 8 }, completedAt: Timestamp.fromMillis(3_000) },
        slack: { kind: 'slack', target: 'SLACK_WEBHOOK_URL', status: 'succeeded', completedAt: Timestamp.fromMillis(3_000) },
      },
    });
    const runs = startedRunsOf(origin);
    assert.deepEqual(
      runs.map((r) => [r.kind, r.target, r.runId, r.status, r.durationSeconds, r.errorMessage, r.reportedBy, r.triggeredAt?.getTime(), r.listedAt?.getTime(), r.href]),
      [
        ['dbt-cloud', '101', '7', 'failed', 7, 'boom', 'r1', 2_000, 3_000, 'https://cloud.getdbt.com/runs/7'],
        ['cloud-run', 'projects/p/locations/r/jobs/dbt', 'projects/p/locations/r/jobs/dbt/executions/x1', 'started', null, null, null, 3_000, 3_000, null],
      ],
    );
    assert.deepEqual(runs[1]!.causes.map((c) => [c.eventId, c.how, c.connector]), [['e1', 'started it', 'orders_pg']]);
  });

  it('a load deferred behind a running Cloud Run execution: the execution the sweep started for it is its run; one started since that covers it is not', () => {
    const deferred = (covered: boolean) =>
      startedRunsOf(
        toEventView('e2', {
          eventId: 'e2', source: 'fivetran', type: 'sync.succeeded', runStartedAt: Timestamp.fromMillis(7_000),
          actions: { 'cloud-run-dbt': { kind: 'cloud-run', target: 'projects/p/locations/r/jobs/dbt', status: 'succeeded', busy: { outcome: 'deferred' }, deferredRun: { runId: 'dbt-x9', href: 'https://console/x9', covered, at: '1970-01-01T00:00:07Z' }, runOutcome: { status: 'succeeded', durationSeconds: 30 } } },
        }),
      );
    assert.deepEqual(deferred(false).map((r) => [r.kind, r.runId, r.status, r.durationSeconds, r.triggeredAt?.getTime(), r.href, r.causes[0]?.eventId]), [['cloud-run', 'dbt-x9', 'succeeded', 30, 7_000, 'https://console/x9', 'e2']]);
    assert.deepEqual(deferred(true), []);
  });
});
