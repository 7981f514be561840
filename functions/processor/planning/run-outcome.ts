// The dbt Cloud loop (issue 13): which load a dbt Cloud run event belongs to, and what
// the originating event's dbt action records about the run. Pure: the store reads the
// originating audit record in the event's own claim read, these functions decide, the
// store writes in the same commit.

import type { SyncEvent } from '../../shared/sync-event.js';
import { markedEventId } from './cause-marker.js';

/** The run's outcome on the originating event's dbt action (`actions.<id>.runOutcome`; shape fixed for the CLI too). */
export interface RunOutcome {
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  runStatusCode: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
  errorMessage: string | null;
  /** The dbt-cloud SyncEvent that reported it. */
  eventId: string;
  recordedAt: string;
}

/** The run news one dbt-cloud SyncEvent carries: which event started the run, and the run's outcome. */
export interface RunReport {
  originEventId: string;
  jobId: string;
  runId: number;
  outcome: Omit<RunOutcome, 'recordedAt'>;
}

const STATUS: Partial<Record<SyncEvent['type'], RunOutcome['status']>> = {
  'transformation.started': 'running',
  'transformation.succeeded': 'succeeded',
  'transformation.failed': 'failed',
  'transformation.cancelled': 'cancelled',
};

/** The event whose dbt action started a run, as the marker ending its cause names it; undefined for a run postload did not start. */
export function originEventIdOf(cause: string | null | undefined): string | undefined {
  return markedEventId(cause);
}

/**
 * What a dbt Cloud run event says about a run postload may have started, or undefined when
 * it names none: not a dbt-cloud run event, no run or job id, or a cause without postload's
 * marker (a scheduled run, one started from the UI).
 */
export function runReport(event: SyncEvent): RunReport | undefined {
  const status = STATUS[event.type];
  const t = event.transformation;
  if (event.source !== 'dbt-cloud' || !status || !t?.runId || !t.jobId) return undefined;
  // Every run postload starts has a cause ending with ` [event <id>]` (cause-marker.ts); dbt Cloud repeats it as `runReason`.
  const originEventId = originEventIdOf(t.cause);
  const runId = Number(t.runId);
  if (!originEventId || !Number.isSafeInteger(runId) || originEventId === event.id) return undefined;
  const code = (event.payload as { data?: { runStatusCode?: unknown } }).data?.runStatusCode;
  return {
    originEventId,
    jobId: t.jobId,
    runId,
    outcome: {
      status,
      runStatusCode: typeof code === 'number' && Number.isInteger(code) ? code : null,
      startedAt: event.sync.startedAt ?? null,
      finishedAt: status === 'running' ? null : (event.sync.finishedAt ?? null),
      durationSeconds: status === 'running' ? null : (event.sync.durationSeconds ?? null),
      errorMessage: event.error?.message ?? null,
      eventId: event.id,
    },
  };
}

/** The dbt action on the originating audit record as this module reads it. */
export interface OriginAction {
  kind: string;
  target: string;
  status: string;
  runId?: number | null;
  runOutcome?: RunOutcome;
}

/**
 * How a run event relates to the originating record:
 * - linked: the action that started this job holds this run id;
 * - pending: the action for this job has no run id yet (its trigger's answer is not
 *   recorded yet: the webhook overtook it, or a lost answer is being recovered), so wait;
 * - unverified: the record is missing, names no such job, or holds another run: the cause
 *   was copied or the record expired. The event is then treated as any other run's.
 */
export type Link =
  | { kind: 'linked'; actionId: string }
  | { kind: 'pending'; actionId: string }
  | { kind: 'unverified'; reason: string };

export function linkRun(report: RunReport, actions: Record<string, OriginAction> | undefined): Link {
  if (!actions) return { kind: 'unverified', reason: `no audit record for event ${report.originEventId}` };
  const forJob = Object.entries(actions).filter(([, a]) => a.kind === 'dbt' && a.target === report.jobId);
  const linked = forJob.find(([, a]) => a.runId === report.runId);
  if (linked) return { kind: 'linked', actionId: linked[0] };
  const open = forJob.find(([, a]) => a.runId == null && a.status !== 'failed');
  if (open) return { kind: 'pending', actionId: open[0] };
  if (forJob.length === 0) return { kind: 'unverified', reason: `event ${report.originEventId} started no dbt job ${report.jobId}` };
  return { kind: 'unverified', reason: `event ${report.originEventId} started another run of job ${report.jobId}, not run ${report.runId}` };
}

/**
 * The run outcome after this report, or undefined when it changes nothing. A final status
 * (succeeded, failed, cancelled) is never replaced: not by a late `started`, not by the
 * second of the errored/completed pair, not by a redelivery. A `started` fills in only
 * when nothing is recorded yet. So any order of the run's events ends in the same record.
 */
export function mergeRunOutcome(current: RunOutcome | undefined, report: RunReport['outcome'], recordedAt: string): RunOutcome | undefined {
  if (current && current.status !== 'running') return undefined;
  if (current && report.status === 'running') return undefined;
  return { ...report, startedAt: report.startedAt ?? current?.startedAt ?? null, recordedAt };
}
