import { cutHead } from '../../shared/text-cut.js';
import { PermanentError } from '../errors.js';
import type { AccessTokenSource } from './google-token.js';
import { RetryableRequestError, sendOnce, withRetries, type AttemptRecord, type CallOptions, type Deadline, type FetchLike, type RetryPolicy } from './http-retry.js';

// The Cloud Run Admin API v2 calls postload makes to run a job and follow its executions
// (cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run and
// …/projects.locations.jobs.executions; googleapis/googleapis google/cloud/run/v2/*.proto).
// jobs.run has no idempotency key (the Node client marks it non_idempotent: a retried POST
// makes a second execution), so postload puts the action's id in an env override
// (POSTLOAD_ACTION_ID) and, after an answer that may have been lost, looks for an execution
// carrying it before it runs the job again. Executions cannot be labelled per run (their
// labels are output-only, copied from the job's template), and the list has no filter: the
// lookup pages the job's executions newest first, bounded, and reads each one's template,
// which carries the overridden env (shown by real first answers, e.g. planqtn/planqtn's
// cloud-run-client.ts; Google does not say it in words: if it ever stopped, the lookup
// would find nothing and a second execution could start, never a lost one).

export const CLOUD_RUN_BASE_URL = 'https://run.googleapis.com';

/** The env var every execution postload starts carries: `<event id>.<action id>`. */
export const ACTION_ID_ENV = 'POSTLOAD_ACTION_ID';

/** Pages of executions the lookup reads at most (Cloud Run keeps a job's newest 1,000 executions). */
export const LOOKUP_MAX_PAGES = 5;
const PAGE_SIZE = 100;
/** Clock difference between postload and Cloud Run the lookup tolerates. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** What jobs.run may override, and nothing else (cloud.google.com/run/docs/execute/jobs). */
export interface ExecutionOverrides {
  /** The container to override; needed when the job has several. */
  container?: string;
  /** Replace the job's args (unset: the job's own). */
  args?: string[];
  /** Merged into the job's env. */
  env: Array<{ name: string; value: string }>;
  taskCount?: number;
  /** Per task attempt, e.g. "3600s". */
  timeout?: string;
}

export type ExecutionState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** An execution as postload reads it. */
export interface ExecutionView {
  /** projects/P/locations/R/jobs/J/executions/E */
  name: string;
  state: ExecutionState;
  createTime: string | null;
  startTime: string | null;
  completionTime: string | null;
  /** Why it failed or was cancelled (the Completed condition's message). */
  message: string | null;
  logUri: string | null;
  /** The POSTLOAD_ACTION_ID it carries, if any. */
  actionId: string | null;
}

export interface StartedExecution {
  execution: ExecutionView;
  /** The long-running operation of the run (null when found by the lookup). */
  operation: string | null;
  recovered: boolean;
}

export interface CloudRunClientOptions {
  baseUrl: string;
  tokens: AccessTokenSource;
  policy: RetryPolicy;
  fetch?: FetchLike;
}

export interface RunOptions {
  deadline: Deadline;
  attempts: AttemptRecord[];
  /** An earlier attempt may have run the job: look for its execution first. */
  checkFirst: boolean;
  /** When the action was first attempted: the lookup reads executions back to it. */
  since: Date;
}

/** The lookup read LOOKUP_MAX_PAGES pages without reaching the action's first attempt: it cannot tell. */
export class ExecutionLookupExhaustedError extends PermanentError {}

export class CloudRunClient {
  constructor(private readonly options: CloudRunClientOptions) {}

