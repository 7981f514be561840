import type { SyncEvent } from '../../shared/sync-event.js';
import type { ActiveRunsObservation } from './coalesce.js';
import { ACTIVE_STATUS_CODES, runStatusFromCode, type RunStatus } from './job-state.js';

/** Largest page dbt Cloud's list-runs returns (dbt Cloud Administrative API v2, docs.getdbt.com/dbt-cloud/api-v2: `limit` at most 100). */
const LIST_LIMIT = 100;

/**
 * The query of the confirmation call: the job's queued, starting and running runs, newest
 * first (`GET {base}/api/v2/accounts/{account}/runs/?<this>`; parameters as the dbt Cloud
 * Administrative API v2 documents them, docs.getdbt.com/dbt-cloud/api-v2). A job has few active runs; 100 covers
 * them unless runs pile up, which is what coalescing prevents.
 */
export function activeRunsQuery(jobId: string): string {
  const params = new URLSearchParams({
    job_definition_id: jobId,
    status__in: `[${ACTIVE_STATUS_CODES.join(',')}]`,
    order_by: '-id',
    limit: String(LIST_LIMIT),
  });
  return params.toString();
}

/** Reads list-runs' `{"data": [Run, ...]}` into the observation `decideBusy` takes. Throws on a body that is not that shape. */
export function activeRunsFrom(body: unknown): ActiveRunsObservation {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error('dbt Cloud list-runs answer has no "data" array');
  const runs = new Map<number, RunStatus>();
  for (const run of data as Array<{ id?: unknown; status?: unknown }>) {
    const status = typeof run?.status === 'number' ? runStatusFromCode(run.status) : undefined;
    if (typeof run?.id === 'number' && status) runs.set(run.id, status);
  }
  return { runs };
}

/**
 * What a dbt Cloud run event (issue 13's SyncEvents with source dbt-cloud) says about
 * its run, for `observeRun`: the run id and its new status, or undefined when the event
 * names no run.
 */
export function runNews(event: SyncEvent): { jobId: string; runId: number; status: RunStatus; at: Date } | undefined {
  if (event.source !== 'dbt-cloud' || !event.transformation?.runId || !event.transformation.jobId) return undefined;
  const runId = Number(event.transformation.runId);
  if (!Number.isSafeInteger(runId)) return undefined;
  const status = STATUS_OF_TYPE[event.type];
  return status ? { jobId: event.transformation.jobId, runId, status, at: new Date(event.occurredAt) } : undefined;
}

const STATUS_OF_TYPE: Partial<Record<SyncEvent['type'], RunStatus>> = {
  'transformation.started': 'running',
  'transformation.succeeded': 'success',
  'transformation.failed': 'error',
  'transformation.cancelled': 'cancelled',
};
