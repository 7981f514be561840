import type { Join } from '../../generated/routing-config.schema.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { matcher } from './routing.js';
import { joinTarget, plannedRun } from '../targets/kinds.js';
import type { PlannedRun } from '../targets/run-target.js';
import { parseDuration } from './duration.js';
import {
  emptyJoinState,
  MAX_FIRINGS_KEPT,
  type JoinFiring,
  type JoinStateDoc,
  type UpstreamState,
  type UpstreamSuccess,
} from './join-state.js';

/** A join from the routing file, ready to test events against. */
export interface CompiledJoin {
  name: string;
  /** The target's id (a dbt Cloud job id, a Cloud Run job's name, …), kept in the join document as `jobId`. */
  jobId: string;
  /** How people name the target: "dbt Cloud job 123", "Cloud Run job dbt-core (europe-west1)". */
  label: string;
  within: string;
  withinMs: number;
  upstreams: Array<{ name: string; matches: (event: SyncEvent) => boolean }>;
  config: Join;
}

/** Call after the routing file passed checkOrchestration (the duration parses). */
export function compileJoin(join: Join): CompiledJoin {
  const run = plannedRun(joinTarget(join)!, `join ${join.name}`);
  return {
    name: join.name,
    jobId: run.target.id,
    label: run.label,
    within: join.within,
    withinMs: parseDuration(join.within),
    upstreams: join.upstreams.map((u) => ({ name: u.name, matches: matcher(u.match) })),
    config: join,
  };
}

/**
 * The run a firing adds to the completing event's plan. Its action id is the one a route
 * would give the target, so an event whose routes already start it (with the same options:
 * checkOrchestration insists) plans it once, never twice.
 */
export function joinRun(join: CompiledJoin): PlannedRun {
  return plannedRun(joinTarget(join.config)!, `join ${join.name}`);
}

/** The joins that have this event among their upstreams' successes or failures. */
export function joinsFor(event: SyncEvent, joins: readonly CompiledJoin[]): CompiledJoin[] {
  if (roleOf(event) === 'none') return [];
  return joins.filter((join) => join.upstreams.some((u) => u.matches(event)));
}

/** A success counts towards a join, a failure holds it; anything else leaves it alone. */
export function roleOf(event: SyncEvent): 'success' | 'failure' | 'none' {
  switch (event.type) {
    case 'sync.succeeded':
    case 'transformation.succeeded':
      return 'success';
    case 'sync.failed':
    case 'transformation.failed':
      return 'failure';
    default:
      return 'none';
  }
}

export type JoinOutcome =
  | { kind: 'ignored'; reason: 'not-an-upstream' | 'not-a-result' }
  /** Already counted: in the current round or in a firing still on record. */
  | { kind: 'duplicate'; upstreams: string[] }
  /** A success older than `within` when it arrived. */
  | { kind: 'stale'; upstreams: string[] }
  /** Older than what the upstream already holds, or than the last firing (that run read its data). */
  | { kind: 'superseded'; upstreams: string[] }
  /** Counted; the join still waits for `missing` (never arrived, or gone stale). */
  | { kind: 'waiting'; upstreams: string[]; missing: string[] }
  /** This event completed the set: start the join's job once, as this event's action. */
  | { kind: 'fired'; upstreams: string[]; firing: JoinFiring }
  /** A failure recorded on `upstreams`; `alert` is true for the first failure of a streak. */
  | { kind: 'failed'; upstreams: string[]; alert: boolean };

export interface JoinTransition {
  outcome: JoinOutcome;
  /** The document to write (unchanged when `changed` is false). */
  state: JoinStateDoc;
  changed: boolean;
}

/**
 * One event applied to a join's document. Pure: the caller reads the document in the
 * event's claim transaction, and in that same transaction writes the returned state and,
 * on `fired`, plans the job action; so a set completes, and the job starts, exactly once.
 *
 * Rules: a success counts when it is within the window, newer than what its upstream
 * holds and than the last firing; a duplicate (same event id) counts once; the set is
 * complete when every upstream holds a success still within the window; firing empties
 * every upstream, so the next firing needs a full new set. A failure replaces its
 * upstream's success (the join waits for that upstream's next success), keeps the other
 * upstreams, and is alerted once per streak (until the upstream succeeds again).
 */
