// What postload starts runs of, whatever the kind: dbt Cloud jobs, Cloud Run jobs, Airflow
// DAGs and HTTP calls (issue 28). The planning code (coalescing, batches,
// joins, run caps) sees only what is here: a target key, an options fingerprint, a policy,
// limits, and runs in three phases. Each kind is one file in this folder implementing
// RunTargetKind (pure: from a routing action to a PlannedRun, and what its run events say)
// and RunTargetClient (I/O: start a run exactly once, and say what became of runs), chosen
// from the table in kinds.ts the way ingest/sources.ts chooses a vendor.
import type { SyncEvent } from '../../shared/sync-event.js';
import type { AttemptRecord, Deadline } from '../clients/http-retry.js';

/** Every kind of run target postload knows. */
export type TargetKindName = 'dbt-cloud' | 'cloud-run' | 'airflow' | 'http';

/** One thing postload starts runs of: a dbt Cloud job is `{kind: 'dbt-cloud', id: '<job id>'}`. */
export interface TargetKey {
  kind: TargetKindName;
  /** The kind's own identity of the target (a dbt Cloud job id; a Cloud Run job name; …). */
  id: string;
}

/** The routing schema's `onBusy`: what an event does when the target has a run postload started. */
export type BusyPolicy = 'coalesce' | 'queue' | 'skip';
export const DEFAULT_BUSY_POLICY: BusyPolicy = 'coalesce';

/** Issue 25 finding 6: an optional minimum interval between runs and a daily cap, per target. */
export interface RunLimits {
  /** No new run less than this after the previous one postload started (ms). */
  minIntervalMs?: number;
  /** As written in the routing file (ISO 8601), for messages. */
  minInterval?: string;
  /** At most this many runs started per UTC day. */
  maxRunsPerDay?: number;
}

/**
 * Where a run is in its life, for every kind: `waiting` (accepted, not yet executing: a new
 * run would read no more data than this one will), `running`, `ended` (finished one way or
 * another, or unknown to the target any more).
 */
export type RunPhase = 'waiting' | 'running' | 'ended';

/** A run's id as the kind's API gives it (dbt Cloud: a number). Keys and comparisons use String(id). */
export type RunId = string | number;

/** One run the event may start: a route's or a fired join's action, of any kind. */
export interface PlannedRun {
  /** The action's id in the audit record (`dbt-job-<id>` for dbt Cloud). */
  actionId: string;
  /** The audit record's `actions.<id>.kind` (`dbt` for dbt Cloud). */
  actionKind: string;
  target: TargetKey;
  /** How people name the target in messages: "dbt Cloud job 123". */
  label: string;
  /** The route (or `join <name>`) that planned it. */
  route: string;
  policy: BusyPolicy;
  limits: RunLimits | undefined;
  /** What a run does (sent to the target), without why: runs with different options never merge. */
  options: Record<string, unknown>;
  /** A hash of `options`: the slot of the target's state that tracks these runs. */
  fingerprint: string;
  /** The routing file's action, as the kind's client needs it to start a run. */
  action: unknown;
  /**
   * Why this run cannot start for this event (a template value that failed its field's
   * check, an override beyond the target API's limits): the action fails for good and is
   * alerted, nothing is called, and it takes no part in batches (its policy is `queue`).
   */
  problem?: string;
  /**
   * The kind has no queue: a run starts the moment it is created (Cloud Run). Under
   * `coalesce` a batch that finds a run of the same options executing is deferred: one run
   * starts for it when that run ends (the sweep starts it).
   */
  startsAtOnce?: boolean;
  /** The kind's runs report nothing by themselves when they end (Cloud Run, Airflow): the sweep follows them. */
  followed?: boolean;
}

/** What a kind's run event (a webhook the vendor sent about a run) says about that run. */
export interface RunNews {
  target: TargetKey;
  runId: RunId;
  phase: RunPhase;
  /** The kind's own word for the status (`running`, `success`, `error`, …). */
  status: string;
  at: Date;
}

/** A run as the target's API described it. */
export interface ObservedRun {
  runId: RunId;
  phase: RunPhase;
  status: string;
  /** When the target created it, if it says. */
  createdAt?: string;
  /**
   * The event whose marker the run carries (null: none, not a run postload started; absent:
   * the kind cannot tell). A logged run is merged into only when this names the holder the
   * run log recorded for it: the same run id may name another run (another account's log).
   */
  startedBy?: string | null;
}

/**
 * One look at the target (for dbt Cloud a single list-runs call in the usual case): the
 * status of each run asked for by id, and the run each holder event started, found by the
 * marker postload puts on every run (absent: the target shows no such run).
 */
export interface RunObservation {
  runs: Map<string, ObservedRun>;
  byHolder: Map<string, ObservedRun>;
}

export interface StartedRun {
  runId: RunId;
  href: string | null;
  /** Found already started (after a lost answer or a crash) instead of started now. */
  recovered: boolean;
  /** A kind whose run is its request (an HTTP call): the answer, which is the run's outcome. */
  response?: { status: number; body: string };
}

/** What a run postload started has come to, as its target says (the sweep's question). */
export interface FollowedStatus extends ObservedRun {
  /** Set once it ended: how. */
  outcome?: 'succeeded' | 'failed' | 'cancelled';
  startedAt: string | null;
  finishedAt: string | null;
  /** Why it failed or was cancelled, in the target's words. */
  message: string | null;
  /** Its page (logs, the Airflow UI). */
  href: string | null;
}

export interface StartOptions {
  deadline: Deadline;
  attempts: AttemptRecord[];
  /** An earlier attempt may have reached the target: look for the run this event started before starting one. */
  checkFirst: boolean;
  /** When the action was first attempted: how far back that lookup goes. */
  since: Date;
}

/** The pure side of a kind: used by routing and planning, no I/O. */
export interface RunTargetKind<Action = unknown> {
  kind: TargetKindName;
  /**
   * The run a routing action asks for (route name, or `join <name>`), its templates filled
   * from the event (a join's run has none: start-up refuses them there).
   */
  plan(action: Action, route: string, event?: SyncEvent): PlannedRun;
  /** A SyncEvent that reports on a run of this kind (dbt Cloud's run webhooks), or undefined. */
  runNews(event: SyncEvent): RunNews | undefined;
}

/**
 * The I/O side of a kind. Only the delivery that holds a target's trigger lease calls it:
 * never one call per covered event.
 */
export interface RunTargetClient {
  /** Starts one run for the event, exactly once: with checkFirst, finds the run the event already started. */
  start(event: SyncEvent, run: PlannedRun, options: StartOptions): Promise<StartedRun>;
  /** What became of these runs, and of the runs these holder events started. */
  observe(target: TargetKey, ask: { runIds: RunId[]; holders: string[] }, options: { deadline: Deadline; attempts: AttemptRecord[] }): Promise<RunObservation>;
  /**
   * One run as the target sees it now, undefined when the target no longer has it: how the
   * sweep follows runs of kinds that report nothing by themselves (Cloud Run, Airflow).
   */
  status?(target: TargetKey, runId: RunId, options: { deadline: Deadline; attempts: AttemptRecord[] }): Promise<FollowedStatus | undefined>;
  /**
   * Starts the run a deferred batch is owed, for its holder event, exactly once (the sweep,
   * when the run it waited behind has ended): kinds without a queue only.
   */
  startDeferred?(holderEventId: string, run: PlannedRun, options: StartOptions): Promise<StartedRun>;
}
