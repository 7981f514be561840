import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FollowedRun } from '../../../../functions/processor/store/followed-run.js';
import { followDeferred, followOpen, MAX_CHECK_INTERVAL_MS, MAX_FOLLOW_MS, type Observation } from '../../../../functions/sweep/runs/decide.js';

// The sweep's follow decisions (issue 28), pure: a run's end is recorded once and a failure
// alerted once whatever the ticks see after it; looks come at most 15 minutes apart; a run
// never ending is given up; a deferred batch starts one run only once what it waits behind ended.

const T0 = Date.parse('2026-12-01T10:00:00Z');
const JOB = 'projects/p-demo/locations/europe-west1/jobs/dbt-core';

function open(overrides: Partial<FollowedRun> = {}): FollowedRun {
  return {
    schemaVersion: 1,
    target: { kind: 'cloud-run', id: JOB },
    label: 'Cloud Run job dbt-core (europe-west1)',
    actionId: 'cloud-run-dbt-core-abc',
    route: 'core',
    fingerprint: 'f',
    state: 'open',
    runId: 'dbt-core-x7k2q',
    href: null,
    triggeredAt: new Date(T0).toISOString(),
    outcome: null,
    origin: { eventId: 'e1', source: 'fivetran', type: 'sync.succeeded', connectorId: 'c', connectorName: 'stripe', syncId: 's', occurredAt: new Date(T0).toISOString() },
    covers: [],
    logged: true,
    webhook: 'env:SLACK_WEBHOOK_URL',
    alert: null,
    checks: 0,
    lastCheckedAt: null,
    lastError: null,
    createdAt: new Date(T0).toISOString(),
    nextCheckAt: T0,
    ...overrides,
  } as FollowedRun;
}

const seen = (phase: 'waiting' | 'running' | 'ended', outcome?: 'succeeded' | 'failed' | 'cancelled'): Observation => ({
  kind: 'seen',
  status: { runId: 'dbt-core-x7k2q', phase, status: outcome ?? phase, startedAt: phase === 'waiting' ? null : new Date(T0 + 1000).toISOString(), finishedAt: outcome ? new Date(T0 + 60_000).toISOString() : null, message: outcome === 'failed' ? 'exit code 2' : null, href: null, ...(outcome ? { outcome } : {}) },
});

const observation = fc.oneof(
  fc.constant(seen('waiting')),
  fc.constant(seen('running')),
  fc.constantFrom<'succeeded' | 'failed' | 'cancelled'>('succeeded', 'failed', 'cancelled').map((o) => seen('ended', o)),
  fc.constant<Observation>({ kind: 'gone' }),
  fc.constant<Observation>({ kind: 'unavailable', error: '503' }),
);

describe('sweep/runs/decide (issue 28)', () => {
  it('a failed execution: its outcome and one alert; succeeded: the outcome, no alert; running: said once', () => {
    const failed = followOpen(open(), seen('ended', 'failed'), T0 + 120_000);
    assert.equal(failed.record.state, 'ended');
    assert.equal(failed.outcome?.status, 'failed');
    assert.equal(failed.outcome?.errorMessage, 'exit code 2');
    assert.equal(failed.outcome?.durationSeconds, 59);
    assert.equal(failed.alert, true);
    assert.deepEqual(failed.runLog, { startedAt: new Date(T0 + 1000).toISOString(), endedAt: new Date(T0 + 60_000).toISOString(), endStatus: 'failed' });
    const ok = followOpen(open(), seen('ended', 'succeeded'), T0 + 120_000);
    assert.equal(ok.outcome?.status, 'succeeded');
    assert.equal(ok.alert, false);
    assert.equal(ok.record.nextCheckAt, null, 'nothing left to do');
    const running = followOpen(open(), seen('running'), T0 + 5_000);
    assert.equal(running.outcome?.status, 'running');
    assert.equal(followOpen(running.record, seen('running'), T0 + 10_000).outcome, undefined, 'said once');
  });

  it('a run the target no longer knows, or one running past 8 days, ends unknown and is alerted', () => {
    assert.equal(followOpen(open(), { kind: 'gone' }, T0 + 1000).outcome?.status, 'unknown');
    const late = followOpen(open(), seen('running'), T0 + MAX_FOLLOW_MS + 1);
    assert.equal(late.outcome?.status, 'unknown');
    assert.equal(late.alert, true);
  });

  it('property: whatever the ticks see, an open run ends at most once, is alerted at most once, and is never looked at more than 15 minutes apart', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(observation, fc.integer({ min: 1_000, max: 3_600_000 })), { maxLength: 30 }), (ticks) => {
        let record = open();
        let now = T0;
        let ends = 0;
        let alerts = 0;
        for (const [seenNow, gap] of ticks) {
          now += gap;
          if (record.state !== 'open') break; // the task only follows open runs
          const decision = followOpen(record, seenNow, now);
          if (decision.outcome && decision.outcome.status !== 'running') ends++;
          if (decision.alert) alerts++;
          if (decision.record.state === 'open') assert.ok(decision.record.nextCheckAt! - now <= Math.max(MAX_CHECK_INTERVAL_MS, 0) || seenNow.kind === 'unavailable', 'a look at most 15 minutes away');
          record = decision.record;
        }
        assert.ok(ends <= 1 && alerts <= 1 && alerts <= ends);
        if (record.state === 'ended') assert.equal(alerts, record.outcome!.status === 'succeeded' ? 0 : 1);
      }),
    );
  });

  it('a deferred batch: waits while the execution runs, starts one when it ended, is covered by a run started after it decided', () => {
    const deferred = open({ state: 'deferred', runId: null, triggeredAt: null, behind: 'dbt-core-aaaaa', decidedAt: new Date(T0).toISOString() });
    assert.equal(followDeferred(deferred, seen('running'), [], 'tick', T0 + 1000).kind, 'wait');
    const start = followDeferred(deferred, seen('ended', 'succeeded'), [], 'tick', T0 + 1000);
    assert.equal(start.kind, 'start');
    assert.equal(start.record.state, 'starting');
    const covered = followDeferred(deferred, seen('running'), [{ runId: 'dbt-core-bbbbb', triggeredAt: new Date(T0 + 500).toISOString() }], 'tick', T0 + 1000);
    assert.deepEqual([covered.kind, covered.kind === 'covered' && covered.runId], ['covered', 'dbt-core-bbbbb']);
    assert.equal(followDeferred(deferred, seen('ended', 'succeeded'), [{ runId: 'old', triggeredAt: new Date(T0 - 500).toISOString() }], 'tick', T0 + 1000).kind, 'start', 'a run started before the batch decided does not cover it');
  });
});
