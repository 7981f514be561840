import { randomBytes } from 'node:crypto';
import { FakeDbtCloudWebhooks } from './fake-dbt-cloud-webhooks.js';
import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';
import { postDbtCloud } from './webhooks.js';

// A stand-in for the dbt Cloud Administrative API v2, answering with the shapes dbt Cloud
// documents (docs.getdbt.com/dbt-cloud/api-v2; the OpenAPI spec in dbt-labs/dbt-cloud-openapi-spec):
// - a Run has no `cause`: the cause is on the related `trigger` object, present only when
//   the request asks `include_related=["trigger"]` (dbt's own docs write the JSON-array
//   form, `?include_related=["trigger"]&order_by=-id`; Python clients send repeated
//   `include_related=trigger`; both are accepted, as is a comma list);
// - list runs filters on `job_definition_id`, `status` and `status__in` (`[1,2,3]`),
//   orders by `id`, `created_at` or `finished_at` (each also with `-`; anything else is a
//   400, as since dbt's May 2023 restriction), pages with `limit` (at most 100) and `offset`;
// - status codes 1 Queued, 2 Starting, 3 Running, 10 Success, 20 Error, 30 Cancelled;
// - GET .../jobs/{id}/ answers 404 for a job that does not exist;
// - dbt Cloud never deduplicates triggers: every POST queues a new run;
// - `Authorization: Token <token>` (checked only when the stand-in is given a token: a wrong
//   one is a 401 with the envelope); an account the stand-in does not know is a 404;
// - webhook subscriptions (API v3): fake-dbt-cloud-webhooks.ts (`.subscriptions`);
// - POST .../runs/{id}/retry/ ("Retry Run", openapi-v2.yaml) enqueues a retry of a failed
//   run; a run it cannot retry is refused with the reason the spec's RetryNotSupportedReasonEnum
//   names (RETRY_NOT_FAILED_RUN, RETRY_NOT_LATEST_RUN). The spec says nothing of the new run's
//   trigger cause: the stand-in writes "Retry of run <id>";
// - rate limits are per account (docs.getdbt.com/docs/dbt-apis/rate-limits) with no documented
//   Retry-After: script a 429 with `rateLimit()`.
const TRIGGER = /^\/api\/v2\/accounts\/(\d+)\/jobs\/(\d+)\/run\/?$/;
const LIST_RUNS = /^\/api\/v2\/accounts\/(\d+)\/runs\/?$/;
const GET_RUN = /^\/api\/v2\/accounts\/(\d+)\/runs\/(\d+)\/?$/;
const GET_JOB = /^\/api\/v2\/accounts\/(\d+)\/jobs\/(\d+)\/?$/;
const RETRY_RUN = /^\/api\/v2\/accounts\/(\d+)\/runs\/(\d+)\/retry\/?$/;
const ORDERABLE = new Set(['id', 'created_at', 'finished_at']);
const MAX_LIMIT = 100;

export const RUN_STATUS: Record<number, string> = { 1: 'Queued', 2: 'Starting', 3: 'Running', 10: 'Success', 20: 'Error', 30: 'Cancelled' };

/** How a trigger request can go wrong. 'lost': the run is queued but the answer never arrives. */
export type TriggerFault = 'lost' | 'started-then-502' | Reply;

export interface FakeRun {
  id: number;
  accountId: number;
  jobId: number;
  status: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  trigger: Record<string, unknown>;
}

/** How a run the stand-in queued ends: Success (10), Error (20) or Cancelled (30). */
export type RunEnd = 'success' | 'error' | 'cancelled';

/**
 * The outbound webhooks dbt Cloud sends for a job's runs (Account settings → Webhooks),
 * here for every run the stand-in queues: `job.run.started`, then `job.run.errored` (an
 * error only, as soon as it happens) and `job.run.completed`, each signed with `secret`
 * in `Authorization` (hex HMAC-SHA256 of the body) and shaped like the payloads in
 * test/fixtures/dbt-cloud/ (docs.getdbt.com/docs/deploy/webhooks). A delivery that does not get a 2xx is retried, as dbt
 * Cloud does, up to 5 times.
 */
