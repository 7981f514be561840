import type { SyncEvent } from '../../shared/sync-event.js';
import type { RunId } from '../targets/run-target.js';

/**
 * Firestore collection of join documents: `joins/<join name>` (the routing schema limits
 * names to letters, digits, spaces, `_` and `-`, so the name is a valid document id).
 * One document per join, updated only in the claim transaction of an event that matches
 * one of its upstreams: Firestore serialises two instances completing the set at once.
 */
export const JOIN_STATE_COLLECTION = 'joins';

export function joinDocId(joinName: string): string {
  return joinName;
}

/** An upstream success that counts towards the join's current round. */
export interface UpstreamSuccess {
  eventId: string;
  source: SyncEvent['source'];
  /** Connector name (or id) as the event named it, for messages. */
  connector: string;
  /** The vendor's time of the success; freshness (`within`) is measured from it. */
  occurredAt: string;
  /** When postload counted it. */
  countedAt: string;
}

/** The latest failure of an upstream since its last success (a failure streak). */
export interface UpstreamFailure {
  eventId: string;
  source: SyncEvent['source'];
  connector: string;
  occurredAt: string;
  message: string | null;
  /** When the streak began: the first failure after a success. Alerted once, then. */
  since: string;
  /** Failures in this streak, duplicates not counted. */
  count: number;
}

export interface UpstreamState {
  success: UpstreamSuccess | null;
  failure: UpstreamFailure | null;
}

/** One time the join fired: the full set that completed it. */
export interface JoinFiring {
  round: number;
  firedAt: string;
  /** The event that completed the set (its action starts the job: `dbt-job-<id>` in its audit record). */
  eventId: string;
  upstreams: Record<string, UpstreamSuccess>;
}

/**
 * What a firing's job action came to (`runs.<round>`), written blind when it is known, so
 * recording it never conflicts with upstream events counting towards the next round.
 */
export interface JoinRun {
  outcome: 'triggered' | 'coalesced' | 'skipped' | 'deferred' | 'capped' | 'joined' | 'failed';
  runId: RunId | null;
  /** For `joined`: the event whose batch decides the run. */
  holder?: string;
  at: string;
}

/** The document at `joins/<name>`: anyone can read why the join's job did or did not start. */
export interface JoinStateDoc {
  schemaVersion: 1;
  join: string;
  /** The join's target: a dbt Cloud job id, or another kind's id (issue 28). */
  jobId: string;
  /** How people name the target (absent in documents written before issue 28: a dbt Cloud job). */
  targetLabel?: string;
  /** The window in force (ISO 8601), copied from the routing file for readers. */
  within: string;
  /** How many times the join has fired. */
  round: number;
  /** Every upstream by name: what counts towards the next firing. */
  upstreams: Record<string, UpstreamState>;
  /** The latest firings, newest first (at most MAX_FIRINGS_KEPT): a redelivered event of any of them is recognised. */
  firings: JoinFiring[];
  /** By firing round: the run each firing started or was covered by. */
  runs?: Record<string, JoinRun>;
  updatedAt: string;
}

export const MAX_FIRINGS_KEPT = 5;

export function emptyJoinState(join: { name: string; jobId: string; targetLabel?: string; within: string; upstreams: string[] }, now: Date): JoinStateDoc {
  return {
    schemaVersion: 1,
    join: join.name,
    jobId: join.jobId,
    ...(join.targetLabel ? { targetLabel: join.targetLabel } : {}),
    within: join.within,
    round: 0,
    upstreams: Object.fromEntries(join.upstreams.map((name) => [name, { success: null, failure: null }])),
    firings: [],
    updatedAt: now.toISOString(),
  };
}
