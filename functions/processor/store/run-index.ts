import type { Timestamp } from '@google-cloud/firestore';
import type { ActionRecord } from './event-store.js';

// The runs an event started, findable without knowing which targets exist: two top-level
// fields of its audit record, written with the actions in the commit that records them (no
// round trip added), for every kind of run target alike.
// - `startedRuns`: each run as `<kind>/<target>/<run id>` (runKey): one array-contains
//   query finds the load that started a run (single-field index);
// - `runStartedAt`: when the newest of them was started: the status page lists runs
//   postload started, newest first, by one range query on it (single-field index), whether
//   or not anything ever reported on them.

/** The audit action kind `dbt` is the run target kind `dbt-cloud`; every other kind names itself. */
export function runKindOf(actionKind: string): string {
  return actionKind === 'dbt' ? 'dbt-cloud' : actionKind;
}

/** A run by its target's kind and id and its own id, as `startedRuns` holds it. */
export function runKey(kind: string, target: string, runId: string | number): string {
  return `${kind}/${target}/${runId}`;
}

/** The fields of a record whose actions started (or found already started) runs; none when they started none. */
export function startedRunFields(actions: Record<string, ActionRecord>): { startedRuns: string[]; runStartedAt: Timestamp } | Record<string, never> {
  const started = Object.values(actions)
    .filter((a) => a.runId !== undefined && a.runId !== null && a.completedAt)
    .sort((a, b) => a.completedAt!.toMillis() - b.completedAt!.toMillis());
  if (!started.length) return {};
  return { startedRuns: started.map((a) => runKey(runKindOf(a.kind), a.target, a.runId!)), runStartedAt: started.at(-1)!.completedAt! };
}
