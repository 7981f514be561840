import { createHash } from 'node:crypto';
import type { DbtJobAction } from '../../generated/routing-config.schema.js';

/**
 * Firestore collection of per-job state documents, one per dbt Cloud job postload triggers:
 * `dbtJobState/job-<jobId>`. Updated only inside the claim transaction of the event that
 * decides about the job, so two instances deciding at once are serialised by Firestore.
 */
export const JOB_STATE_COLLECTION = 'dbtJobState';

/** Document id of a job's state: dbt Cloud job ids are digits, so the id is always valid and short. */
export function jobStateDocId(jobId: string): string {
  if (!/^[1-9][0-9]{0,19}$/.test(jobId)) throw new Error(`not a dbt Cloud job id: "${jobId}"`);
  return `job-${jobId}`;
}

/**
 * A dbt Cloud run's status as postload last knew it. Codes from dbt Cloud's Run object
 * (1 Queued, 2 Starting, 3 Running, 10 Success, 20 Error, 30 Cancelled; see
 * docs.getdbt.com/dbt-cloud/api-v2); `ended` means dbt Cloud's list of queued/starting/running runs no
 * longer shows it, so it finished one way or another.
 */
export type RunStatus = 'queued' | 'starting' | 'running' | 'success' | 'error' | 'cancelled' | 'ended';

const STATUS_BY_CODE: Record<number, RunStatus> = { 1: 'queued', 2: 'starting', 3: 'running', 10: 'success', 20: 'error', 30: 'cancelled' };

export function runStatusFromCode(code: number): RunStatus | undefined {
  return STATUS_BY_CODE[code];
}

/** Has not begun executing: a new run would read no more data than this one will. */
export function isWaiting(status: RunStatus): boolean {
  return status === 'queued' || status === 'starting';
}

/** Queued, starting or running: what dbt Cloud's `status__in=[1,2,3]` lists. */
export function isActive(status: RunStatus): boolean {
  return isWaiting(status) || status === 'running';
}

/** The status codes to ask dbt Cloud's list-runs for when confirming: queued, starting, running. */
export const ACTIVE_STATUS_CODES = [1, 2, 3] as const;

/** The last run postload started for one job with one set of options. */
export interface TrackedRun {
  id: number;
  /** The event whose action triggered it. */
  eventId: string;
  triggeredAt: string;
  status: RunStatus;
  /** When `status` was learned: the trigger's answer, a dbt Cloud webhook or a list-runs confirmation. */
  statusAt: string;
  /** Events coalesced into this run, first MAX_COALESCED_IDS of them (the count is exact). */
  coalesced: string[];
  coalescedCount: number;
}

/** A trigger in flight: the event that is calling dbt Cloud right now, and until when it may. */
export interface TriggerLease {
  eventId: string;
  since: string;
  leaseUntil: string;
}

/** Everything postload knows about runs of one job with one options fingerprint. */
export interface JobSlot {
  fingerprint: string;
  /** The trigger options this slot's runs use (for people reading the document). */
  options: Record<string, unknown>;
  run: TrackedRun | null;
  trigger: TriggerLease | null;
}

/** The document at `dbtJobState/job-<jobId>`. */
export interface JobStateDoc {
  schemaVersion: 1;
  jobId: string;
  /** By options fingerprint: runs with different options are tracked (and merged) separately. */
  slots: Record<string, JobSlot>;
  updatedAt: string;
}

export const MAX_COALESCED_IDS = 50;

/** The fields of a job action that change what a run does (sent to dbt Cloud), without the cause. */
export function runOptions(job: DbtJobAction): Record<string, unknown> {
  const { jobId: _jobId, on: _on, cause: _cause, onBusy: _onBusy, ...options } = job;
  return Object.fromEntries(Object.entries(options).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Identifies runs that do the same work: a hash of the run options (keys sorted, arrays in
 * order). The cause is left out: it describes why, not what. Two actions with the same
 * fingerprint may share a run; different fingerprints never do.
 */
export function optionsFingerprint(job: DbtJobAction): string {
  return createHash('sha256').update(JSON.stringify(runOptions(job))).digest('hex').slice(0, 16);
}

/** The job's slot for these options, empty when postload never triggered it with them. */
export function slotFor(doc: JobStateDoc | undefined, job: DbtJobAction): JobSlot {
  const fingerprint = optionsFingerprint(job);
  return doc?.slots[fingerprint] ?? { fingerprint, options: runOptions(job), run: null, trigger: null };
}

/** The document with one slot replaced. */
export function withSlot(doc: JobStateDoc | undefined, jobId: string, slot: JobSlot, now: Date): JobStateDoc {
  return { schemaVersion: 1, jobId, slots: { ...doc?.slots, [slot.fingerprint]: slot }, updatedAt: now.toISOString() };
}

/** The slot whose tracked run is `runId` (a dbt Cloud run event updates it with observeRun). */
export function slotTrackingRun(doc: JobStateDoc | undefined, runId: number): JobSlot | undefined {
  return Object.values(doc?.slots ?? {}).find((slot) => slot.run?.id === runId);
}