  /**
   * Runs the job once for the action: 429 is retried after its wait (the request was not
   * carried out); after an answer that may have been lost (timeout, dropped connection,
   * 5xx) the job's executions are searched for the action's id before it is run again.
   * 4xx is a PermanentError naming the job and what to grant or fix.
   */
  async run(job: string, actionId: string, overrides: ExecutionOverrides, { deadline, attempts, checkFirst, since }: RunOptions): Promise<StartedExecution> {
    const call = this.call(`Cloud Run job ${shortJob(job)}`, deadline, attempts);
    let mayHaveStarted = checkFirst;
    return withRetries(async () => {
      if (mayHaveStarted) {
        const existing = await this.findExecution(job, actionId, since, call);
        if (existing) return { execution: existing, operation: null, recovered: true };
      }
      try {
        const response = await sendOnce({ method: 'POST', url: `${this.options.baseUrl}/v2/${job}:run`, headers: await this.headers(deadline, true), body: JSON.stringify({ overrides: runOverrides(overrides, actionId) }) }, call);
        if (response.status >= 300) throw this.refused(response.status, response.text, job, 'run');
        const operation = parse(response.text) as { name?: unknown; metadata?: unknown } | undefined;
        const execution = executionView(operation?.metadata);
        if (!execution) throw new RetryableRequestError(`Cloud Run job ${shortJob(job)}: the run's answer names no execution`, { system: 'Cloud Run' });
        return { execution, operation: typeof operation?.name === 'string' ? operation.name : null, recovered: false };
      } catch (error) {
        // A 429 was not carried out; anything else retryable may have run the job.
        if (error instanceof RetryableRequestError && error.status !== 429) mayHaveStarted = true;
        throw error;
      }
    }, call);
  }

  /**
   * The execution carrying this action id, paging the job's executions newest first until
   * a page reaches executions created before `since` (less a clock margin), for at most
   * LOOKUP_MAX_PAGES pages; past that it cannot tell and throws, rather than risk a second run.
   */
  async findExecution(job: string, actionId: string, since: Date, call: CallOptions): Promise<ExecutionView | undefined> {
    const oldest = since.getTime() - CLOCK_SKEW_MS;
    let pageToken: string | undefined;
    for (let page = 0; page < LOOKUP_MAX_PAGES; page++) {
      const { executions, next } = await this.listPage(job, pageToken, call);
      const found = executions.find((e) => e.actionId === actionId);
      if (found) return found;
      const reachedOlder = executions.some((e) => e.createTime !== null && Date.parse(e.createTime) < oldest);
      if (!next || reachedOlder) return undefined;
      pageToken = next;
    }
    throw new ExecutionLookupExhaustedError(
      `Cloud Run job ${shortJob(job)} has more than ${LOOKUP_MAX_PAGES * PAGE_SIZE} executions since this action was first attempted; postload cannot tell whether it already ran the job for ${actionId}, so it does not run it again: look for an execution with ${ACTION_ID_ENV}=${actionId} and run the job by hand if none is there`,
      { system: 'Cloud Run' },
    );
  }

  /** The job's newest executions (one page, newest first): what a batch's holder asks about earlier holders' runs. */
  async recentExecutions(job: string, deadline: Deadline, attempts: AttemptRecord[]): Promise<ExecutionView[]> {
    const call = this.call(`Cloud Run job ${shortJob(job)} (recent executions)`, deadline, attempts);
    return withRetries(async () => (await this.listPage(job, undefined, call)).executions, call);
  }

  /** One execution; undefined when Cloud Run no longer has it (deleted, or past the 1,000 kept). */
  async execution(name: string, deadline: Deadline, attempts: AttemptRecord[]): Promise<ExecutionView | undefined> {
    const call = this.call(`Cloud Run execution ${name.split('/').pop()}`, deadline, attempts);
    return withRetries(async () => {
      const response = await sendOnce({ method: 'GET', url: `${this.options.baseUrl}/v2/${name}`, headers: await this.headers(deadline, false) }, call);
      if (response.status === 404) return undefined;
      if (response.status >= 300) throw this.refused(response.status, response.text, name.replace(/\/executions\/.*$/, ''), 'read');
      const view = executionView(parse(response.text));
      if (!view) throw new RetryableRequestError(`Cloud Run execution ${name}: the answer is not an execution`, { system: 'Cloud Run' });
      return view;
    }, call);
  }

