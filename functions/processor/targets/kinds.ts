// The run target kinds, chosen by name the way ingest/sources.ts chooses a vendor: each is
// one pair of files in this folder (pure: `<kind>.ts`; I/O: `<kind>-runs.ts`), and the
// routing file names each under one field of a route (a list) and one of a join (a single
// target), as TARGET_FIELDS says. Planning code never looks past this table.
import type { AirflowDagAction, CloudRunJobAction, DbtJobAction, HttpCallAction, Join, RouteActions } from '../../generated/routing-config.schema.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { airflowKind } from './airflow.js';
import { cloudRunKind } from './cloud-run.js';
import { dbtCloudKind } from './dbt-cloud.js';
import { httpKind } from './http.js';
import type { PlannedRun, RunNews, RunTargetKind, TargetKindName } from './run-target.js';

interface ActionOf {
  'dbt-cloud': DbtJobAction;
  'cloud-run': CloudRunJobAction;
  airflow: AirflowDagAction;
  http: HttpCallAction;
}

export const KINDS: { [K in TargetKindName]: RunTargetKind<ActionOf[K]> } = {
  'dbt-cloud': dbtCloudKind,
  'cloud-run': cloudRunKind,
  airflow: airflowKind,
  http: httpKind,
};

/** Where the routing file names each kind: a route's list, a join's single target. */
export const TARGET_FIELDS = [
  { kind: 'dbt-cloud', route: 'dbtJobs', join: 'dbtJob' },
  { kind: 'cloud-run', route: 'cloudRunJobs', join: 'cloudRunJob' },
  { kind: 'airflow', route: 'airflowDags', join: 'airflowDag' },
  { kind: 'http', route: 'httpCalls', join: 'httpCall' },
] as const satisfies ReadonlyArray<{ kind: TargetKindName; route: keyof RouteActions; join: keyof Join }>;

/** A routing action of any kind, with its kind. */
export type AnyTargetAction = { [K in TargetKindName]: { kind: K; action: ActionOf[K] } }[TargetKindName];

/** Every target action a route (or the default route) names, in the order of TARGET_FIELDS, with its field and index. */
export function routeTargets(actions: Partial<Pick<RouteActions, (typeof TARGET_FIELDS)[number]['route']>>): Array<AnyTargetAction & { field: string; index: number }> {
  return TARGET_FIELDS.flatMap(({ kind, route }) => ((actions[route] ?? []) as unknown[]).map((action, index) => ({ kind, action, field: route, index }) as AnyTargetAction & { field: string; index: number }));
}

/** The one target a join starts (start-up insists on exactly one), with its field. */
export function joinTarget(join: Join): (AnyTargetAction & { field: string }) | undefined {
  for (const { kind, join: field } of TARGET_FIELDS) {
    const action = join[field];
    if (action) return { kind, action, field } as AnyTargetAction & { field: string };
  }
  return undefined;
}

/** The run a target action asks for. */
export function plannedRun(target: AnyTargetAction, route: string, event?: SyncEvent): PlannedRun {
  return (KINDS[target.kind] as RunTargetKind<unknown>).plan(target.action, route, event);
}

/** The run a routing file's dbt job action asks for. */
export function plannedDbtJob(job: DbtJobAction, route: string, event?: SyncEvent): PlannedRun {
  return KINDS['dbt-cloud'].plan(job, route, event);
}

/** What a SyncEvent says about a run of any kind's target, if it reports on one. */
export function runNewsOf(event: SyncEvent): RunNews | undefined {
  for (const kind of Object.values(KINDS)) {
    const news = kind.runNews(event);
    if (news) return news;
  }
  return undefined;
}
