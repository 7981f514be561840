import type { SyncEvent } from '../../shared/sync-event.js';
import { cutHead } from '../../shared/text-cut.js';
import type { DbtCloudSettings } from '../config.js';
import { PermanentError } from '../errors.js';
import { RetryableRequestError, sendOnce, withinDeadline, withRetries, type AttemptRecord, type CallOptions, type Deadline, type FetchLike, type RetryPolicy } from './http-retry.js';
import type { DbtJobAction } from '../../generated/routing-config.schema.js';
import { causeMarker, markedEventId, vendorText } from '../planning/cause-marker.js';

/** A dbt Cloud run postload started (or found it had already started). */
export interface DbtRun {
  id: number;
  href: string | null;
  status: string | null;
  /** True when the run was found among the job's recent runs instead of being started now. */
  recovered: boolean;
}

export const MAX_CAUSE_LENGTH = 254;

/**
 * The run's cause: what happened (source, connector, sync), then always the marker
 * ` [event <id>]` at the very end (planning/cause-marker.ts), kept under dbt Cloud's 255
 * characters by shortening the description, never the marker. Vendor text loses its
 * brackets, and an operator's template only writes the description: neither can move or
 * fake the marker.
 */
export function causeFor(event: SyncEvent, template?: string): string {
  const connector = vendorText(event.connector.name ?? event.connector.id ?? 'unknown connector');
  const connectorId = vendorText(event.connector.id ?? '');
  const syncId = vendorText(event.sync.id ?? '');
  const description = template
    ? template.replace(/\{(source|connector|connectorId|syncId|type|eventId)\}/g, (_, key: string) => {
        switch (key) {
          case 'source': return event.source;
          case 'connector': return connector;
          case 'connectorId': return connectorId;
          case 'syncId': return syncId;
          case 'type': return event.type;
          default: return event.id;
        }
      })
    : `postload: ${capitalise(event.source)} ${event.type} for ${connector}` +
      (connectorId && connectorId !== connector ? ` (${connectorId})` : '') +
      (syncId ? `, sync ${syncId}` : '');
  const marker = causeMarker(event.id);
  const room = MAX_CAUSE_LENGTH - marker.length;
  const shortened = description.length > room ? `${description.slice(0, room - 1)}…` : description;
  return `${shortened}${marker}`;
}

/** The body of POST /api/v2/accounts/{account}/jobs/{job}/run/: the cause and the job's options. */
export function triggerBody(event: SyncEvent, job: DbtJobAction): Record<string, unknown> {
  const { jobId: _jobId, on: _on, onBusy: _onBusy, limits: _limits, cause, ...overrides } = job;
  return { cause: causeFor(event, cause), ...overrides };
}

/** A run as list-runs shows it with `include_related=["trigger"]`: what the core needs of it. */
export interface ListedRun {
  id: number;
  /** dbt Cloud's status code (1 Queued, 2 Starting, 3 Running, 10 Success, 20 Error, 30 Cancelled). */
  status: number | null;
  /** The trigger's cause, where postload's marker is. */
  cause: string | null;
  createdAt: string | null;
}

/** The run among these whose cause ends with the event's marker (the one postload started for it; planning/cause-marker.ts). */
export function runOfEvent(runs: readonly ListedRun[], eventId: string): ListedRun | undefined {
  return runs.find((run) => markedEventId(run.cause) === eventId);
}

function listedRun(run: Record<string, unknown>): ListedRun | undefined {
  if (typeof run.id !== 'number') return undefined;
  const cause = (run.trigger as { cause?: unknown } | null | undefined)?.cause;
  return {
    id: run.id,
    status: typeof run.status === 'number' ? run.status : null,
    cause: typeof cause === 'string' ? cause : null,
    createdAt: typeof run.created_at === 'string' ? run.created_at : null,
  };
}

export interface DbtCloudClientOptions {
  settings: DbtCloudSettings;
  policy: RetryPolicy;
  fetch?: FetchLike;
}

export interface TriggerOptions {
  deadline: Deadline;
  attempts: AttemptRecord[];
  /**
   * Look for a run of this job already started for this event before triggering: set when
   * an earlier attempt may have reached dbt Cloud without its answer being recorded.
   */
  checkFirst: boolean;
  /** When the action was first attempted: the lookup pages back until runs created before it. */
  since: Date;
}

