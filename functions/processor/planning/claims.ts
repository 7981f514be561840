// Which of an event's actions this delivery may perform, and what the event's status is
// afterwards. Pure: the store reads the audit record, these functions decide, the store
// writes. "Why did this job not start?" is answered here.

/** pending: held by a delivery at work; retry: failed transiently; waiting: a message held back until the jobs it reports are settled; succeeded/failed: final. */
export type ActionStatus = 'pending' | 'retry' | 'waiting' | 'succeeded' | 'failed';

/** `slack` and `alert` are messages; every other kind is a run target's (`dbt` for dbt Cloud jobs). */
export type ActionKind = 'slack' | 'alert' | (string & {});

/** A run target's action (a dbt Cloud job), as opposed to a message. */
export function isRunAction(kind: ActionKind): boolean {
  return kind !== 'slack' && kind !== 'alert';
}

/** The parts of a recorded action the decisions read (times in epoch milliseconds). */
export interface ActionView {
  status: ActionStatus;
  claimedBy: string | null;
  leaseUntilMs: number | null;
  notBeforeMs: number | null;
  attempts: number;
  uncertain: boolean;
}

export interface PlannedAction {
  actionId: string;
  kind: ActionKind;
}

/**
 * claim: this delivery performs it (checkFirst: an earlier attempt may have acted, look
 * before acting; takenOver: the previous holder's lease ran out while it was pending, so
 * it may have acted without recording it).
 * done: final already. busy: another delivery holds a live claim. deferred: the service
 * asked us to wait (Retry-After) until notBefore. wait: a message that must wait for the
 * event's dbt jobs to be started or failed for good.
 */
export type ClaimDecision =
  | { decision: 'claim'; attempt: number; checkFirst: boolean; takenOver: boolean }
  | { decision: 'done' | 'busy' | 'wait' }
  | { decision: 'deferred'; notBeforeMs: number };

export function isFinal(status: ActionStatus | undefined): boolean {
  return status === 'succeeded' || status === 'failed';
}

/** Decides every planned action for one delivery. Runs first; messages only when no run is left to another delivery or to later. */
export function decideClaims(planned: PlannedAction[], existing: Record<string, ActionView | undefined>, deliveryId: string, nowMs: number): Map<string, ClaimDecision> {
  const decisions = new Map<string, ClaimDecision>();
  for (const action of planned.filter((a) => isRunAction(a.kind))) decisions.set(action.actionId, decideOne(existing[action.actionId], deliveryId, nowMs));
  const jobsOpen = [...decisions.values()].some((d) => d.decision === 'busy' || d.decision === 'deferred');
  for (const action of planned.filter((a) => !isRunAction(a.kind))) {
    const one = decideOne(existing[action.actionId], deliveryId, nowMs);
    // A message about jobs that another delivery (or a later one) is still starting would be a half-truth.
    decisions.set(action.actionId, one.decision === 'claim' && action.kind === 'slack' && jobsOpen ? { decision: 'wait' } : one);
  }
  return decisions;
}

function decideOne(previous: ActionView | undefined, deliveryId: string, nowMs: number): ClaimDecision {
  if (!previous) return { decision: 'claim', attempt: 1, checkFirst: false, takenOver: false };
  if (isFinal(previous.status)) return { decision: 'done' };
  const heldElsewhere = previous.status === 'pending' && previous.claimedBy !== deliveryId;
  if (heldElsewhere && (previous.leaseUntilMs ?? 0) > nowMs) return { decision: 'busy' };
  if (previous.notBeforeMs !== null && previous.notBeforeMs > nowMs) return { decision: 'deferred', notBeforeMs: previous.notBeforeMs };
  const takenOver = heldElsewhere;
  const attempt = previous.attempts + 1;
  return { decision: 'claim', attempt, checkFirst: attempt > 1 || previous.uncertain || takenOver, takenOver };
}

/** What a delivery ends with, from every planned action's state after it. */
export function eventStatus(states: ActionStatus[]): 'processed' | 'failed' | 'retrying' {
  if (states.some((s) => !isFinal(s))) return 'retrying';
  return states.includes('failed') ? 'failed' : 'processed';
}

/** Final statuses are never replaced by a later delivery's view. */
export function mergeEventStatus(current: string | undefined, next: string): string {
  if (current === 'processed' || current === 'failed' || current === 'invalid') return current;
  return next;
}
