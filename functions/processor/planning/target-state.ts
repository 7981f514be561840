import { createHash } from 'node:crypto';
import type { RunId, RunPhase, TargetKey } from '../targets/run-target.js';

/**
 * Firestore collection of run-target state (`JOB_STATE_COLLECTION`): two documents per
 * target, written for Firestore's limit of about one sustained write per second per
 * document (see ORCHESTRATION.md):
 * - `<kind>-<id>` (the lease document): per options fingerprint, the recent batches (who
 *   holds each one's trigger lease and when it closes). Written only to open a batch (at
 *   most one per COALESCE_WINDOW_MS per option set), and by `queue` triggers of a target
 *   with run limits; always under a precondition, so one delivery opens each batch.
 * - `<kind>-<id>#runs` (the run log): the runs postload started, what each batch came to,
 *   runs per day. Written blind (merged field by field, no precondition) by a batch's
 *   holder when it settles and by run events, so it never makes another commit fail.
 * Covered events write neither.
 */
export const TARGET_STATE_COLLECTION = 'targetState';

/** One batch: events whose claim read saw it open are covered by what its holder decides. */
export interface BatchRecord {
  /** The event whose delivery holds the trigger lease and decides for the batch. */
  holder: string;
  openedAt: string;
  /** Firestore time: a claim read before it joins; the holder acts only after it. */
  closesAt: string;
}

export interface LeaseSlot {
  /** The options these runs use, for people reading the document. */
  options: Record<string, unknown>;
  /** Newest first, at most MAX_BATCHES_KEPT. */
  batches: BatchRecord[];
}

/** Runs reserved under `queue` with run limits (serialised on this document). */
export interface Reservations {
  day: string;
  count: number;
  lastAt: string;
}

/** The lease document, `<collection>/<kind>-<id>`. */
export interface TargetLeaseDoc {
  schemaVersion: 2;
  target: TargetKey;
  slots: Record<string, LeaseSlot>;
  reservations?: Reservations;
  /** The UTC day the run-cap alert went out (once per day). */
  capAlertedOn?: string;
  updatedAt: string;
}

/** A run postload started, as the run log keeps it. Its phase comes from run events, each field written once. */
export interface LoggedRun {
  runId: RunId;
  fingerprint: string;
  /** The event whose batch started it (its id is in the run's marker). */
  holder: string;
  triggeredAt: string;
  /** From the target's run events: when it began executing, when it ended and how. */
  startedAt?: string;
  endedAt?: string;
  endStatus?: string;
}

export type BatchDecisionKind = 'triggered' | 'coalesced' | 'skipped' | 'deferred' | 'capped' | 'failed';

/** What a batch came to, by its holder. */
export interface BatchOutcome {
  fingerprint: string;
  decision: BatchDecisionKind;
  runId: RunId | null;
  /** The run's status when coalesced or skipped; why when capped or failed. */
  detail: string | null;
  at: string;
}

/** The run log, `<collection>/<kind>-<id>#runs`. */
export interface TargetRunLogDoc {
  schemaVersion: 2;
  target: TargetKey;
  /** By String(run id). */
  runs: Record<string, LoggedRun>;
  /** By holder event id. */
  batches: Record<string, BatchOutcome>;
  /** Runs postload started per UTC day (YYYY-MM-DD), for maxRunsPerDay. */
  days: Record<string, number>;
  updatedAt: string;
}

/**
 * A run log as read: it is only ever written by blind merges that leave out the maps that do
 * not change (a batch that started no run writes no `runs` or `days`), so a stored one may
 * lack any of them.
 */
export function storedRunLog(stored: Record<string, unknown> | undefined): TargetRunLogDoc | undefined {
  if (!stored) return undefined;
  const doc = stored as Partial<TargetRunLogDoc>;
  return { ...doc, runs: doc.runs ?? {}, batches: doc.batches ?? {}, days: doc.days ?? {} } as TargetRunLogDoc;
}

export const MAX_BATCHES_KEPT = 10;
export const MAX_RUNS_KEPT = 20;
export const MAX_DAYS_KEPT = 3;

/** A run's phase as the run log knows it (from run events); `waiting` until one says otherwise. */
export function loggedPhase(run: LoggedRun): RunPhase {
  if (run.endedAt) return 'ended';
  if (run.startedAt) return 'running';
  return 'waiting';
}

/**
 * Identifies runs that do the same work: a hash of the run options (keys sorted, arrays in
 * order). Two actions with the same fingerprint may share a run; different ones never do.
 */
export function optionsFingerprint(options: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(sortedKeys(options))).digest('hex').slice(0, 16);
}

/** The options with keys in order (nested objects too), as they are fingerprinted and shown. */
export function sortedKeys(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => [key, value && typeof value === 'object' && !Array.isArray(value) ? sortedKeys(value as Record<string, unknown>) : value]),
  );
}

/** The UTC day of an instant, YYYY-MM-DD. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
