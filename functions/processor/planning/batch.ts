// Coalescing without waiting (issue 26): which delivery talks to a run target, and what
// every other event that needs the same run records instead. Pure: the flow reads the
// target's lease document and run log in the event's claim read, calls decideAtClaim,
// writes what it returns in the claim commit; the holder then waits for its batch to
// close, looks at the target once (observationFor), calls decideBatch, acts, and settles
// the run log with batchOutcome. ORCHESTRATION.md has the argument for why this is safe.
import type { BusyPolicy, ObservedRun, RunId, RunLimits, RunObservation } from '../targets/run-target.js';
import { capAt, type CapVerdict, type RunsSoFar } from './run-limits.js';
import {
  loggedPhase,
  MAX_BATCHES_KEPT,
  MAX_DAYS_KEPT,
  MAX_RUNS_KEPT,
  utcDay,
  type BatchOutcome,
  type BatchRecord,
  type LoggedRun,
  type TargetLeaseDoc,
  type TargetRunLogDoc,
} from './target-state.js';
import type { TargetKey } from '../targets/run-target.js';

/** At most this many older batches still unsettled are looked for at the target. */
const MAX_PENDING_HOLDERS = 5;

/**
 * The shortest a batch stays open, also after a quiet spell: the loads pushed at the same
 * instant as the first one (a burst's first wave) read the lease document before its open
 * landed, lose the race to open it, and read again a round trip later; this lets them join
 * instead of racing again for the next batch. It is all a single load waits.
 */
export const MIN_BATCH_MS = 200;

export interface ClaimInputs {
  eventId: string;
  target: TargetKey;
  policy: BusyPolicy;
  limits: RunLimits | undefined;
  fingerprint: string;
  options: Record<string, unknown>;
  /** Firestore's time of the claim read. */
  readTimeMs: number;
  /**
   * Firestore's time of this delivery's first claim read (its earlier attempts lost a
   * commit race): the event was accepted by then. Defaults to readTimeMs.
   */
  firstReadTimeMs?: number;
  /** COALESCE_WINDOW_MS: batches of one option set close at least this far apart. */
  windowMs: number;
  lease: TargetLeaseDoc | undefined;
  runLog: TargetRunLogDoc | undefined;
  /** The batch this event opened on an earlier delivery (from its audit record): it stays its holder. */
  ownBatch: BatchRecord | undefined;
}

export type ClaimVerdict =
  /** `queue` without limits: start a run now; nothing shared is written. */
  | { kind: 'start' }
  /** `queue` with limits: a run is reserved in the lease document (written in the claim commit); start it. */
  | { kind: 'reserve'; lease: TargetLeaseDoc }
  /** `queue` with limits reached: no run. `lease` (when set) records that this event sends the day's alert. */
  | { kind: 'capped'; cap: CapVerdict; alert: boolean; lease?: TargetLeaseDoc }
  /** Covered: the batch's holder decides for this event too. Done in the claim commit. */
  | { kind: 'join'; batch: BatchRecord }
  /**
   * This delivery holds the batch's trigger lease: wait until it closes, then decide. `lease`
   * (when set) opens the batch in the claim commit. `cap`: the limits are reached already
   * (they only tighten), so the batch is capped whatever the target says; `alert` when this
   * event sends the day's alert.
   */
  | { kind: 'hold'; batch: BatchRecord; lease?: TargetLeaseDoc; cap?: CapVerdict; alert: boolean };

/**
 * What one event's run action comes to at its claim read.
 *
 * - `queue`: start now (with limits: reserve first, serialised on the lease document).
 * - `coalesce` / `skip`: if the slot's newest batch was open at this delivery's first read
 *   (read before it closes), join it; otherwise open the next batch and hold it. A batch closes
 *   COALESCE_WINDOW_MS after the previous one closed, or MIN_BATCH_MS after it opened when
 *   the target was idle, so a single load waits at most that and a burst opens one batch
 *   per window.
 */
