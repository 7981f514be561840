// dbt Cloud jobs as run targets, the pure side: the action id and label, which fields are
// run options, the policy and limits, dbt Cloud's status codes as phases, and what its run
// webhooks say. dbt-cloud-runs.ts is the I/O side (starting a run exactly once, looking at
// the job's runs), over clients/dbt-cloud.ts.
import type { DbtJobAction } from '../../generated/routing-config.schema.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { compileLimits } from '../planning/run-limits.js';
import { renderString } from '../planning/templates.js';
import { rendered } from './overrides.js';
import { optionsFingerprint, sortedKeys } from '../planning/target-state.js';
import { DEFAULT_BUSY_POLICY, type PlannedRun, type RunNews, type RunPhase, type RunTargetKind } from './run-target.js';

/**
 * dbt Cloud's run status codes (1 Queued, 2 Starting, 3 Running, 10 Success, 20 Error,
 * 30 Cancelled; dbt Cloud Administrative API v2, docs.getdbt.com/dbt-cloud/api-v2) as the phases planning knows.
 */
const PHASE_BY_CODE: Record<number, { phase: RunPhase; status: string }> = {
  1: { phase: 'waiting', status: 'queued' },
  2: { phase: 'waiting', status: 'starting' },
  3: { phase: 'running', status: 'running' },
  10: { phase: 'ended', status: 'success' },
  20: { phase: 'ended', status: 'error' },
  30: { phase: 'ended', status: 'cancelled' },
};

/** The phase and word for a dbt Cloud status code; an unknown code counts as ended (a new run is safe). */
export function dbtRunPhase(code: unknown): { phase: RunPhase; status: string } {
  return (typeof code === 'number' && PHASE_BY_CODE[code]) || { phase: 'ended', status: 'unknown' };
}

/** The fields of a job action that change what a run does (sent to dbt Cloud), without the cause and postload's own settings. */
export function dbtRunOptions(job: DbtJobAction): Record<string, unknown> {
  const { jobId: _jobId, on: _on, cause: _cause, onBusy: _onBusy, limits: _limits, ...options } = job;
  return sortedKeys(options);
}

const NEWS: Partial<Record<SyncEvent['type'], { phase: RunPhase; status: string }>> = {
  'transformation.started': { phase: 'running', status: 'running' },
  'transformation.succeeded': { phase: 'ended', status: 'success' },
  'transformation.failed': { phase: 'ended', status: 'error' },
  'transformation.cancelled': { phase: 'ended', status: 'cancelled' },
};

export const dbtCloudKind: RunTargetKind<DbtJobAction> = {
  kind: 'dbt-cloud',
  /** `steps_override` may hold templates (issue 28): each step is filled from the event, its values checked. */
  plan(job, route, event): PlannedRun {
    const jobId = String(job.jobId);
    const { options: action, problem } = rendered(
      () => (event && job.steps_override ? { ...job, steps_override: job.steps_override.map((step, i) => renderString(step, event, `/steps_override/${i}`)) as [string, ...string[]] } : job),
      () => job,
    );
    const options = dbtRunOptions(action);
    return {
      actionId: `dbt-job-${jobId}`,
      actionKind: 'dbt',
      target: { kind: 'dbt-cloud', id: jobId },
      label: `dbt Cloud job ${jobId}`,
      route,
      policy: problem ? 'queue' : (job.onBusy ?? DEFAULT_BUSY_POLICY),
      limits: problem ? undefined : compileLimits(job.limits),
      options,
      fingerprint: optionsFingerprint(options),
      action,
      ...(problem ? { problem } : {}),
    };
  },
  /** A dbt Cloud run webhook (issue 13's SyncEvents with source dbt-cloud) about run R of job J. */
  runNews(event): RunNews | undefined {
    const t = event.transformation;
    const news = NEWS[event.type];
    if (event.source !== 'dbt-cloud' || !news || !t?.runId || !t.jobId || !/^[1-9][0-9]{0,19}$/.test(t.jobId)) return undefined;
    const runId = Number(t.runId);
    if (!Number.isSafeInteger(runId)) return undefined;
    return { target: { kind: 'dbt-cloud', id: t.jobId }, runId, ...news, at: new Date(event.occurredAt) };
  },
};
