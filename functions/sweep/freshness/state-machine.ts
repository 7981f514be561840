import { compileCron } from './cron.js';
import type { Expectation } from './expectation.js';

// A connector's freshness as a pure function of the clock and what the sweep read: no I/O,
// no randomness, the same answer however often it is asked (the sweep's ticks may overlap,
// repeat or arrive late). `judge` says what the connector's state is now; `step` turns the
// stored state and a judgement into the next stored state, the state changes to record and
// the notices to send.

export type FreshnessState = 'unknown' | 'fresh' | 'late' | 'overdue' | 'failing' | 'paused';

/** The order `postload freshness` lists states in: what needs a person first. */
export const STATE_ORDER: readonly FreshnessState[] = ['failing', 'overdue', 'late', 'unknown', 'paused', 'fresh'];

/** What the sweep knows about a connector's syncs and pauses. */
export interface Evidence {
  /** The latest successful sync's end (webhook or vendor API), epoch ms. */
  lastSuccessAt: number | null;
  /** Failed syncs after it (0 when the latest finished sync succeeded). */
  failuresSinceSuccess: number;
  lastFailureAt: number | null;
  /** When postload first saw the connector: the anchor until its first successful sync. */
  firstSeenAt: number;
  /** An operator's snooze (`postload freshness pause`), until this time. */
  pausedUntil: number | null;
  /** Why the vendor says the connector is paused, or null. */
  vendorPaused: string | null;
}

export interface Judgement {
  state: FreshnessState;
  /** When the next successful sync is due; null when nothing is expected. */
  expectedBy: number | null;
  /** When it counts as overdue (expectedBy + grace). */
  overdueAt: number | null;
  /** When the judgement changes if nothing new arrives; null: only new evidence changes it. */
  nextChangeAt: number | null;
  why: string;
}

/** The connector's state at `nowMs`. */
export function judge(expectation: Expectation, evidence: Evidence, nowMs: number): Judgement {
  if (evidence.pausedUntil !== null && evidence.pausedUntil > nowMs) {
    return { state: 'paused', expectedBy: null, overdueAt: null, nextChangeAt: evidence.pausedUntil, why: `snoozed until ${new Date(evidence.pausedUntil).toISOString()}` };
  }
  if (evidence.vendorPaused) return { state: 'paused', expectedBy: null, overdueAt: null, nextChangeAt: null, why: evidence.vendorPaused };
  if (expectation.kind === 'none') return { state: 'unknown', expectedBy: null, overdueAt: null, nextChangeAt: null, why: expectation.detail };
  const anchor = evidence.lastSuccessAt ?? evidence.firstSeenAt;
  const expectedBy = deadlineAfter(expectation, anchor);
  if (expectedBy === null) return { state: 'unknown', expectedBy: null, overdueAt: null, nextChangeAt: null, why: 'the schedule has no future fire time' };
  const overdueAt = expectedBy + expectation.graceMs;
  const since = evidence.lastSuccessAt === null ? 'no successful sync seen yet' : `last successful sync ${new Date(evidence.lastSuccessAt).toISOString()}`;
  if (nowMs < expectedBy) return { state: 'fresh', expectedBy, overdueAt, nextChangeAt: expectedBy, why: since };
  if (nowMs < overdueAt) return { state: 'late', expectedBy, overdueAt, nextChangeAt: overdueAt, why: `${since}; expected by ${new Date(expectedBy).toISOString()}` };
  if (evidence.failuresSinceSuccess > 0) {
    return { state: 'failing', expectedBy, overdueAt, nextChangeAt: null, why: `${since}; ${evidence.failuresSinceSuccess} failed sync(s) since` };
  }
  return { state: 'overdue', expectedBy, overdueAt, nextChangeAt: null, why: `${since}; no sync since` };
}

/**
 * When the next successful sync after `anchorMs` is due. `every`: one interval later.
 * `cron`: each deadline needs a success since the one before it, so a success at `anchorMs`
 * covers the first deadline at or after it; the next one is due.
 */
export function deadlineAfter(expectation: Expectation, anchorMs: number): number | null {
  if (expectation.kind === 'every') return anchorMs + expectation.everyMs;
  if (expectation.kind !== 'cron') return null;
  const cron = compileCron(expectation);
  const covered = cron.next(anchorMs - 1);
  return covered === null ? null : cron.next(covered);
}

/** Expected syncs that did not happen between the last success before an incident and the one that ended it. */
export function missedSyncs(expectation: Expectation, lastSuccessAt: number | null, recoveredAt: number): number {
  if (lastSuccessAt === null || recoveredAt <= lastSuccessAt) return 0;
  if (expectation.kind === 'every') return Math.max(0, Math.ceil((recoveredAt - lastSuccessAt) / expectation.everyMs) - 1);
  if (expectation.kind !== 'cron') return 0;
  const cron = compileCron(expectation);
  let deadline = deadlineAfter(expectation, lastSuccessAt);
  let missed = 0;
  // Bounded: a year of minutely deadlines would be absurd; the message says "at least".
  while (deadline !== null && deadline < recoveredAt && missed < 10_000) {
    missed++;
    deadline = cron.next(deadline);
  }
  return missed;
}

