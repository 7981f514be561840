import { randomBytes, randomUUID } from 'node:crypto';
import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

// A stand-in for the Cloud Run Admin API v2, the calls postload makes to run Cloud Run jobs
// (Google ships no emulator for it: `gcloud emulators` covers Bigtable, Datastore,
// Firestore, Pub/Sub and Spanner). Shapes from Google's protos and REST reference
// (googleapis/googleapis google/cloud/run/v2/{job,execution,condition}.proto and run_v2.yaml;
// cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run and
// …/projects.locations.jobs.executions; cloud.google.com/run/docs/execute/jobs; quotas at
// cloud.google.com/run/quotas):
// - POST /v2/projects/P/locations/R/jobs/J:run {overrides: {containerOverrides: [{name, args,
//   env, clearArgs}], taskCount, timeout}, validateOnly, etag} answers a
//   google.longrunning.Operation whose metadata is the new Execution: no `done` (false),
//   `reconciling: true`, condition Completed CONDITION_PENDING. The operation completes only
//   when the execution finishes: `done: true` with `response` (the Execution) on success and
//   on cancel (a cancelled execution completes its operation without `error`, as Airflow's
//   CloudRunJobFinishedTrigger notes), `error` {code, message} on failure;
// - `args` replace the job's args, `env` is merged into the job's env, `clearArgs` empties
//   args, taskCount and timeout replace the job's; nothing else can be overridden. Limits:
//   at most 1000 args and 1000 env vars per container, an env value at most 32768 bytes, a
//   task timeout at most 168 h: beyond them 400 INVALID_ARGUMENT. There is no idempotency key:
//   a second POST makes a second execution;
// - overrides need run.jobs.runWithOverrides besides run.jobs.run: the stand-in is given the
//   permissions its caller holds (`permissions`); a missing one, or a job the caller cannot
//   see, is 403 PERMISSION_DENIED "Permission '…' denied on resource '…' (or resource may not
//   exist)." (a missing job looks the same to a caller without project-wide access); with
//   `revealMissingJobs` a missing job is 404 NOT_FOUND "Resource 'J' of kind 'JOB' in region
//   'R' in project 'P' does not exist." (what a caller with access sees);
// - GET /v2/{operation} and POST /v2/{operation}:wait {timeout} (the wait answers when the
//   operation is done or the timeout passed, here at most 5 s);
// - GET /v2/projects/P/locations/R/jobs/J/executions?pageSize&pageToken → {executions,
//   nextPageToken}, newest first (by createTime), no filter parameter; J may be `-` (every
//   job); GET /v2/{execution}; POST /v2/{execution}:cancel → Operation;
// - an execution's name is `{job}-{5 lowercase letters and digits}`; its template carries the
//   containers as run, overrides applied (as real first answers show: planqtn/planqtn's
//   cloud-run-client.ts pastes one whose template holds the overridden args and env; Google
//   does not say so in words);
// - int64 fields (generation) are JSON strings, zero counts are left out; enums are names;
// - GET /v2/projects/P/locations/R/jobs/J → Job; POST /v2/{job}:testIamPermissions
//   {permissions} → {permissions: the ones held} (what `postload check` asks);
// - errors are Google's JSON error model {error: {code, message, status}}; 429
//   RESOURCE_EXHAUSTED ("Quota exceeded for quota metric 'Job run requests' …") through
//   `rateLimit()`, with a Retry-After only when asked (Google sends none in general);
// - `Authorization: Bearer <token>` is checked when the stand-in is given a token (401
//   UNAUTHENTICATED otherwise).
// A lost answer is `failRuns('lost')`: the execution exists, its answer never arrives.

const JOB_PATH = /^\/v2\/(projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/:]+))$/;
const RUN = /^\/v2\/(projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/:]+)):run$/;
const TEST_IAM = /^\/v2\/(projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/:]+)):testIamPermissions$/;
const LIST_EXECUTIONS = /^\/v2\/projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/:]+)\/executions$/;
const EXECUTION = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+\/executions\/[^/:]+)(:cancel)?$/;
const OPERATION = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/operations\/[^/:]+)(:wait)?$/;

