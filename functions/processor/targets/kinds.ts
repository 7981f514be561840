// The run target kinds, chosen by name the way ingest/sources.ts chooses a vendor. Issue 28
// adds its kinds here (one file each, implementing RunTargetKind and RunTargetClient).
import type { DbtJobAction } from '../../generated/routing-config.schema.js';
import { dbtCloudKind } from './dbt-cloud.js';
import type { PlannedRun, RunNews, RunTargetKind, TargetKindName } from './run-target.js';
import type { SyncEvent } from '../../shared/sync-event.js';

export const KINDS: { [K in TargetKindName]: RunTargetKind<K extends 'dbt-cloud' ? DbtJobAction : never> } = {
  'dbt-cloud': dbtCloudKind,
};

/** The run a routing file's dbt job action asks for. */
export function plannedDbtJob(job: DbtJobAction, route: string): PlannedRun {
  return KINDS['dbt-cloud'].plan(job, route);
}

/** What a SyncEvent says about a run of any kind's target, if it reports on one. */
export function runNewsOf(event: SyncEvent): RunNews | undefined {
  for (const kind of Object.values(KINDS)) {
    const news = kind.runNews(event);
    if (news) return news;
  }
  return undefined;
}