export function decideAtClaim(input: ClaimInputs): ClaimVerdict {
  const { eventId, policy, readTimeMs, windowMs, lease, runLog, ownBatch } = input;
  const today = utcDay(readTimeMs);
  if (policy === 'queue') {
    if (!input.limits) return { kind: 'start' };
    const reserved = lease?.reservations?.day === today ? lease.reservations : undefined;
    const cap = capAt(input.limits, { today: reserved?.count ?? 0, lastAtMs: lease?.reservations ? Date.parse(lease.reservations.lastAt) : undefined }, readTimeMs);
    if (cap) {
      const alert = lease?.capAlertedOn !== today;
      return { kind: 'capped', cap, alert, ...(alert ? { lease: withAlert(baseLease(input), today, readTimeMs) } : {}) };
    }
    const at = new Date(readTimeMs).toISOString();
    return { kind: 'reserve', lease: { ...baseLease(input), reservations: { day: today, count: (reserved?.count ?? 0) + 1, lastAt: at }, updatedAt: at } };
  }

  if (ownBatch) return { kind: 'hold', batch: ownBatch, alert: false };
  const slot = lease?.slots[input.fingerprint];
  const current = slot?.batches[0];
  // Covered when the event was certainly accepted before the batch closes: its first read
  // came before the close. An event that lost the race to open this very batch joins it
  // however long its read again took (on a loaded machine, longer than the window).
  if (current && current.holder !== eventId && Math.min(readTimeMs, input.firstReadTimeMs ?? readTimeMs) < Date.parse(current.closesAt)) return { kind: 'join', batch: current };

  const closesAtMs = Math.max(readTimeMs + Math.min(MIN_BATCH_MS, windowMs), current ? Date.parse(current.closesAt) + windowMs : 0);
  const batch: BatchRecord = { holder: eventId, openedAt: new Date(readTimeMs).toISOString(), closesAt: new Date(closesAtMs).toISOString() };
  const base = baseLease(input);
  let next: TargetLeaseDoc = {
    ...base,
    slots: { ...base.slots, [input.fingerprint]: { options: input.options, batches: [batch, ...(slot?.batches ?? [])].slice(0, MAX_BATCHES_KEPT) } },
    updatedAt: new Date(readTimeMs).toISOString(),
  };
  const cap = capAt(input.limits, runsSoFar(runLog, today, []), closesAtMs);
  const alert = cap !== undefined && lease?.capAlertedOn !== today;
  if (alert) next = withAlert(next, today, readTimeMs);
  return { kind: 'hold', batch, lease: next, ...(cap ? { cap } : {}), alert };
}

/** What the holder decides once its batch has closed and it looked at the target. */
export type BatchDecision =
  /** An earlier attempt of this holder had started this run already (found by its marker). */
  | { kind: 'adopt'; runId: RunId }
  /** Start a run. */
  | { kind: 'trigger' }
  /** No new run: `runId` is waiting (coalesce) and will read the batch's data. */
  | { kind: 'coalesce'; runId: RunId; status: string }
  /** No new run: `runId` is active (skip). */
  | { kind: 'skip'; runId: RunId; status: string }
  /**
   * No new run now: the target has no queue (Cloud Run) and `runId` is executing (coalesce).
   * One run is started for this batch when it ends (the sweep starts it), so two runs of
   * the same work never execute side by side.
   */
  | { kind: 'defer'; runId: RunId; status: string }
  /** No new run: the target's run limits forbid one now. */
  | { kind: 'capped'; cap: CapVerdict };

export interface BatchInputs {
  eventId: string;
  policy: BusyPolicy;
  limits: RunLimits | undefined;
  fingerprint: string;
  /** This holder's batch. */
  batch: BatchRecord;
  lease: TargetLeaseDoc | undefined;
  runLog: TargetRunLogDoc | undefined;
  /** An earlier attempt may have started a run: look for it first. */
  retry: boolean;
  /** Set at claim: the limits were reached already. */
  cap: CapVerdict | undefined;
  nowMs: number;
  /** The target has no queue (its runs start when created): under coalesce, a batch defers behind a run executing. */
  startsAtOnce?: boolean;
}