export const CLOUD_RUN_LIMITS = { maxArgs: 1000, maxEnvVars: 1000, maxEnvValueBytes: 32_768, maxTimeoutSeconds: 168 * 3600 } as const;
export const RUN_PERMISSIONS = ['run.jobs.run', 'run.jobs.runWithOverrides', 'run.executions.get', 'run.executions.list', 'run.jobs.get'] as const;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface FakeContainer {
  name: string;
  image: string;
  args: string[];
  env: Array<{ name: string; value: string }>;
}

export interface FakeJob {
  /** projects/P/locations/R/jobs/J */
  name: string;
  containers: FakeContainer[];
  taskCount: number;
  /** Duration string, e.g. "600s". */
  timeout: string;
}

export type ExecutionState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface FakeExecution {
  /** projects/P/locations/R/jobs/J/executions/J-abcde */
  name: string;
  job: FakeJob;
  operation: string;
  containers: FakeContainer[];
  taskCount: number;
  timeout: string;
  state: ExecutionState;
  createTime: string;
  startTime: string | null;
  completionTime: string | null;
  /** The exit code of a failed task. */
  exitCode: number;
}

/**
 * How a run request can go wrong. 'lost': the execution is created, its answer never
 * arrives; 'ran-then-503': the execution is created and the answer is a 503 (a front end
 * failing after the back end acted); a Reply: answered so, nothing created.
 */
export type RunFault = 'lost' | 'ran-then-503' | Reply;

export interface FakeCloudRunOptions {
  /** The jobs that exist (by full name, with their containers as deployed). */
  jobs: Array<Pick<FakeJob, 'name'> & Partial<Omit<FakeJob, 'name'>>>;
  /** The bearer token it accepts; unset: it checks none. */
  token?: string;
  /** Permissions the caller holds on every job (default: all of RUN_PERMISSIONS). */
  permissions?: readonly string[];
  /** A missing job answers 404 (a caller who may list jobs), else 403 like any refusal. */
  revealMissingJobs?: boolean;
  /** Executions run on their own (npm start, the demo): pending → running after delayMs, then ended after runMs. */
  play?: { delayMs?: number; runMs?: number; endFor?: (execution: FakeExecution) => 'succeeded' | 'failed' };
}

export class FakeCloudRun extends RecordingServer {
  readonly executions: FakeExecution[] = [];
  private readonly jobs = new Map<string, FakeJob>();
  private readonly faults: RunFault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  permissions: Set<string>;

  constructor(private readonly options: FakeCloudRunOptions) {
    super('Cloud Run', (request, server) => (server as FakeCloudRun).answer(request));
    for (const job of options.jobs) this.addJob(job);
    this.permissions = new Set(options.permissions ?? RUN_PERMISSIONS);
  }

  addJob(job: Pick<FakeJob, 'name'> & Partial<Omit<FakeJob, 'name'>>): FakeJob {
    const full: FakeJob = {
      name: job.name,
      containers: job.containers ?? [{ name: 'job', image: 'us-docker.pkg.dev/cloudrun/container/job:latest', args: [], env: [] }],
      taskCount: job.taskCount ?? 1,
      timeout: job.timeout ?? '600s',
    };
    this.jobs.set(job.name, full);
    return full;
  }

  /** The next run requests go wrong in these ways, in order. */
  failRuns(...faults: RunFault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** The next `count` requests (of any kind) are answered 429 RESOURCE_EXHAUSTED. */
  rateLimit(count = 1, retryAfterSeconds?: number): this {
    for (let i = 0; i < count; i++) {
      this.script({
        status: 429,
        ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }),
        body: googleError(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Job run requests' and limit 'Job run requests per minute per region' of service 'run.googleapis.com' for consumer 'project_number:000000000000'."),
      });
    }
    return this;
  }

  /** Moves an execution on (tests drive executions by hand unless `play` is set). */
  setState(name: string, state: ExecutionState, exitCode = 1): FakeExecution {
    const execution = this.executions.find((e) => e.name === name || e.name.endsWith(`/${name}`));
    if (!execution) throw new Error(`no execution ${name}`);
    const now = new Date().toISOString();
    if (state !== 'pending' && !execution.startTime && state !== 'cancelled') execution.startTime = now;
    if (state === 'succeeded' || state === 'failed' || state === 'cancelled') execution.completionTime = now;
    execution.state = state;
    execution.exitCode = exitCode;
    return execution;
  }