  /** Whether the job exists and which of `permissions` the caller holds on it (`postload check`). */
  async checkJob(job: string, permissions: readonly string[], deadline: Deadline): Promise<{ exists: boolean; held: string[] }> {
    const call = this.call(`Cloud Run job ${shortJob(job)}`, deadline, []);
    const held = await withRetries(async () => {
      const response = await sendOnce({ method: 'POST', url: `${this.options.baseUrl}/v2/${job}:testIamPermissions`, headers: await this.headers(deadline, true), body: JSON.stringify({ permissions }) }, call);
      if (response.status >= 300) throw this.refused(response.status, response.text, job, 'check');
      const granted = (parse(response.text) as { permissions?: unknown } | undefined)?.permissions;
      return Array.isArray(granted) ? granted.filter((p): p is string => typeof p === 'string') : [];
    }, call);
    if (!held.includes('run.jobs.get')) return { exists: false, held };
    const exists = await withRetries(async () => {
      const response = await sendOnce({ method: 'GET', url: `${this.options.baseUrl}/v2/${job}`, headers: await this.headers(deadline, false) }, call);
      if (response.status === 404) return false;
      if (response.status >= 300) throw this.refused(response.status, response.text, job, 'check');
      return true;
    }, call);
    return { exists, held };
  }

  private async listPage(job: string, pageToken: string | undefined, call: CallOptions): Promise<{ executions: ExecutionView[]; next: string | undefined }> {
    const query = `pageSize=${PAGE_SIZE}${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
    const response = await sendOnce({ method: 'GET', url: `${this.options.baseUrl}/v2/${job}/executions?${query}`, headers: await this.headers(call.deadline, false) }, call);
    if (response.status >= 300) throw this.refused(response.status, response.text, job, 'list');
    const body = parse(response.text) as { executions?: unknown; nextPageToken?: unknown } | undefined;
    if (!body || (body.executions !== undefined && !Array.isArray(body.executions))) {
      throw new RetryableRequestError(`Cloud Run job ${shortJob(job)}: the executions list is not a list`, { system: 'Cloud Run' });
    }
    const executions = ((body.executions as unknown[] | undefined) ?? []).map(executionView).filter((e): e is ExecutionView => !!e);
    return { executions, next: typeof body.nextPageToken === 'string' && body.nextPageToken ? body.nextPageToken : undefined };
  }

  private call(label: string, deadline: Deadline, attempts: AttemptRecord[]): CallOptions {
    return { system: 'Cloud Run', label, policy: this.options.policy, deadline, attempts, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) };
  }

  private async headers(deadline: Deadline, json: boolean): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.options.tokens.token(deadline)}`, accept: 'application/json', ...(json ? { 'content-type': 'application/json' } : {}) };
  }

  /** A 4xx as a permanent error that says what to fix; 401 stays transient (a token refreshed on the next delivery). */
  private refused(status: number, text: string, job: string, what: 'run' | 'read' | 'list' | 'check'): Error {
    const detail = googleMessage(text);
    const said = detail ? `; Cloud Run said: ${detail}` : '';
    if (status === 401) return new RetryableRequestError(`Cloud Run refused the runtime's access token (401)${said}`, { system: 'Cloud Run', status });
    const name = shortJob(job);
    const why =
      status === 403
        ? `the processor's service account may not ${what === 'run' ? 'run' : 'read'} Cloud Run job ${name} with overrides, or the job does not exist (403): Terraform grants roles/run.jobsExecutorWithOverrides and roles/run.viewer on the jobs in cloud_run_jobs; check the job's full name ${job}`
        : status === 404
          ? `Cloud Run job ${job} does not exist (404): check the routing file's job name (projects/P/locations/R/jobs/J)`
          : `Cloud Run refused to ${what} job ${name} (HTTP ${status})`;
    return new PermanentError(`${why}${said}`, { system: 'Cloud Run', status });
  }
}

