import type { LoadedRouting, MatchSubject } from '../../processor/planning/routing.js';
import { planFor } from '../../processor/planning/routing.js';
import { joinRun } from '../../processor/planning/join.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import type { BlockedJoin, RoutedJobOutcome } from './messages.js';

// What a freshness message says about what waits downstream, read from the routing file
// and the documents the processor keeps: pure functions over what was read.

/** The dbt jobs a successful sync of this connector would start (its routes, not joins). */
export function routedJobs(identity: MatchSubject, routing: LoadedRouting): RoutedJob[] {
  return planFor(syntheticSuccess(identity), routing).runs.map((run) => ({ name: jobName(run), actionId: run.actionId }));
}

/** A job routed to a connector: how messages name it ("dbt job 101", "Cloud Run job dbt-core (europe-west1)") and its action id. */
export interface RoutedJob {
  name: string;
  actionId: string;
}

/** "dbt job 101" for dbt Cloud, the target's label for the other kinds. */
export function jobName(run: { target: { kind: string; id: string }; label: string }): string {
  return run.target.kind === 'dbt-cloud' ? `dbt job ${run.target.id}` : run.label;
}

/** Joins that have this connector among their upstreams: the document to read for each. */
export function joinsOf(identity: MatchSubject, routing: LoadedRouting): Array<{ join: string; upstream: string; jobId: string }> {
  const event = syntheticSuccess(identity);
  return routing.joins.flatMap((join) => join.upstreams.filter((u) => u.matches(event)).map((u) => ({ join: join.name, upstream: u.name, jobId: jobName({ target: { kind: joinRun(join).target.kind, id: join.jobId }, label: join.label }) })));
}

/**
 * The joins still waiting for this upstream, from their documents (`joins/<name>`): the
 * upstream has no success counting towards the next firing, or one older than `within`.
 */
export function blockedJoins(candidates: Array<{ join: string; upstream: string; jobId: string }>, docs: Map<string, Record<string, unknown> | undefined>, withinMs: Map<string, number>, nowMs: number): BlockedJoin[] {
  return candidates.flatMap((c) => {
    const doc = docs.get(c.join);
    const upstreams = (doc?.upstreams ?? {}) as Record<string, { success?: { occurredAt?: string } | null }>;
    const success = upstreams[c.upstream]?.success;
    const at = success?.occurredAt ? Date.parse(success.occurredAt) : Number.NaN;
    const within = withinMs.get(c.join) ?? Number.POSITIVE_INFINITY;
    if (!Number.isNaN(at) && nowMs - at <= within) return [];
    const firings = (doc?.firings ?? []) as Array<{ firedAt?: string }>;
    const since = firings[0]?.firedAt ? Date.parse(firings[0].firedAt) : Number.NaN;
    return [{ join: c.join, upstream: c.upstream, jobId: c.jobId, waitingSince: Number.isNaN(since) ? null : since }];
  });
}

/** What each routed job's action on the recovering event's audit record came to. */
export function jobOutcomes(jobs: RoutedJob[], audit: Record<string, unknown> | undefined): RoutedJobOutcome[] {
  if (!audit) return [];
  const actions = (audit.actions ?? {}) as Record<string, { status?: string; runId?: number | null; lastError?: string | null; busy?: { outcome: string; runId: number } }>;
  return jobs.map(({ name: jobId, actionId }) => {
    const action = actions[actionId];
    if (!action) return { jobId, outcome: 'not planned for this sync' };
    if (action.busy) return { jobId, outcome: `${action.busy.outcome} into run ${action.busy.runId}, which reads this sync's data` };
    if (action.status === 'succeeded' && action.runId != null) return { jobId, outcome: `run ${action.runId} started for this sync` };
    if (action.status === 'failed') return { jobId, outcome: `could not be started: ${action.lastError ?? 'failed'}` };
    return { jobId, outcome: 'being started' };
  });
}

/** A successful sync of the connector, as routes and joins match events. */
export function syntheticSuccess(identity: MatchSubject): SyncEvent {
  const at = new Date(0).toISOString();
  return {
    schemaVersion: '1',
    id: '0'.repeat(32),
    source: identity.source,
    type: 'sync.succeeded',
    vendorEvent: 'freshness',
    occurredAt: at,
    receivedAt: at,
    connector: identity.connector,
    destination: identity.destination,
    sync: { id: null, status: 'succeeded', vendorStatus: null, startedAt: null, finishedAt: null },
    metrics: null,
    error: null,
    payload: {},
  };
}