export interface RunWebhooks {
  /** postload's `/dbt-cloud` URL. */
  url: string;
  secret: string;
  /** Time from the trigger to `started`, and from `started` to the end (default 300 ms). */
  delayMs?: number;
  /** How each run ends (default: success). */
  endFor?: (run: FakeRun) => RunEnd;
  /** Runs left queued, with no webhooks: a job kept busy (the demo's coalesced burst, issue 12). */
  hold?: (run: FakeRun) => boolean;
  /** The error message of a failed run (dbt Cloud's `runStatusMessage`). */
  errorMessage?: (run: FakeRun) => string;
  /** Called after each delivery (the last attempt's status, or the network error). */
  onDelivery?: (delivery: WebhookDelivery) => void;
}

export interface WebhookDelivery {
  eventType: string;
  runId: number;
  body: string;
  status: number | string;
  attempts: number;
}

const WEBHOOK_ATTEMPTS = 5;

export interface FakeDbtCloudOptions {
  /** The jobs that exist; unset: every job id exists. */
  jobs?: number[];
  /** The accounts that exist; unset: every account id exists. */
  accounts?: number[];
  /** The API token it accepts; unset: it checks none. */
  token?: string;
  /**
   * For chaos tests: a random fault for some triggers, drawn from a seeded generator; with
   * `lists`, also for some list-runs calls (429 or 500 only: a read cannot be half done).
   */
  chaos?: { seed: number; rate: number; faults: TriggerFault[]; lists?: boolean };
}

export class FakeDbtCloud extends RecordingServer {
  readonly runs: FakeRun[] = [];
  private readonly faults: TriggerFault[] = [];
  private nextRunId = 70_000_000;
  private random: () => number;
  private webhooks: RunWebhooks | undefined;
  private progress: { startAfterMs: number; runForMs: number } | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The run webhooks sent (after their last attempt), in order. */
  readonly webhookDeliveries: WebhookDelivery[] = [];
  /** Webhook subscriptions made through the v3 API (sendRunWebhooks is the older, test-given target). */
  readonly subscriptions: FakeDbtCloudWebhooks;

  constructor(private readonly options: FakeDbtCloudOptions = {}) {
    super('dbt Cloud', (request, server) => (server as FakeDbtCloud).answer(request));
    this.random = mulberry32(options.chaos?.seed ?? 1);
    this.subscriptions = new FakeDbtCloudWebhooks((id) => this.accountExists(id), envelope);
  }