/** The request's overrides: one container override (args, env with the action id), task count and timeout. */
export function runOverrides(overrides: ExecutionOverrides, actionId: string): Record<string, unknown> {
  const container: Record<string, unknown> = {
    ...(overrides.container ? { name: overrides.container } : {}),
    ...(overrides.args ? (overrides.args.length ? { args: overrides.args } : { clearArgs: true }) : {}),
    env: [...overrides.env.filter((v) => v.name !== ACTION_ID_ENV), { name: ACTION_ID_ENV, value: actionId }],
  };
  return {
    containerOverrides: [container],
    ...(overrides.taskCount === undefined ? {} : { taskCount: overrides.taskCount }),
    ...(overrides.timeout === undefined ? {} : { timeout: overrides.timeout }),
  };
}

// Condition.State numbers, for a reply that carries enums as numbers (googleapis condition.proto).
const CONDITION_STATES: Record<number, string> = { 0: 'STATE_UNSPECIFIED', 1: 'CONDITION_PENDING', 2: 'CONDITION_RECONCILING', 3: 'CONDITION_FAILED', 4: 'CONDITION_SUCCEEDED' };
const EXECUTION_REASONS: Record<number, string> = { 0: 'EXECUTION_REASON_UNDEFINED', 1: 'JOB_STATUS_SERVICE_POLLING_ERROR', 2: 'NON_ZERO_EXIT_CODE', 3: 'CANCELLED', 4: 'CANCELLING', 5: 'DELETED' };

/**
 * An Execution (REST JSON) as postload reads it. It has ended when its `Completed`
 * condition succeeded or failed, or a completion time is set; a cancelled one is told by
 * the condition's executionReason CANCELLED or a cancelled count (its operation ends without
 * an error, so the counts decide); it is running once it has a start time or running tasks.
 */
export function executionView(value: unknown): ExecutionView | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e.name !== 'string' || !e.name.includes('/executions/')) return undefined;
  const conditions = Array.isArray(e.conditions) ? (e.conditions as Array<Record<string, unknown>>) : [];
  const completed = conditions.find((c) => c.type === 'Completed');
  const state = typeof completed?.state === 'number' ? CONDITION_STATES[completed.state] : completed?.state;
  const reason = typeof completed?.executionReason === 'number' ? EXECUTION_REASONS[completed.executionReason] : completed?.executionReason;
  const count = (field: string) => (typeof e[field] === 'number' ? (e[field] as number) : Number(e[field] ?? 0) || 0);
  const text = (field: string) => (typeof e[field] === 'string' ? (e[field] as string) : null);
  const ended = state === 'CONDITION_SUCCEEDED' || state === 'CONDITION_FAILED' || text('completionTime') !== null;
  let phase: ExecutionState;
  if (ended) {
    if (reason === 'CANCELLED' || count('cancelledCount') > 0) phase = 'cancelled';
    else if (state === 'CONDITION_SUCCEEDED' || (count('failedCount') === 0 && count('succeededCount') > 0)) phase = 'succeeded';
    else phase = 'failed';
  } else {
    phase = text('startTime') !== null || count('runningCount') > 0 ? 'running' : 'pending';
  }
  const containers = ((e.template as { containers?: unknown } | undefined)?.containers ?? []) as Array<{ env?: Array<{ name?: unknown; value?: unknown }> }>;
  const marker = Array.isArray(containers) ? containers.flatMap((c) => (Array.isArray(c?.env) ? c.env : [])).find((v) => v?.name === ACTION_ID_ENV)?.value : undefined;
  return {
    name: e.name,
    state: phase,
    createTime: text('createTime'),
    startTime: text('startTime'),
    completionTime: text('completionTime'),
    message: ended && phase !== 'succeeded' && typeof completed?.message === 'string' ? cutHead(completed.message, 1000) : null,
    logUri: text('logUri'),
    actionId: typeof marker === 'string' ? marker : null,
  };
}

/** "projects/P/locations/R/jobs/J" → "J (R)". */
export function shortJob(job: string): string {
  const match = /^projects\/[^/]+\/locations\/([^/]+)\/jobs\/([^/]+)$/.exec(job);
  return match ? `${match[2]} (${match[1]})` : job;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function googleMessage(text: string): string {
  const message = (parse(text) as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' ? cutHead(message, 300) : '';
}