/**
 * The runs that could absorb the batch, to ask the target about: this slot's runs that no
 * run event reported ended, and the runs of older batches whose holders had not settled
 * when this holder read (found by their marker), plus this holder's own on a retry.
 * Undefined when there is nothing to ask (an idle target, or a batch capped already).
 */
export function observationFor(input: BatchInputs): { runIds: RunId[]; holders: string[] } | undefined {
  const holders = [...(input.retry ? [input.eventId] : []), ...pendingHolders(input)];
  if (input.cap && !input.retry) return undefined;
  const runIds = input.policy === 'queue' ? [] : slotRuns(input.runLog, input.fingerprint).filter((run) => loggedPhase(run) !== 'ended').map((run) => run.runId);
  return runIds.length || holders.length ? { runIds, holders } : undefined;
}

/**
 * The holder's decision. `observed` is the target's answer to observationFor (undefined when
 * nothing was asked), or 'unavailable' when the target could not be asked: then a new run
 * starts, since merging needs the target's word that the run still waits (never a lost load;
 * at worst one more queued run).
 */
export function decideBatch(input: BatchInputs, observed: RunObservation | 'unavailable' | undefined): BatchDecision {
  const seen = observed === 'unavailable' ? undefined : observed;
  const own = input.retry ? seen?.byHolder.get(input.eventId) : undefined;
  if (own) return { kind: 'adopt', runId: own.runId };
  if (input.cap) return { kind: 'capped', cap: input.cap };

  if (seen && input.policy !== 'queue') {
    const candidates = candidateRuns(input, seen);
    const mergeable = candidates.filter((run) => (input.policy === 'skip' ? run.phase !== 'ended' : run.phase === 'waiting'));
    const newest = mergeable.sort((a, b) => compareRunIds(b.runId, a.runId))[0];
    if (newest) return input.policy === 'skip' ? { kind: 'skip', runId: newest.runId, status: newest.status } : { kind: 'coalesce', runId: newest.runId, status: newest.status };
  }
  const found = seen ? pendingHolders(input).map((holder) => seen.byHolder.get(holder)).filter((run): run is ObservedRun => !!run) : [];
  const cap = capAt(input.limits, runsSoFar(input.runLog, utcDay(input.nowMs), found), input.nowMs);
  if (cap) return { kind: 'capped', cap };
  if (seen && input.policy === 'coalesce' && input.startsAtOnce) {
    const executing = candidateRuns(input, seen).filter((run) => run.phase === 'running').sort((a, b) => compareRunIds(b.runId, a.runId))[0];
    if (executing) return { kind: 'defer', runId: executing.runId, status: executing.status };
  }
  return { kind: 'trigger' };
}

/**
 * The runs the target reported that belong to this slot: its logged runs, and the runs of
 * unsettled older batches. A logged run counts only when the target does not say another
 * event started it: a run log written against other runs (another dbt Cloud account or
 * host, a restored database) must not merge a load into a run that will not read it.
 */
function candidateRuns(input: BatchInputs, seen: RunObservation): ObservedRun[] {
  const logged = slotRuns(input.runLog, input.fingerprint)
    .map((logged) => ({ logged, run: seen.runs.get(String(logged.runId)) }))
    .filter(({ logged, run }) => run && (run.startedBy === undefined || run.startedBy === logged.holder))
    .map(({ run }) => run!);
  const pending = pendingHolders(input)
    .map((holder) => seen.byHolder.get(holder))
    .filter((run): run is ObservedRun => !!run);
  const byId = new Map([...logged, ...pending].map((run) => [String(run.runId), run]));
  return [...byId.values()];
}

/** Holders of this slot's older batches that the run log does not show settled. */
function pendingHolders(input: BatchInputs): string[] {
  const batches = input.lease?.slots[input.fingerprint]?.batches ?? [];
  return batches
    .filter((batch) => batch.holder !== input.eventId && Date.parse(batch.closesAt) <= Date.parse(input.batch.closesAt) && !input.runLog?.batches[batch.holder])
    .slice(0, MAX_PENDING_HOLDERS)
    .map((batch) => batch.holder);
}

