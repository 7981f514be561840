import type { LoadedRouting, MatchSubject } from '../../processor/planning/routing.js';
import { planFor } from '../../processor/planning/routing.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import type { BlockedJoin, RoutedJobOutcome } from './messages.js';

// What a freshness message says about what waits downstream, read from the routing file
// and the documents the processor keeps: pure functions over what was read.

/** The dbt jobs a successful sync of this connector would start (its routes, not joins). */
export function routedJobs(identity: MatchSubject, routing: LoadedRouting): string[] {
  return planFor(syntheticSuccess(identity), routing).runs.map((run) => run.target.id);
}

/** Joins that have this connector among their upstreams: the document to read for each. */
export function joinsOf(identity: MatchSubject, routing: LoadedRouting): Array<{ join: string; upstream: string; jobId: string }> {
  const event = syntheticSuccess(identity);
  return routing.joins.flatMap((join) => join.upstreams.filter((u) => u.matches(event)).map((u) => ({ join: join.name, upstream: u.name, jobId: join.jobId })));
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
export function jobOutcomes(jobs: string[], audit: Record<string, unknown> | undefined): RoutedJobOutcome[] {
  if (!audit) return [];
  const actions = (audit.actions ?? {}) as Record<string, { status?: string; runId?: number | null; lastError?: string | null; busy?: { outcome: string; runId: number } }>;
  return jobs.map((jobId) => {
    const action = actions[`dbt-job-${jobId}`];
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
