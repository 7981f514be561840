// A run postload started of a kind that says nothing by itself when it ends (a Cloud Run
// execution, an Airflow DAG run), kept in the followed-runs collection until the sweep has
// seen it end. Written by the processor when it settles (a blind merge in the settle commit
// it already makes: no round trip added), read by the sweep's "runs" task (one query per
// tick for the documents due), and by the status page's runs view.

import type { TargetKey } from '../targets/run-target.js';

/** FOLLOWED_RUNS_COLLECTION's default. */
export const FOLLOWED_RUNS_COLLECTION = 'followedRuns';

/** What a followed run came to, on the record and on the originating action (`runOutcome`, the dbt Cloud loop's shape). */
export interface FollowedOutcome {
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'unknown';
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
  errorMessage: string | null;
  /** The kind's own word (an execution's or DAG run's state). */
  targetStatus: string | null;
  /** Where it was seen: the sweep's tick. */
  observedBy: 'sweep';
  recordedAt: string;
}

/** The load that caused the run, as the failure alert names it (copied when the run starts: no read to alert). */
export interface RunOrigin {
  eventId: string;
  source: string;
  type: string;
  connectorId: string | null;
  connectorName: string | null;
  syncId: string | null;
  occurredAt: string;
}

export interface AlertState {
  state: 'pending' | 'sent' | 'not-sent';
  claimedBy: string | null;
  leaseUntil: number | null;
  attempts: number;
  lastError: string | null;
}

/**
 * - `open`: the run exists; the sweep asks about it until it ends;
 * - `deferred` (Cloud Run under coalesce): the batch found an execution running; when it
 *   ends, the sweep starts one execution for this batch (and every batch deferred behind it);
 * - `starting`: a sweep claimed the deferred start (until `leaseUntil`);
 * - `ended`: seen ended (or gone), outcome recorded; kept until its alert is settled, then only for reading.
 */
export type FollowState = 'open' | 'deferred' | 'starting' | 'ended';

export interface FollowedRun {
  schemaVersion: 1;
  target: TargetKey;
  label: string;
  /** The action on the originating audit record. */
  actionId: string;
  route: string;
  fingerprint: string;
  state: FollowState;
  runId: string | null;
  href: string | null;
  /** When postload started it (or, deferred, when it will be: null). */
  triggeredAt: string | null;
  outcome: FollowedOutcome | null;
  origin: RunOrigin;
  /** Events whose load this run reads besides the origin's (covered batches, deferred batches merged into it). */
  covers: string[];
  /** The run log keeps it (started by a batch's holder): the sweep marks its end there too. */
  logged: boolean;
  /** Deferred: the execution it waits for, the options to start with, and when the batch decided. */
  behind?: string | null;
  options?: Record<string, unknown>;
  decidedAt?: string;
  leaseUntil?: number | null;
  /** Where a failure is alerted (the route's webhook reference). */
  webhook: string;
  alert: AlertState | null;
  checks: number;
  lastCheckedAt: string | null;
  lastError: string | null;
  /** Epoch ms of the next look; null once nothing is left to do. */
  nextCheckAt: number | null;
  createdAt: string;
}

/** The document's id: the originating event and action, so one action has one record. */
export function followedRunId(eventId: string, actionId: string): string {
  return `${eventId}.${actionId}`;
}

/**
 * The fields the processor merges into `<collection>/<event id>.<action id>` when it settles
 * a run the sweep must follow (a Cloud Run execution or Airflow DAG run this event started or
 * found), or a deferred batch the sweep must start a run for. Part of the settle commit the
 * processor makes anyway: no round trip added. `nextCheckAt` due now: the next tick looks.
 */
export function followedRunFields(input: {
  event: { id: string; source: string; type: string; connector: { id: string | null; name: string | null }; sync: { id: string | null }; occurredAt: string };
  run: { actionId: string; target: TargetKey; label: string; route: string; fingerprint: string; options: Record<string, unknown> };
  started?: { runId: string; href: string | null };
  deferred?: { behind: string };
  /** Started by a batch's holder: the target's run log keeps it. */
  logged: boolean;
  webhook: string;
  nowMs: number;
  timestamp: (ms: number) => unknown;
}): Record<string, unknown> {
  const at = new Date(input.nowMs).toISOString();
  const { event, run } = input;
  const record: Omit<FollowedRun, 'nextCheckAt'> = {
    schemaVersion: 1,
    target: run.target,
    label: run.label,
    actionId: run.actionId,
    route: run.route,
    fingerprint: run.fingerprint,
    state: input.started ? 'open' : 'deferred',
    runId: input.started?.runId ?? null,
    href: input.started?.href ?? null,
    triggeredAt: input.started ? at : null,
    outcome: null,
    origin: { eventId: event.id, source: event.source, type: event.type, connectorId: event.connector.id, connectorName: event.connector.name, syncId: event.sync.id, occurredAt: event.occurredAt },
    covers: [],
    logged: input.logged,
    ...(input.deferred ? { behind: input.deferred.behind, options: run.options, decidedAt: at, leaseUntil: null } : {}),
    webhook: input.webhook,
    alert: null,
    checks: 0,
    lastCheckedAt: null,
    lastError: null,
    createdAt: at,
  };
  return { ...record, nextCheckAt: input.timestamp(input.nowMs) };
}