/** Pages of 100 runs the lookup reads at most before giving up (so 1,000 runs of one job). */
export const LOOKUP_MAX_PAGES = 10;
const PAGE_SIZE = 100;
/** Clock difference between postload and dbt Cloud the lookup tolerates. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** The lookup read LOOKUP_MAX_PAGES pages without reaching the action's first attempt: it cannot tell. */
export class RunLookupExhaustedError extends PermanentError {}

export class DbtCloudClient {
  constructor(private readonly options: DbtCloudClientOptions) {}

  /**
   * Starts the job for the event, retrying 429/5xx/network failures within the deadline.
   * After a failure that may have started a run anyway (a timeout, a 5xx, a dropped
   * connection) and before retrying, it looks for a run whose trigger's cause names the
   * event, so a retry does not start a second run. Throws PermanentError for 4xx (naming
   * the job or credential) and a TransientError when retries run out.
   */
  async trigger(event: SyncEvent, job: DbtJobAction, { deadline, attempts, checkFirst, since }: TriggerOptions): Promise<DbtRun> {
    const jobId = String(job.jobId);
    const call = this.callOptions(`dbt Cloud job ${jobId}`, deadline, attempts);
    let mayHaveStarted = checkFirst;
    return withRetries(async () => {
      if (mayHaveStarted) {
        const existing = await this.findRunFor(event.id, jobId, since, call);
        if (existing) return existing;
      }
      try {
        const response = await sendOnce(
          { method: 'POST', url: this.url(`jobs/${jobId}/run/`), headers: await this.headers(true, deadline), body: JSON.stringify(triggerBody(event, job)) },
          call,
        );
        if (response.status >= 300) throw this.permanent(response.status, response.text, jobId);
        return runFrom(parseJson(response.text), false);
      } catch (error) {
        // 429 means "not accepted"; anything else retryable might have started the run.
        if (error instanceof RetryableRequestError && error.status !== 429) mayHaveStarted = true;
        throw error;
      }
    }, call);
  }

  /**
   * The run of the job whose trigger's cause ends with the event's marker. A Run has no
   * `cause` of its own: it is on the related trigger, returned only when asked for with
   * `include_related=["trigger"]`. Pages back from the newest run (100 a page) until a page
   * reaches runs created before `since` (less a clock-skew margin), for at most
   * LOOKUP_MAX_PAGES pages; past that it cannot tell and throws RunLookupExhaustedError.
   */
  async findRunFor(eventId: string, jobId: string, since: Date, call: CallOptions): Promise<DbtRun | undefined> {
    const oldest = since.getTime() - CLOCK_SKEW_MS;
    for (let page = 0; page < LOOKUP_MAX_PAGES; page++) {
      const runs = await this.listRuns(jobId, page, call);
      const found = runOfEvent(runs.map(listedRun).filter((run): run is ListedRun => !!run), eventId);
      if (found) return runFrom({ data: runs.find((run) => run.id === found.id) }, true);
      const reachedOlder = runs.some((run) => Date.parse(String(run.created_at)) < oldest);
      if (runs.length < PAGE_SIZE || reachedOlder) return undefined;
    }
    throw new RunLookupExhaustedError(
      `dbt Cloud job ${jobId} has more than ${LOOKUP_MAX_PAGES * PAGE_SIZE} runs since this action was first attempted; postload cannot tell whether it already started a run for event ${eventId}, so it does not start another: check the job's runs for a cause ending "${causeMarker(eventId).trim()}" and start it by hand if none is there`,
      { system: 'dbt Cloud' },
    );
  }

  /** One page of the job's runs, newest first, with their triggers (where the cause is). */
  private async listRuns(jobId: string, page: number, call: CallOptions): Promise<Array<Record<string, unknown>>> {
    const query = `job_definition_id=${encodeURIComponent(jobId)}&include_related=${encodeURIComponent('["trigger"]')}&order_by=-id&limit=${PAGE_SIZE}&offset=${page * PAGE_SIZE}`;
    const response = await sendOnce({ method: 'GET', url: this.url(`runs/?${query}`), headers: await this.headers(false, call.deadline) }, call);
    if (response.status >= 300) throw this.permanent(response.status, response.text, jobId);
    const body = parseJson(response.text) as { data?: unknown } | undefined;
    if (!Array.isArray(body?.data)) throw new RetryableRequestError('dbt Cloud list-runs answered without a "data" array', { system: 'dbt Cloud' });
    return body.data as Array<Record<string, unknown>>;
  }