function slotRuns(runLog: TargetRunLogDoc | undefined, fingerprint: string): LoggedRun[] {
  return Object.values(runLog?.runs ?? {}).filter((run) => run.fingerprint === fingerprint);
}

/** Runs started today and the last start, from the run log and the runs of unsettled batches found at the target. */
function runsSoFar(runLog: TargetRunLogDoc | undefined, today: string, found: ObservedRun[]): RunsSoFar {
  const logged = Object.values(runLog?.runs ?? {});
  const known = new Set(logged.map((run) => String(run.runId)));
  const extra = found.filter((run) => !known.has(String(run.runId)));
  const times = [...logged.map((run) => Date.parse(run.triggeredAt)), ...extra.map((run) => (run.createdAt ? Date.parse(run.createdAt) : Number.NaN))].filter((t) => !Number.isNaN(t));
  return {
    today: (runLog?.days[today] ?? 0) + extra.filter((run) => !run.createdAt || run.createdAt.startsWith(today)).length,
    lastAtMs: times.length ? Math.max(...times) : undefined,
  };
}

/** Newer first: numeric ids compare as numbers (dbt Cloud's grow), others as text. */
function compareRunIds(a: RunId, b: RunId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/**
 * The run log fields the holder merges (blind) when it settles: what the batch came to, the
 * run it started (counted for the day), and old entries pruned. Only keys are set or
 * deleted, so concurrent holders and run events never overwrite each other.
 */
export function batchOutcomeFields(
  runLog: TargetRunLogDoc | undefined,
  input: { target: TargetKey; holder: string; fingerprint: string; started?: { runId: RunId; atMs: number }; outcome: Omit<BatchOutcome, 'fingerprint' | 'at'> },
  nowMs: number,
  remove: unknown,
  increment: (n: number) => unknown,
): Record<string, unknown> {
  const at = new Date(nowMs).toISOString();
  const runs: Record<string, unknown> = {};
  const batches: Record<string, unknown> = { [input.holder]: { ...input.outcome, fingerprint: input.fingerprint, at } satisfies BatchOutcome };
  const days: Record<string, unknown> = {};
  if (input.started) {
    runs[String(input.started.runId)] = { runId: input.started.runId, fingerprint: input.fingerprint, holder: input.holder, triggeredAt: new Date(input.started.atMs).toISOString() } satisfies LoggedRun;
    days[utcDay(input.started.atMs)] = increment(1);
  }
  const oldRuns = Object.entries(runLog?.runs ?? {})
    .sort(([, a], [, b]) => Date.parse(b.triggeredAt) - Date.parse(a.triggeredAt))
    .slice(MAX_RUNS_KEPT - 1);
  for (const [key] of oldRuns) runs[key] = remove;
  const oldBatches = Object.entries(runLog?.batches ?? {})
    .sort(([, a], [, b]) => Date.parse(b.at) - Date.parse(a.at))
    .slice(MAX_RUNS_KEPT - 1);
  for (const [key] of oldBatches) if (key !== input.holder) batches[key] = remove;
  const keepDays = new Set(Array.from({ length: MAX_DAYS_KEPT }, (_, i) => utcDay(nowMs - i * 86_400_000)));
  for (const day of Object.keys(runLog?.days ?? {})) if (!keepDays.has(day)) days[day] = remove;
  // An empty map in a merge would replace the stored one (Firestore merges leaf by leaf, and
  // an empty map is a leaf): leave out what does not change.
  const nonEmpty = Object.entries({ runs, batches, days }).filter(([, fields]) => Object.keys(fields).length);
  return { schemaVersion: 2, target: input.target, ...Object.fromEntries(nonEmpty), updatedAt: at };
}

function baseLease(input: ClaimInputs): TargetLeaseDoc {
  return input.lease ?? { schemaVersion: 2, target: input.target, slots: {}, updatedAt: new Date(input.readTimeMs).toISOString() };
}

function withAlert(lease: TargetLeaseDoc, today: string, atMs: number): TargetLeaseDoc {
  return { ...lease, capAlertedOn: today, updatedAt: new Date(atMs).toISOString() };
}