  /** Executions whose containers carry this env var with this value (what a duplicate run would look like). */
  executionsWithEnv(name: string, value: string): FakeExecution[] {
    return this.executions.filter((e) => e.containers.some((c) => c.env.some((v) => v.name === name && v.value === value)));
  }

  /** An execution nobody started through postload (a scheduled run, a run from the console). */
  addExecution(jobName: string, { env = [], createTime = new Date().toISOString() }: { env?: Array<{ name: string; value: string }>; createTime?: string } = {}): FakeExecution {
    const job = this.jobs.get(jobName);
    if (!job) throw new Error(`no job ${jobName}`);
    return this.createExecution(job, job.containers.map((c) => ({ ...c, env: [...c.env, ...env] })), job.taskCount, job.timeout, createTime);
  }

  override reset(): void {
    super.reset();
    this.executions.length = 0;
    this.faults.length = 0;
    this.clearTimers();
  }

  override async stop(): Promise<void> {
    this.clearTimers();
    await super.stop();
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async answer(request: RecordedRequest): Promise<Reply> {
    if (this.options.token !== undefined && request.headers.authorization !== `Bearer ${this.options.token}`) {
      return { status: 401, body: googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.') };
    }
    const url = new URL(request.url, 'http://run.local');
    const path = url.pathname;
    if (request.method === 'POST') {
      const run = RUN.exec(path);
      if (run) return this.run(run[1]!, run[2]!, run[3]!, run[4]!, request);
      const iam = TEST_IAM.exec(path);
      if (iam) return this.testIam(iam[1]!, request);
      const cancel = EXECUTION.exec(path);
      if (cancel?.[2]) return this.cancel(cancel[1]!);
      const wait = OPERATION.exec(path);
      if (wait?.[2]) return this.wait(wait[1]!, request);
      return notFound(path);
    }
    if (request.method !== 'GET') return notFound(path);
    const list = LIST_EXECUTIONS.exec(path);
    if (list) return this.list(list[1]!, list[2]!, list[3]!, url.searchParams);
    const execution = EXECUTION.exec(path);
    if (execution) {
      const found = this.executions.find((e) => e.name === execution[1]);
      if (found && !this.permissions.has('run.executions.get')) return denied('run.executions.get', found.name);
      return found ? ok(this.view(found)) : notFound(execution[1]!);
    }
    const operation = OPERATION.exec(path);
    if (operation) {
      const found = this.executions.find((e) => e.operation === operation[1]);
      return found ? ok(this.operationView(found)) : notFound(operation[1]!);
    }
    const job = JOB_PATH.exec(path);
    if (job) {
      const found = this.jobs.get(job[1]!);
      if (!found || !this.permissions.has('run.jobs.get')) return this.missing(job[1]!, job[2]!, job[3]!, job[4]!, 'run.jobs.get');
      return ok(this.jobView(found));
    }
    return notFound(path);
  }

  private run(jobName: string, project: string, region: string, shortName: string, request: RecordedRequest): Reply {
    const job = this.jobs.get(jobName);
    const body = (request.json ?? {}) as { overrides?: Overrides; validateOnly?: boolean };
    const overrides = body.overrides;
    if (!job || !this.permissions.has('run.jobs.run')) return this.missing(jobName, project, region, shortName, 'run.jobs.run');
    if (overrides && !this.permissions.has('run.jobs.runWithOverrides')) return denied('run.jobs.runWithOverrides', jobName);
    const built = applyOverrides(job, overrides);
    if (typeof built === 'string') return { status: 400, body: googleError(400, 'INVALID_ARGUMENT', built) };
    const fault = this.faults.shift();
    if (fault && fault !== 'lost' && fault !== 'ran-then-503') return fault;
    if (body.validateOnly) {
      return ok({ name: `projects/${project}/locations/${region}/operations/${randomUUID()}`, done: true, metadata: { '@type': 'type.googleapis.com/google.cloud.run.v2.Execution', job: shortName } });
    }
    const execution = this.createExecution(job, built.containers, built.taskCount, built.timeout);
    if (fault === 'lost') return 'drop';
    if (fault === 'ran-then-503') return { status: 503, body: googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.') };
    return ok(this.operationView(execution));
  }

  private createExecution(job: FakeJob, containers: FakeContainer[], taskCount: number, timeout: string, createTime = new Date().toISOString()): FakeExecution {
    const [, project, region, shortName] = /^projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/]+)$/.exec(job.name)!;
    const suffix = Array.from(randomBytes(5), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
    const execution: FakeExecution = {
      name: `${job.name}/executions/${shortName}-${suffix}`,
      job,
      operation: `projects/${project}/locations/${region}/operations/${randomUUID()}`,
      containers,
      taskCount,
      timeout,
      state: 'pending',
      createTime,
      startTime: null,
      completionTime: null,
      exitCode: 0,
    };
    this.executions.push(execution);
    if (this.options.play) this.playExecution(execution, this.options.play);
    return execution;
  }

  private playExecution(execution: FakeExecution, play: NonNullable<FakeCloudRunOptions['play']>): void {
    const later = (ms: number, step: () => void) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        step();
      }, ms);
      this.timers.add(timer);
    };
    later(play.delayMs ?? 300, () => {
      if (execution.state !== 'pending') return;
      this.setState(execution.name, 'running');
      later(play.runMs ?? 1_000, () => {
        if (execution.state !== 'running') return;
        const end = play.endFor?.(execution) ?? 'succeeded';
        this.setState(execution.name, end, end === 'failed' ? 1 : 0);
      });
    });
  }

  private list(project: string, region: string, job: string, query: URLSearchParams): Reply {
    if (!this.permissions.has('run.executions.list')) return denied('run.executions.list', `projects/${project}/locations/${region}/jobs/${job}`);
    const pageSize = query.has('pageSize') ? Number(query.get('pageSize')) : DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 0) return { status: 400, body: googleError(400, 'INVALID_ARGUMENT', 'page_size must be non-negative') };
    const size = Math.min(pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const offset = query.has('pageToken') ? Number(Buffer.from(query.get('pageToken')!, 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(offset) || offset < 0) return { status: 400, body: googleError(400, 'INVALID_ARGUMENT', 'invalid page token') };
    const prefix = `projects/${project}/locations/${region}/jobs/`;
    const matching = this.executions
      .filter((e) => e.name.startsWith(prefix) && (job === '-' || e.job.name === `${prefix}${job}`))
      .sort((a, b) => Date.parse(b.createTime) - Date.parse(a.createTime) || b.name.localeCompare(a.name));
    const page = matching.slice(offset, offset + size);
    const next = offset + size < matching.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined;
    return ok({ ...(page.length ? { executions: page.map((e) => this.view(e)) } : {}), ...(next ? { nextPageToken: next } : {}) });
  }

  private cancel(name: string): Reply {
    const execution = this.executions.find((e) => e.name === name);
    if (!execution) return notFound(name);
    if (['succeeded', 'failed', 'cancelled'].includes(execution.state)) {
      return { status: 400, body: googleError(400, 'FAILED_PRECONDITION', `Execution ${name} has already completed.`) };
    }
    this.setState(name, 'cancelled');
    return ok(this.operationView(execution));
  }

  private async wait(name: string, request: RecordedRequest): Promise<Reply> {
    const execution = this.executions.find((e) => e.operation === name);
    if (!execution) return notFound(name);
    const timeout = /^(\d+(?:\.\d+)?)s$/.exec(String((request.json as { timeout?: unknown } | undefined)?.timeout ?? ''));
    const until = Date.now() + Math.min(timeout ? Number(timeout[1]) * 1000 : 5_000, 5_000);
    while (!isEnded(execution.state) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    return ok(this.operationView(execution));
  }

  private testIam(jobName: string, request: RecordedRequest): Reply {
    if (!this.jobs.has(jobName)) return { status: 200, body: {} };
    const asked = ((request.json as { permissions?: unknown } | undefined)?.permissions ?? []) as unknown[];
    const held = asked.filter((p): p is string => typeof p === 'string' && this.permissions.has(p));
    return ok(held.length ? { permissions: held } : {});
  }

  private missing(jobName: string, project: string, region: string, shortName: string, permission: string): Reply {
    if (!this.jobs.has(jobName) && this.options.revealMissingJobs) {
      return { status: 404, body: googleError(404, 'NOT_FOUND', `Resource '${shortName}' of kind 'JOB' in region '${region}' in project '${project}' does not exist.`) };
    }
    return denied(permission, jobName);
  }

  private jobView(job: FakeJob): Record<string, unknown> {
    const latest = [...this.executions].reverse().find((e) => e.job === job);
    return {
      name: job.name,
      uid: randomUUID(),
      generation: '1',
      createTime: '2026-01-01T00:00:00Z',
      launchStage: 'GA',
      template: { taskCount: job.taskCount, template: { containers: job.containers, timeout: job.timeout, maxRetries: 0 } },
      executionCount: this.executions.filter((e) => e.job === job).length,
      ...(latest ? { latestCreatedExecution: { name: latest.name, createTime: latest.createTime, completionStatus: COMPLETION_STATUS[latest.state] } } : {}),
      etag: `"${job.name.length}"`,
    };
  }

  view(execution: FakeExecution): Record<string, unknown> {
    const ended = isEnded(execution.state);
    const completed = execution.state === 'succeeded' ? 'CONDITION_SUCCEEDED' : ended ? 'CONDITION_FAILED' : 'CONDITION_PENDING';
    const shortName = execution.name.split('/').pop()!;
    const counts: Record<string, number> = {
      runningCount: execution.state === 'running' ? execution.taskCount : 0,
      succeededCount: execution.state === 'succeeded' ? execution.taskCount : 0,
      failedCount: execution.state === 'failed' ? execution.taskCount : 0,
      cancelledCount: execution.state === 'cancelled' ? execution.taskCount : 0,
    };
    return {
      name: execution.name,
      uid: randomUUID(),
      creator: 'postload-processor@project.iam.gserviceaccount.com',
      generation: '1',
      createTime: execution.createTime,
      ...(execution.startTime ? { startTime: execution.startTime } : {}),
      ...(execution.completionTime ? { completionTime: execution.completionTime } : {}),
      updateTime: execution.completionTime ?? execution.startTime ?? execution.createTime,
      launchStage: 'GA',
      job: execution.job.name.split('/').pop(),
      parallelism: execution.taskCount,
      taskCount: execution.taskCount,
      template: { containers: execution.containers, maxRetries: 0, timeout: execution.timeout },
      reconciling: !ended,
      conditions: [
        { type: 'Completed', state: completed, ...(ended ? { lastTransitionTime: execution.completionTime, ...endDetail(execution, shortName) } : {}) },
        ...(execution.startTime ? [{ type: 'Started', state: 'CONDITION_SUCCEEDED', lastTransitionTime: execution.startTime }] : []),
      ],
      observedGeneration: '1',
      ...Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
      logUri: `https://console.cloud.google.com/logs/viewer?advancedFilter=resource.type%3D%22cloud_run_job%22%0Alabels.%22run.googleapis.com/execution_name%22%3D%22${shortName}%22`,
      etag: `"${shortName}"`,
    };
  }

  private operationView(execution: FakeExecution): Record<string, unknown> {
    const metadata = { '@type': 'type.googleapis.com/google.cloud.run.v2.Execution', ...this.view(execution) };
    if (!isEnded(execution.state)) return { name: execution.operation, metadata };
    if (execution.state === 'failed') {
      const shortName = execution.name.split('/').pop();
      return { name: execution.operation, done: true, metadata, error: { code: 10, message: `Task ${shortName}-task0 failed with exit code: ${execution.exitCode} and message: The container exited with an error.` } };
    }
    return { name: execution.operation, done: true, metadata, response: metadata };
  }
}

export function fakeCloudRun(options: FakeCloudRunOptions): FakeCloudRun {
  return new FakeCloudRun(options);
}

/** The :run requests a fake Cloud Run received. */
export function runRequests(server: RecordingServer): RecordedRequest[] {
  return server.requests.filter((r) => r.method === 'POST' && RUN.test(new URL(r.url, 'http://run.local').pathname));
}

interface Overrides {
  containerOverrides?: Array<{ name?: string; args?: unknown; env?: unknown; clearArgs?: boolean }>;
  taskCount?: unknown;
  timeout?: unknown;
}

/** The containers, task count and timeout of a new execution, or why the overrides are refused (400). */
function applyOverrides(job: FakeJob, overrides: Overrides | undefined): { containers: FakeContainer[]; taskCount: number; timeout: string } | string {
  const containers = job.containers.map((c) => ({ ...c, args: [...c.args], env: [...c.env] }));
  for (const override of overrides?.containerOverrides ?? []) {
    const target = override.name ? containers.find((c) => c.name === override.name) : containers.length === 1 ? containers[0] : undefined;
    if (!target) return `container "${override.name ?? ''}" is not a container of job ${job.name}`;
    if (override.args !== undefined) {
      if (!Array.isArray(override.args) || !override.args.every((a) => typeof a === 'string')) return 'overrides.containerOverrides.args must be strings';
      if (override.args.length > CLOUD_RUN_LIMITS.maxArgs) return `overrides.containerOverrides.args: at most ${CLOUD_RUN_LIMITS.maxArgs} arguments`;
      target.args = override.args;
    }
    if (override.clearArgs) target.args = [];
    if (override.env !== undefined) {
      if (!Array.isArray(override.env)) return 'overrides.containerOverrides.env must be a list';
      for (const item of override.env as Array<{ name?: unknown; value?: unknown }>) {
        if (typeof item?.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(item.name)) return `env var name ${JSON.stringify(item?.name)} is invalid`;
        if (typeof item.value !== 'string') return `env var ${item.name}: value must be a string`;
        if (Buffer.byteLength(item.value) > CLOUD_RUN_LIMITS.maxEnvValueBytes) return `env var ${item.name}: value exceeds ${CLOUD_RUN_LIMITS.maxEnvValueBytes} bytes`;
        target.env = [...target.env.filter((v) => v.name !== item.name), { name: item.name, value: item.value }];
      }
      if (target.env.length > CLOUD_RUN_LIMITS.maxEnvVars) return `at most ${CLOUD_RUN_LIMITS.maxEnvVars} env vars per container`;
    }
  }
  let taskCount = job.taskCount;
  if (overrides?.taskCount !== undefined) {
    if (!Number.isInteger(overrides.taskCount) || (overrides.taskCount as number) < 1 || (overrides.taskCount as number) > 10_000) return 'overrides.taskCount must be between 1 and 10000';
    taskCount = overrides.taskCount as number;
  }
  let timeout = job.timeout;
  if (overrides?.timeout !== undefined) {
    const seconds = /^(\d+)s$/.exec(String(overrides.timeout));
    if (!seconds || Number(seconds[1]) < 1 || Number(seconds[1]) > CLOUD_RUN_LIMITS.maxTimeoutSeconds) return `overrides.timeout must be a duration such as "3600s", at most ${CLOUD_RUN_LIMITS.maxTimeoutSeconds}s`;
    timeout = String(overrides.timeout);
  }
  return { containers, taskCount, timeout };
}

const COMPLETION_STATUS: Record<ExecutionState, string> = {
  pending: 'EXECUTION_PENDING',
  running: 'EXECUTION_RUNNING',
  succeeded: 'EXECUTION_SUCCEEDED',
  failed: 'EXECUTION_FAILED',
  cancelled: 'EXECUTION_CANCELLED',
};

function endDetail(execution: FakeExecution, shortName: string): Record<string, unknown> {
  if (execution.state === 'succeeded') return { message: 'Execution completed successfully in 0s.' };
  if (execution.state === 'cancelled') return { executionReason: 'CANCELLED', severity: 'INFO', message: 'The execution was cancelled.' };
  return { executionReason: 'NON_ZERO_EXIT_CODE', severity: 'ERROR', message: `Task ${shortName}-task0 failed with exit code: ${execution.exitCode} and message: The container exited with an error.` };
}

function isEnded(state: ExecutionState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

function ok(body: object): Reply {
  return { status: 200, body };
}

function googleError(code: number, status: string, message: string): object {
  return { error: { code, message, status } };
}

function denied(permission: string, resource: string): Reply {
  return { status: 403, body: googleError(403, 'PERMISSION_DENIED', `Permission '${permission}' denied on resource '${resource}' (or resource may not exist).`) };
}

function notFound(what: string): Reply {
  return { status: 404, body: googleError(404, 'NOT_FOUND', `Resource '${what}' was not found`) };
}
