// What the sweep does with one followed run, given what the target said: pure. The task
// (task.ts) reads the records due, asks the targets, calls these, and commits the result,
// guarded by the update time it read (an overlapping tick that wrote first wins; this one
// reads again next time), so a run's end is recorded, and its failure alerted, once.
import type { FollowedStatus } from '../../processor/targets/run-target.js';
import type { FollowedOutcome, FollowedRun } from '../../processor/store/followed-run.js';

/** A run still not ended this long after it started is given up (Cloud Run's longest task is 168 h). */
export const MAX_FOLLOW_MS = 8 * 86_400_000;
/** Checks come every tick at first, then further apart, never more than this apart. */
export const MAX_CHECK_INTERVAL_MS = 15 * 60_000;
/** A deferred start claimed by a tick is another tick's after this long. */
export const START_LEASE_MS = 5 * 60_000;

export type Observation = { kind: 'seen'; status: FollowedStatus } | { kind: 'gone' } | { kind: 'unavailable'; error: string; retryAfterMs?: number };

export interface FollowDecision {
  record: FollowedRun;
  /** The outcome to write on the originating action, when it changed. */
  outcome?: FollowedOutcome;
  /** This run's fields in the target's run log (when it keeps the run). */
  runLog?: { startedAt?: string; endedAt?: string; endStatus?: string };
  /** A failure to alert: claimed in the same commit, sent after it. */
  alert: boolean;
}

/**
 * The next look at an open run: each tick while it is young, then a quarter of its age
 * apart (a run that took an hour is asked every 15 minutes), so a long run costs a handful
 * of calls, and the end of a short one is seen a tick after it happens.
 */
export function nextCheckAt(record: Pick<FollowedRun, 'triggeredAt' | 'createdAt'>, nowMs: number): number {
  const since = Date.parse(record.triggeredAt ?? record.createdAt);
  const age = Number.isNaN(since) ? 0 : Math.max(0, nowMs - since);
  return nowMs + Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(age / 4));
}

/** An open run after one look. */
export function followOpen(record: FollowedRun, observation: Observation, nowMs: number): FollowDecision {
  const at = new Date(nowMs).toISOString();
  const checked = { ...record, checks: record.checks + 1, lastCheckedAt: at };
  if (observation.kind === 'unavailable') {
    return { record: { ...checked, lastError: observation.error, nextCheckAt: Math.max(nowMs + (observation.retryAfterMs ?? 0), nextCheckAt(record, nowMs)) }, alert: false };
  }
  const started = Date.parse(record.triggeredAt ?? record.createdAt);
  if (observation.kind === 'gone' || (!observation.status.outcome && nowMs - started > MAX_FOLLOW_MS)) {
    const why = observation.kind === 'gone' ? `${record.label} no longer knows run ${record.runId}` : `run ${record.runId} had not ended ${Math.round(MAX_FOLLOW_MS / 86_400_000)} days after it started; postload stopped following it`;
    const outcome: FollowedOutcome = { status: 'unknown', startedAt: record.outcome?.startedAt ?? null, finishedAt: null, durationSeconds: null, errorMessage: why, targetStatus: observation.kind === 'gone' ? 'gone' : (observation.status.status ?? null), observedBy: 'sweep', recordedAt: at };
    return ended(checked, outcome, false);
  }
  const status = observation.status;
  if (status.outcome) {
    const startedAt = status.startedAt ?? record.outcome?.startedAt ?? null;
    const outcome: FollowedOutcome = {
      status: status.outcome,
      startedAt,
      finishedAt: status.finishedAt ?? at,
      durationSeconds: startedAt ? Math.max(0, Math.round((Date.parse(status.finishedAt ?? at) - Date.parse(startedAt)) / 1000)) : null,
      errorMessage: status.outcome === 'succeeded' ? null : (status.message ?? null),
      targetStatus: status.status,
      observedBy: 'sweep',
      recordedAt: at,
    };
    return ended(checked, outcome, status.outcome !== 'succeeded');
  }
  const next = { ...checked, lastError: null, nextCheckAt: nextCheckAt(record, nowMs), ...(status.href ? { href: status.href } : {}) };
  // Running: said once, on the record and the action (the dbt Cloud loop's `started`).
  if (status.phase === 'running' && record.outcome?.status !== 'running') {
    const outcome: FollowedOutcome = { status: 'running', startedAt: status.startedAt ?? at, finishedAt: null, durationSeconds: null, errorMessage: null, targetStatus: status.status, observedBy: 'sweep', recordedAt: at };
    return { record: { ...next, outcome }, outcome, ...(record.logged ? { runLog: { startedAt: outcome.startedAt! } } : {}), alert: false };
  }
  return { record: next, alert: false };
}

function ended(record: FollowedRun, outcome: FollowedOutcome, failed: boolean): FollowDecision {
  const alert = failed || outcome.status === 'unknown';
  return {
    record: {
      ...record,
      state: 'ended',
      outcome,
      lastError: null,
      alert: alert ? { state: 'pending', claimedBy: null, leaseUntil: null, attempts: 0, lastError: null } : null,
      nextCheckAt: alert ? Date.parse(outcome.recordedAt) : null,
    },
    outcome,
    ...(record.logged ? { runLog: { ...(outcome.startedAt ? { startedAt: outcome.startedAt } : {}), endedAt: outcome.finishedAt ?? outcome.recordedAt, endStatus: outcome.status } } : {}),
    alert,
  };
}

/** What a deferred batch does once the execution it waits behind was looked at. */
export type DeferredDecision =
  /** Still running: look again later. */
  | { kind: 'wait'; record: FollowedRun }
  /** A run postload started for the same work after this batch decided covers it: nothing to start. */
  | { kind: 'covered'; runId: string; record: FollowedRun }
  /** It ended: start one execution now (claimed by this tick until the lease ends). */
  | { kind: 'start'; record: FollowedRun };

/**
 * A deferred batch (Cloud Run under coalesce) after a look at what it waits behind, and at
 * the runs postload started of the same target and options since (the run log): a run
 * triggered after the batch decided was started after all its loads arrived, so it reads
 * them, and nothing more is started.
 */
export function followDeferred(record: FollowedRun, behind: Observation, laterRuns: Array<{ runId: string; triggeredAt: string }>, tickId: string, nowMs: number): DeferredDecision {
  const decided = Date.parse(record.decidedAt ?? record.createdAt);
  const cover = laterRuns.filter((run) => Date.parse(run.triggeredAt) > decided).sort((a, b) => Date.parse(a.triggeredAt) - Date.parse(b.triggeredAt))[0];
  const at = new Date(nowMs).toISOString();
  const checked = { ...record, checks: record.checks + 1, lastCheckedAt: at };
  if (cover) return { kind: 'covered', runId: cover.runId, record: { ...checked, state: 'ended', runId: cover.runId, nextCheckAt: null, lastError: null } };
  if (behind.kind === 'unavailable') return { kind: 'wait', record: { ...checked, lastError: behind.error, nextCheckAt: nowMs + Math.max(behind.retryAfterMs ?? 0, 60_000) } };
  const over = behind.kind === 'gone' || behind.status.phase === 'ended';
  if (!over) return { kind: 'wait', record: { ...checked, lastError: null, nextCheckAt: nextCheckAt({ triggeredAt: null, createdAt: record.decidedAt ?? record.createdAt }, nowMs) } };
  return { kind: 'start', record: { ...checked, state: 'starting', leaseUntil: nowMs + START_LEASE_MS, lastError: null, nextCheckAt: nowMs + START_LEASE_MS } };
}