/** An incident: one stretch of overdue or failing, one alert, reminders, one recovery. */
export interface Incident {
  /** When the connector became overdue: the threshold, from the data, whichever tick saw it first. */
  openedAt: number;
  /** The evaluation that opened it (its alert). Reminders count from here. */
  alertedAt: number;
  state: 'overdue' | 'failing';
  /** The last successful sync before it. */
  lastSuccessAt: number | null;
  reminders: number;
}

/** What the machine stores between evaluations. */
export interface MachineState {
  state: FreshnessState;
  /** When it entered this state (the evaluation that saw the change). */
  since: number;
  evaluatedAt: number;
  incident: Incident | null;
}

export type Notice =
  | { kind: 'alert'; key: string; incident: Incident }
  | { kind: 'reminder'; key: string; incident: Incident; number: number }
  /** Fresh data again: how long it was overdue and how many expected syncs were missed. */
  | { kind: 'recovery'; key: string; incident: Incident; recoveredAt: number; overdueForMs: number; missedSyncs: number }
  /** Ended without fresh data: nothing is expected any more (switched off, manual schedule). */
  | { kind: 'closed'; key: string; incident: Incident; reason: string };

export interface StateChange {
  from: FreshnessState | null;
  to: FreshnessState;
  at: number;
  why: string;
}

export interface Step {
  next: MachineState;
  changes: StateChange[];
  notices: Notice[];
  /** When to look again if nothing new arrives (the next threshold or reminder); null: only on new evidence. */
  nextCheckAt: number | null;
}

export interface StepSettings {
  nowMs: number;
  /** Reminder interval while an incident lasts; null: no reminders. */
  realertMs: number | null;
}

/**
 * The next stored state. An evaluation older than the stored one (a tick that was
 * overtaken) changes nothing and returns undefined; the same evaluation twice gives the
 * second time no changes and no notices. Alerts open an incident only on entering
 * overdue or failing; switching between the two inside one incident is a change, not a
 * new alert; nothing is sent while paused (the incident waits); the incident ends with
 * a recovery when a successful sync brings the connector back to fresh or late.
 */
export function step(previous: MachineState | undefined, judgement: Judgement, evidence: Evidence, expectation: Expectation, { nowMs, realertMs }: StepSettings): Step | undefined {
  if (previous && nowMs < previous.evaluatedAt) return undefined;
  const changes: StateChange[] = [];
  const notices: Notice[] = [];
  const state = judgement.state;
  if (!previous || previous.state !== state) changes.push({ from: previous?.state ?? null, to: state, at: nowMs, why: judgement.why });
  let incident = previous?.incident ?? null;

  if (state === 'overdue' || state === 'failing') {
    if (!incident) {
      incident = { openedAt: judgement.overdueAt ?? nowMs, alertedAt: nowMs, state, lastSuccessAt: evidence.lastSuccessAt, reminders: 0 };
      notices.push({ kind: 'alert', key: `${incident.openedAt}:alert`, incident });
    } else {
      incident = { ...incident, state };
      const due = realertMs === null ? 0 : Math.floor((nowMs - incident.alertedAt) / realertMs);
      if (due > incident.reminders) {
        incident = { ...incident, reminders: due };
        notices.push({ kind: 'reminder', key: `${incident.openedAt}:reminder:${due}`, incident, number: due });
      }
    }
  } else if (incident && (state === 'fresh' || state === 'late')) {
    const recovered = evidence.lastSuccessAt !== null && (incident.lastSuccessAt === null || evidence.lastSuccessAt > incident.lastSuccessAt);
    if (recovered) {
      const at = evidence.lastSuccessAt!;
      notices.push({ kind: 'recovery', key: `${incident.openedAt}:recovery`, incident, recoveredAt: at, overdueForMs: Math.max(0, at - incident.openedAt), missedSyncs: missedSyncs(expectation, incident.lastSuccessAt, at) });
    } else {
      notices.push({ kind: 'closed', key: `${incident.openedAt}:closed`, incident, reason: `the expectation changed (${expectation.detail})` });
    }
    incident = null;
  } else if (incident && state === 'unknown') {
    notices.push({ kind: 'closed', key: `${incident.openedAt}:closed`, incident, reason: judgement.why });
    incident = null;
  }
  // paused: the incident (if any) waits, silent; it ends with a recovery or goes on after the pause.

  const since = !previous || previous.state !== state ? nowMs : previous.since;
  const reminderAt = incident && realertMs !== null && (state === 'overdue' || state === 'failing') ? incident.alertedAt + (incident.reminders + 1) * realertMs : null;
  return { next: { state, since, evaluatedAt: nowMs, incident }, changes, notices, nextCheckAt: earliest(judgement.nextChangeAt, reminderAt) };
}

function earliest(...times: Array<number | null>): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length ? Math.min(...known) : null;
}
