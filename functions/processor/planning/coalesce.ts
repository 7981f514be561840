import { isActive, isWaiting, MAX_COALESCED_IDS, type JobSlot, type RunStatus } from './job-state.js';

/** The routing schema's `onBusy`. */
export type BusyPolicy = 'coalesce' | 'queue' | 'skip';
export const DEFAULT_BUSY_POLICY: BusyPolicy = 'coalesce';

export function busyPolicyOf(job: { onBusy?: BusyPolicy }): BusyPolicy {
  return job.onBusy ?? DEFAULT_BUSY_POLICY;
}

/**
 * dbt Cloud's list-runs answer for the job, asked with `status__in=[1,2,3]` (queued,
 * starting, running) and `job_definition_id`: the active runs and their statuses.
 */
export interface ActiveRunsObservation {
  runs: ReadonlyMap<number, RunStatus>;
}

export interface BusyContext {
  eventId: string;
  now: Date;
  /** How long a trigger lease lasts: the action's lease (ACTION_LEASE_SECONDS). */
  leaseMs: number;
  /**
   * dbt Cloud's list may not show a run triggered this recently yet (it lists what its database has committed; a trigger's answer can come first): a
   * run postload triggered less than this long ago and missing from the list is taken to
   * be still queued.
   */
  listLagMs: number;
  /** The list-runs answer, once the decision asked for it (`confirm`). */
  observed?: ActiveRunsObservation;
}

export type BusyDecision =
  /** Write `slot` (it holds this event's trigger lease, except under queue), then trigger. */
  | { kind: 'trigger'; slot: JobSlot; reason: TriggerReason }
  /** Write `slot`; the event's action is done: coalesced into `runId`. */
  | { kind: 'coalesce'; runId: number; slot: JobSlot }
  /** Write `slot`; the event's action is done: skipped because `runId` is `status`. */
  | { kind: 'skip'; runId: number; status: RunStatus; slot: JobSlot }
  /** Nothing to write: this event already triggered `runId` (a redelivery). */
  | { kind: 'triggered'; runId: number }
  /** Ask dbt Cloud's list-runs (status__in=[1,2,3]) outside the transaction, then decide again with `observed`. */
  | { kind: 'confirm'; runId: number }
  /** Another event is triggering this job with these options right now: redeliver after `retryAfterMs`. */
  | { kind: 'wait'; holder: string; retryAfterMs: number };

export type TriggerReason = 'queue' | 'idle' | 'running' | 'finished' | 'lease-expired' | 'own-lease';

/**
 * What to do with one event's dbt job action, given the job's state for the action's
 * options. Pure: the caller reads the slot in its claim transaction, and writes the
 * returned slot in the same transaction.
 *
 * - queue: always trigger.
 * - coalesce: a waiting (queued or starting) run absorbs the event; a running, finished
 *   or unknown run gets a new one.
 * - skip: an active (queued, starting or running) run absorbs the event; otherwise trigger.
 * A waiting or active run is confirmed with dbt Cloud before the event is merged into it,
 * since postload's record may be behind (no webhook for a run that started).
 */
export function decideBusy(policy: BusyPolicy, current: JobSlot, ctx: BusyContext): BusyDecision {
  const { eventId, now } = ctx;
  const run = current.run;
  if (run?.eventId === eventId) return { kind: 'triggered', runId: run.id };
  if (policy === 'queue') return { kind: 'trigger', slot: current, reason: 'queue' };

  const lease = current.trigger;
  // A redelivery of the event that was triggering: carry on (the trigger itself looks for
  // the run it may already have started).
  if (lease?.eventId === eventId) return trigger(current, eventId, ctx, 'own-lease');
  const leaseLeft = lease ? Date.parse(lease.leaseUntil) - now.getTime() : 0;
  if (lease && leaseLeft > 0) return { kind: 'wait', holder: lease.eventId, retryAfterMs: leaseLeft };

  if (run) {
    if (run.coalesced.includes(eventId)) return merged(policy, current);
    const mergeable = policy === 'skip' ? isActive : isWaiting;
    if (mergeable(run.status)) {
      if (!ctx.observed) return { kind: 'confirm', runId: run.id };
      const status = observedStatus(run.triggeredAt, ctx.observed.runs.get(run.id), ctx);
      const seen: JobSlot = { ...current, run: { ...run, status, statusAt: now.toISOString() } };
      if (mergeable(status)) return merged(policy, absorb(seen, eventId));
      return trigger(seen, eventId, ctx, status === 'running' ? 'running' : 'finished');
    }
    return trigger(current, eventId, ctx, run.status === 'running' ? 'running' : 'finished');
  }
  return trigger(current, eventId, ctx, lease ? 'lease-expired' : 'idle');
}

/** The slot after this event's trigger answered with a run: the run is queued, the lease released. */
export function recordTriggered(slot: JobSlot, eventId: string, runId: number, now: Date): JobSlot {
  const at = now.toISOString();
  return {
    ...slot,
    run: { id: runId, eventId, triggeredAt: at, status: 'queued', statusAt: at, coalesced: [], coalescedCount: 0 },
    trigger: slot.trigger?.eventId === eventId ? null : slot.trigger,
  };
}

/** The slot after this event's trigger failed for good: its lease is released, nothing else changes. */
export function releaseTrigger(slot: JobSlot, eventId: string): JobSlot {
  return slot.trigger?.eventId === eventId ? { ...slot, trigger: null } : slot;
}

/**
 * The slot after learning a run's status (a dbt Cloud webhook, a get-run answer). Only the
 * tracked run is updated, and only with news newer than what is recorded.
 */
export function observeRun(slot: JobSlot, runId: number, status: RunStatus, at: Date): JobSlot {
  const run = slot.run;
  if (!run || run.id !== runId || at.getTime() < Date.parse(run.statusAt)) return slot;
  return { ...slot, run: { ...run, status, statusAt: at.toISOString() } };
}

function observedStatus(triggeredAt: string, listed: RunStatus | undefined, ctx: BusyContext): RunStatus {
  if (listed) return listed;
  // Not listed as active: finished, unless it was triggered so recently that the list lags.
  return ctx.now.getTime() - Date.parse(triggeredAt) < ctx.listLagMs ? 'queued' : 'ended';
}

function absorb(slot: JobSlot, eventId: string): JobSlot {
  const run = slot.run!;
  const coalesced = run.coalesced.length < MAX_COALESCED_IDS ? [...run.coalesced, eventId] : run.coalesced;
  return { ...slot, run: { ...run, coalesced, coalescedCount: run.coalescedCount + 1 } };
}

function merged(policy: BusyPolicy, slot: JobSlot): BusyDecision {
  const run = slot.run!;
  return policy === 'skip' ? { kind: 'skip', runId: run.id, status: run.status, slot } : { kind: 'coalesce', runId: run.id, slot };
}

function trigger(slot: JobSlot, eventId: string, ctx: BusyContext, reason: TriggerReason): BusyDecision {
  const since = slot.trigger?.eventId === eventId ? slot.trigger.since : ctx.now.toISOString();
  const leaseUntil = new Date(ctx.now.getTime() + ctx.leaseMs).toISOString();
  return { kind: 'trigger', slot: { ...slot, trigger: { eventId, since, leaseUntil } }, reason };
}