  /** The next `count` requests are answered 429 (with Retry-After when given). */
  rateLimit(count = 1, retryAfterSeconds?: number): this {
    for (let i = 0; i < count; i++) {
      this.script({ status: 429, ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }), body: envelope(429, 'Too many requests.', null) });
    }
    return this;
  }

  /** The next trigger requests go wrong in these ways, in order. */
  failTriggers(...faults: TriggerFault[]): this {
    this.faults.push(...faults);
    return this;
  }

  override reset(): void {
    super.reset();
    this.runs.length = 0;
    this.faults.length = 0;
    this.webhookDeliveries.length = 0;
    this.progress = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  override async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await super.stop();
  }

  /** From now on, every run this stand-in queues reports its start and end to `url` as dbt Cloud's webhooks do; undefined stops it. Off unless asked. */
  sendRunWebhooks(webhooks: RunWebhooks | undefined): this {
    this.webhooks = webhooks;
    return this;
  }

  /**
   * The body dbt Cloud sends for this run event (the fixtures' shape: ids as strings,
   * `timestamp` with nanoseconds, `runErroredAt` on errored, `runFinishedAt` on completed).
   */
  webhookBody(run: FakeRun, eventType: 'job.run.started' | 'job.run.completed' | 'job.run.errored', message = 'None'): string {
    const status = eventType === 'job.run.started' ? 3 : run.status;
    const finished = eventType === 'job.run.started' ? {} : eventType === 'job.run.errored' ? { runErroredAt: seconds(run.finishedAt) } : { runFinishedAt: seconds(run.finishedAt) };
    return JSON.stringify({
      accountId: run.accountId,
      webhookId: 'wsu_local',
      eventId: `wev_${randomBytes(12).toString('hex')}`,
      timestamp: new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z'),
      eventType,
      webhookName: 'postload-local',
      data: {
        jobId: String(run.jobId),
        jobName: `Job ${run.jobId}`,
        runId: String(run.id),
        environmentId: '1',
        environmentName: 'Production',
        dbtVersion: '1.9.0',
        projectName: 'Analytics',
        projectId: '1',
        runStatus: { 3: 'Running', 10: 'Success', 20: 'Errored', 30: 'Canceled' }[status] ?? 'Running',
        runStatusCode: status,
        runStatusMessage: status === 20 ? message : 'None',
        runReason: String(run.trigger.cause ?? ''),
        runStartedAt: seconds(run.startedAt),
        ...finished,
      },
    });
  }

  /** Posts one run event to `url`, signed, retrying a non-2xx or a network error like dbt Cloud. */
  async deliverWebhook(webhooks: RunWebhooks, run: FakeRun, body: string, eventType: string): Promise<WebhookDelivery> {
    let status: number | string = 'not sent';
    let attempts = 0;
    while (attempts < WEBHOOK_ATTEMPTS) {
      attempts++;
      status = await postDbtCloud(webhooks.url, body, webhooks.secret).then(
        (response) => response.status,
        (error: unknown) => (error as Error).message,
      );
      if (typeof status === 'number' && status < 300) break;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempts));
    }
    const delivery = { eventType, runId: run.id, body, status, attempts };
    this.webhookDeliveries.push(delivery);
    webhooks.onDelivery?.(delivery);
    return delivery;
  }

  /**
   * From now on, every run this stand-in queues starts (status 3) `startAfterMs` after it
   * was queued and succeeds (10) `runForMs` later (default: as long again), as runs of an
   * idle dbt Cloud job do, without webhooks (they are optional in dbt Cloud); undefined
   * stops it. Off unless asked.
   */
  progressRuns(startAfterMs: number | undefined, runForMs = startAfterMs): this {
    this.progress = startAfterMs === undefined ? undefined : { startAfterMs, runForMs: runForMs ?? startAfterMs };
    return this;
  }

  /** The run's life after it is queued: starts after delayMs, ends delayMs later, each step reported by its webhooks when they are set. */
  private playRun(run: FakeRun, webhooks: RunWebhooks | undefined, delays = { startAfterMs: webhooks?.delayMs ?? 300, runForMs: webhooks?.delayMs ?? 300 }): void {
    let step = 0;
    const later = (next: () => Promise<void>) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void next();
      }, step++ === 0 ? delays.startAfterMs : delays.runForMs);
      this.timers.add(timer);
    };
    later(async () => {
      if (!webhooks && run.status !== 1) return; // moved by a test meanwhile
      run.status = 3;
      run.startedAt = new Date().toISOString();
      if (webhooks) await this.deliverWebhook(webhooks, run, this.webhookBody(run, 'job.run.started'), 'job.run.started');
      later(async () => {
        if (!webhooks && run.status !== 3) return;
        const end = webhooks?.endFor?.(run) ?? 'success';
        this.setStatus(run.id, end === 'success' ? 10 : end === 'error' ? 20 : 30);
        if (!webhooks) return;
        if (end === 'error') {
          const message = webhooks.errorMessage?.(run) ?? `Database Error in model job_${run.jobId}_model`;
          // errored fires as soon as the run errors, completed once its artifacts are in: a failed run sends both.
          await this.deliverWebhook(webhooks, run, this.webhookBody(run, 'job.run.errored', message), 'job.run.errored');
          await this.deliverWebhook(webhooks, run, this.webhookBody(run, 'job.run.completed', message), 'job.run.completed');
        } else {
          await this.deliverWebhook(webhooks, run, this.webhookBody(run, 'job.run.completed'), 'job.run.completed');
        }
      });
    });
  }

  /** Moves a run to another status (10/20/30 finish it). */
  setStatus(runId: number, status: number): void {
    const run = this.runs.find((r) => r.id === runId);
    if (!run) throw new Error(`no run ${runId}`);
    run.status = status;
    run.finishedAt = status >= 10 ? new Date().toISOString() : null;
  }

  /** Runs that exist now with a trigger cause naming the event (what a duplicate would look like). */
  runsFor(eventId: string): FakeRun[] {
    return this.runs.filter((run) => String(run.trigger.cause).includes(`[event ${eventId}]`));
  }

  /** Adds runs nobody triggered through this server, e.g. scheduled runs of the same job. */
  addRun({ accountId, jobId, cause, createdAt = new Date().toISOString() }: { accountId: number; jobId: number; cause: string; createdAt?: string }): FakeRun {
    return this.createRun(accountId, jobId, { cause }, createdAt);
  }

  private answer(request: RecordedRequest): Reply {
    const url = new URL(request.url, 'http://dbt.local');
    const path = url.pathname;
    if (this.options.token !== undefined && request.headers.authorization !== `Token ${this.options.token}`) {
      return { status: 401, body: envelope(401, 'Invalid token.', null) };
    }
    const account = /^\/api\/v[23]\/accounts\/(\d+)\//.exec(path);
    if (account && !this.accountExists(Number(account[1]))) return notFound();
    const subscriptions = this.subscriptions.answer(request, url);
    if (subscriptions) return subscriptions;
    const trigger = request.method === 'POST' ? TRIGGER.exec(path) : null;
    if (trigger) return this.trigger(Number(trigger[1]), Number(trigger[2]), request);
    const retry = request.method === 'POST' ? RETRY_RUN.exec(path) : null;
    if (retry) return this.retry(Number(retry[1]), Number(retry[2]));
    if (request.method !== 'GET') return notFound();
    const list = LIST_RUNS.exec(path);
    if (list) {
      const fault = this.options.chaos?.lists ? this.chaosFault() : undefined;
      if (fault && typeof fault === 'object') return fault;
      if (fault) return { status: 500, body: 'error' };
      return this.list(Number(list[1]), url.searchParams);
    }
    const one = GET_RUN.exec(path);
    if (one) {
      const run = this.runs.find((r) => r.id === Number(one[2]) && r.accountId === Number(one[1]));
      return run ? ok(this.view(run, related(url.searchParams))) : notFound();
    }
    const job = GET_JOB.exec(path);
    if (job) {
      const id = Number(job[2]);
      return this.jobExists(id) ? ok({ id, account_id: Number(job[1]), name: `Job ${id}`, state: 1 }) : notFound();
    }
    return notFound();
  }

  private trigger(accountId: number, jobId: number, request: RecordedRequest): Reply {
    if (!this.jobExists(jobId)) return notFound();
    const body = (request.json ?? {}) as Record<string, unknown>;
    if (typeof body.cause !== 'string' || body.cause.trim() === '') {
      return { status: 400, body: envelope(400, 'cause: This field is required.', null) };
    }
    const fault = this.faults.shift() ?? this.chaosFault();
    if (fault && fault !== 'lost' && fault !== 'started-then-502') return fault;
    const { cause, ...overrides } = body;
    const run = this.createRun(accountId, jobId, { cause, ...overrides });
    if (this.webhooks && !this.webhooks.hold?.(run)) this.playRun(run, this.webhooks);
    else if (!this.webhooks && this.progress) this.playRun(run, undefined, this.progress);
    if (fault === 'lost') return 'drop';
    if (fault === 'started-then-502') return { status: 502, body: 'Bad Gateway' };
    return ok(this.view(run, new Set()));
  }

  private retry(accountId: number, runId: number): Reply {
    const run = this.runs.find((r) => r.id === runId && r.accountId === accountId);
    if (!run) return notFound();
    const latest = this.runs.filter((r) => r.jobId === run.jobId && r.accountId === accountId).reduce((a, b) => (b.id > a.id ? b : a));
    if (run.status !== 20) return { status: 400, body: envelope(400, `Run ${runId} cannot be retried: RETRY_NOT_FAILED_RUN`, null) };
    if (latest.id !== run.id) return { status: 400, body: envelope(400, `Run ${runId} cannot be retried: RETRY_NOT_LATEST_RUN`, null) };
    const retried = this.createRun(accountId, run.jobId, { cause: `Retry of run ${runId}` });
    // A retried run runs like any other: reported by its webhooks when they are set.
    if (this.webhooks && !this.webhooks.hold?.(retried)) this.playRun(retried, this.webhooks);
    return ok(this.view(retried, new Set()));
  }

  private list(accountId: number, query: URLSearchParams): Reply {
    const limit = query.has('limit') ? Number(query.get('limit')) : MAX_LIMIT;
    const offset = Number(query.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT || !Number.isInteger(offset) || offset < 0) {
      return { status: 400, body: envelope(400, `limit must be between 1 and ${MAX_LIMIT}, offset at least 0`, null) };
    }
    const orderBy = query.get('order_by') ?? 'id';
    const field = orderBy.replace(/^-/, '');
    if (!ORDERABLE.has(field)) return { status: 400, body: envelope(400, `order_by ${orderBy} is not supported`, null) };
    const job = query.get('job_definition_id');
    const status = query.get('status');
    const statusIn = query.has('status__in') ? numberList(query.get('status__in') ?? '') : undefined;
    const matching = this.runs.filter(
      (run) =>
        run.accountId === accountId &&
        (job === null || run.jobId === Number(job)) &&
        (status === null || run.status === Number(status)) &&
        (statusIn === undefined || statusIn.includes(run.status)),
    );
    const key = (run: FakeRun): number => (field === 'id' ? run.id : Date.parse((field === 'created_at' ? run.createdAt : run.finishedAt) ?? '') || 0);
    const sign = orderBy.startsWith('-') ? -1 : 1;
    matching.sort((a, b) => sign * (key(a) - key(b)) || sign * (a.id - b.id));
    const include = related(query);
    const page = matching.slice(offset, offset + limit).map((run) => this.view(run, include));
    return {
      status: 200,
      body: { ...envelope(200, 'Success!', page), extra: { filters: { limit, offset }, order_by: orderBy, pagination: { count: page.length, total_count: matching.length } } },
    };
  }

  private createRun(accountId: number, jobId: number, trigger: Record<string, unknown>, createdAt = new Date().toISOString()): FakeRun {
    const id = this.nextRunId++;
    const run: FakeRun = { id, accountId, jobId, status: 1, createdAt, startedAt: null, finishedAt: null, trigger: { id: id + 500_000, job_definition_id: jobId, created_at: createdAt, ...trigger } };
    this.runs.push(run);
    return run;
  }

  private view(run: FakeRun, include: Set<string>): Record<string, unknown> {
    const done = run.status >= 10;
    return {
      id: run.id,
      trigger_id: run.trigger.id,
      account_id: run.accountId,
      project_id: 1,
      environment_id: 1,
      job_definition_id: run.jobId,
      status: run.status,
      status_humanized: RUN_STATUS[run.status] ?? 'Unknown',
      status_message: null,
      git_branch: run.trigger.git_branch ?? null,
      git_sha: null,
      href: `${this.url}/deploy/${run.accountId}/projects/1/runs/${run.id}/`,
      in_progress: !done,
      is_complete: done,
      is_success: run.status === 10,
      is_error: run.status === 20,
      is_cancelled: run.status === 30,
      created_at: run.createdAt,
      updated_at: run.finishedAt ?? run.createdAt,
      dequeued_at: null,
      started_at: run.startedAt,
      finished_at: run.finishedAt,
      duration: '00:00:00',
      ...(include.has('trigger') ? { trigger: run.trigger } : {}),
    };
  }

  private accountExists(accountId: number): boolean {
    return this.options.accounts === undefined || this.options.accounts.includes(accountId);
  }

  private jobExists(jobId: number): boolean {
    return this.options.jobs === undefined || this.options.jobs.includes(jobId);
  }

  private chaosFault(): TriggerFault | undefined {
    const chaos = this.options.chaos;
    if (!chaos || this.random() >= chaos.rate) return undefined;
    return chaos.faults[Math.floor(this.random() * chaos.faults.length)];
  }
}