  /**
   * The job's newest 100 runs with their statuses and causes (one list-runs call): what the
   * holder of a batch asks before it merges into a run or starts one (issue 26).
   */
  async recentRuns(jobId: string, deadline: Deadline, attempts: AttemptRecord[]): Promise<ListedRun[]> {
    const call = this.callOptions(`dbt Cloud job ${jobId} (recent runs)`, deadline, attempts);
    return withRetries(async () => (await this.listRuns(jobId, 0, call)).map(listedRun).filter((run): run is ListedRun => !!run), call);
  }

  /**
   * One run (`GET .../runs/{id}/` with its trigger, where the cause is), for a tracked run
   * older than the recent page; undefined when dbt Cloud does not know it. `jobId` says
   * which job it is a run of: the caller checks that it is the run it tracked.
   */
  async runById(runId: number, deadline: Deadline, attempts: AttemptRecord[]): Promise<(ListedRun & { jobId: string | null }) | undefined> {
    const call = this.callOptions(`dbt Cloud run ${runId}`, deadline, attempts);
    return withRetries(async () => {
      const query = `include_related=${encodeURIComponent('["trigger"]')}`;
      const response = await sendOnce({ method: 'GET', url: this.url(`runs/${runId}/?${query}`), headers: await this.headers(false, deadline) }, call);
      if (response.status === 404) return undefined;
      if (response.status >= 300) throw this.permanent(response.status, response.text, `of run ${runId}`);
      const data = (parseJson(response.text) as { data?: Record<string, unknown> } | undefined)?.data;
      const run = data ? listedRun(data) : undefined;
      if (!run) return undefined;
      const job = data!.job_definition_id;
      return { ...run, jobId: typeof job === 'number' || typeof job === 'string' ? String(job) : null };
    }, call);
  }

  private callOptions(label: string, deadline: Deadline, attempts: AttemptRecord[]): CallOptions {
    return { system: 'dbt Cloud', label, policy: this.options.policy, deadline, attempts, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) };
  }

  private url(path: string): string {
    const { baseUrl, accountId } = this.options.settings;
    return `${baseUrl}/api/v2/accounts/${accountId}/${path}`;
  }

  private async headers(json: boolean, deadline: Deadline): Promise<Record<string, string>> {
    const token = await withinDeadline(this.options.settings.token.currentValue(), deadline, 'read DBT_CLOUD_API_TOKEN');
    return {
      authorization: `Token ${token}`,
      accept: 'application/json',
      ...(json ? { 'content-type': 'application/json' } : {}),
    };
  }

  private permanent(status: number, text: string, jobId: string): PermanentError {
    const { accountId, baseUrl } = this.options.settings;
    const detail = userMessage(text);
    const why =
      status === 401
        ? `DBT_CLOUD_API_TOKEN was rejected by ${baseUrl} (401): set a valid service token`
        : status === 403
          ? `DBT_CLOUD_API_TOKEN may not run job ${jobId} in account ${accountId} (403): give the service token Job Runner (or higher) permission on it`
          : status === 404
            ? `dbt Cloud job ${jobId} was not found in account ${accountId} at ${baseUrl} (404): check the routing file's jobId, DBT_CLOUD_ACCOUNT_ID and DBT_CLOUD_BASE_URL`
            : `dbt Cloud refused job ${jobId} in account ${accountId} (HTTP ${status})`;
    return new PermanentError(detail ? `${why}; dbt Cloud said: ${detail}` : why, { system: 'dbt Cloud', status });
  }
}

function runFrom(body: unknown, recovered: boolean): DbtRun {
  const data = (body as { data?: Record<string, unknown> } | undefined)?.data;
  if (!data || typeof data.id !== 'number') {
    throw new RetryableRequestError('dbt Cloud answered without a run id', { system: 'dbt Cloud' });
  }
  return {
    id: data.id,
    href: typeof data.href === 'string' ? data.href : null,
    status: typeof data.status_humanized === 'string' ? data.status_humanized : typeof data.status === 'number' ? String(data.status) : null,
    recovered,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function userMessage(text: string): string {
  const body = parseJson(text) as { status?: { user_message?: unknown; developer_message?: unknown } } | undefined;
  const message = body?.status?.user_message ?? body?.status?.developer_message;
  return typeof message === 'string' ? cutHead(message, 300) : '';
}

function capitalise(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