export function applyToJoin(join: CompiledJoin, current: JoinStateDoc | undefined, event: SyncEvent, now: Date): JoinTransition {
  const matched = join.upstreams.filter((u) => u.matches(event)).map((u) => u.name);
  const state = aligned(join, current, now);
  const unchanged = (outcome: JoinOutcome): JoinTransition => ({ outcome, state: current ?? state, changed: false });
  if (!matched.length) return unchanged({ kind: 'ignored', reason: 'not-an-upstream' });
  const role = roleOf(event);
  if (role === 'none') return unchanged({ kind: 'ignored', reason: 'not-a-result' });

  if (state.firings.some((f) => Object.values(f.upstreams).some((s) => s.eventId === event.id))) {
    return unchanged({ kind: 'duplicate', upstreams: matched });
  }
  const occurred = Date.parse(event.occurredAt);
  const lastFiring = state.firings[0];
  if (lastFiring && occurred < Date.parse(lastFiring.firedAt)) return unchanged({ kind: 'superseded', upstreams: matched });

  const held = (name: string): UpstreamState => state.upstreams[name] ?? { success: null, failure: null };
  const already = matched.filter((name) => held(name).success?.eventId === event.id || held(name).failure?.eventId === event.id);
  if (already.length === matched.length) return unchanged({ kind: 'duplicate', upstreams: matched });
  const newer = matched.filter((name) => !already.includes(name) && occurred >= latestOf(held(name)));
  if (!newer.length) return unchanged({ kind: 'superseded', upstreams: matched });

  const upstreams = { ...state.upstreams };
  const connector = event.connector.name ?? event.connector.id ?? 'unknown connector';
  const at = now.toISOString();

  if (role === 'failure') {
    let alert = false;
    for (const name of newer) {
      const failure = held(name).failure;
      alert ||= !failure;
      upstreams[name] = {
        success: null,
        failure: {
          eventId: event.id,
          source: event.source,
          connector,
          occurredAt: event.occurredAt,
          message: event.error?.message ?? event.summary ?? null,
          since: failure?.since ?? event.occurredAt,
          count: (failure?.count ?? 0) + 1,
        },
      };
    }
    return { outcome: { kind: 'failed', upstreams: newer, alert }, state: { ...state, upstreams, updatedAt: at }, changed: true };
  }

  if (now.getTime() - occurred > join.withinMs) return unchanged({ kind: 'stale', upstreams: matched });
  const success: UpstreamSuccess = { eventId: event.id, source: event.source, connector, occurredAt: event.occurredAt, countedAt: at };
  for (const name of newer) upstreams[name] = { success, failure: null };

  const missing = join.upstreams.map((u) => u.name).filter((name) => !isFresh(upstreams[name], join, now));
  if (missing.length) {
    return { outcome: { kind: 'waiting', upstreams: newer, missing }, state: { ...state, upstreams, updatedAt: at }, changed: true };
  }
  const firing: JoinFiring = {
    round: state.round + 1,
    firedAt: at,
    eventId: event.id,
    upstreams: Object.fromEntries(join.upstreams.map((u) => [u.name, upstreams[u.name]!.success!])),
  };
  const firings = [firing, ...state.firings].slice(0, MAX_FIRINGS_KEPT);
  const kept = new Set(firings.map((f) => String(f.round)));
  const next: JoinStateDoc = {
    ...emptyJoinState(stateKey(join), now),
    round: firing.round,
    firings,
    runs: Object.fromEntries(Object.entries(state.runs ?? {}).filter(([round]) => kept.has(round))),
  };
  return { outcome: { kind: 'fired', upstreams: newer, firing }, state: next, changed: true };
}

/** Upstreams that do not count right now, with why: for "why did this job not start?". */
export function missingUpstreams(join: CompiledJoin, state: JoinStateDoc | undefined, now: Date): Array<{ name: string; why: 'never' | 'stale' | 'failed' }> {
  const doc = aligned(join, state, now);
  return join.upstreams
    .filter((u) => !isFresh(doc.upstreams[u.name], join, now))
    .map((u) => {
      const held = doc.upstreams[u.name];
      return { name: u.name, why: held?.failure ? 'failed' : held?.success ? 'stale' : 'never' };
    });
}

function isFresh(upstream: UpstreamState | undefined, join: CompiledJoin, now: Date): boolean {
  const success = upstream?.success;
  return !!success && now.getTime() - Date.parse(success.occurredAt) <= join.withinMs;
}

function latestOf(upstream: UpstreamState): number {
  const times = [upstream.success?.occurredAt, upstream.failure?.occurredAt].filter((t): t is string => !!t).map(Date.parse);
  return times.length ? Math.max(...times) : Number.NEGATIVE_INFINITY;
}

function stateKey(join: CompiledJoin) {
  return { name: join.name, jobId: join.jobId, targetLabel: join.label, within: join.within, upstreams: join.upstreams.map((u) => u.name) };
}

/** The stored document brought in line with the routing file: upstreams added or removed since. */
function aligned(join: CompiledJoin, current: JoinStateDoc | undefined, now: Date): JoinStateDoc {
  const fresh = emptyJoinState(stateKey(join), now);
  if (!current) return fresh;
  const upstreams = Object.fromEntries(join.upstreams.map((u) => [u.name, current.upstreams[u.name] ?? { success: null, failure: null }]));
  return { ...current, jobId: fresh.jobId, targetLabel: fresh.targetLabel, within: fresh.within, upstreams };
}