export function fakeDbtCloud(options: FakeDbtCloudOptions = {}): FakeDbtCloud {
  return new FakeDbtCloud(options);
}

/** The trigger requests a fake dbt Cloud received (POST .../jobs/{job}/run/). */
export function triggerRequests(server: RecordingServer): RecordedRequest[] {
  return server.requests.filter((r) => r.method === 'POST' && TRIGGER.test(new URL(r.url, 'http://dbt.local').pathname));
}

/** include_related as dbt documents it (`["trigger","job"]`), repeated, or comma-separated. */
function related(query: URLSearchParams): Set<string> {
  const names = new Set<string>();
  for (const value of query.getAll('include_related')) {
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      // a bare name or a comma list
    }
    for (const name of Array.isArray(parsed) ? parsed : String(parsed).split(',')) names.add(String(name).trim());
  }
  return names;
}

function numberList(value: string): number[] {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (Array.isArray(parsed)) return parsed.map(Number);
  } catch {
    // a comma list
  }
  return value.split(',').map(Number);
}

function envelope(code: number, message: string, data: unknown): Record<string, unknown> {
  return { status: { code, is_success: code < 300, user_message: message, developer_message: '' }, data };
}

function ok(data: unknown): Reply {
  return { status: 200, body: envelope(200, 'Success!', data) };
}

function notFound(): Reply {
  return { status: 404, body: envelope(404, 'The requested resource was not found.', null) };
}

/** dbt Cloud's webhook times are whole seconds with Z ("2026-11-20T10:40:01Z"); "None" when unset. */
function seconds(iso: string | null): string {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : 'None';
}

/** A small seeded generator, so a chaos run can be repeated. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
