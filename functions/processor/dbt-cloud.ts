import type { SyncEvent } from '../shared/sync-event.js';
import type { DbtCloudSettings } from './config.js';
import { PermanentError } from './errors.js';
import { RetryableRequestError, sendOnce, withRetries, type AttemptRecord, type CallOptions, type Deadline, type FetchLike, type RetryPolicy } from './http-retry.js';
import type { DbtJobAction } from './routing.js';

/** A dbt Cloud run postload started (or found it had already started). */
export interface DbtRun {
  id: number;
  href: string | null;
  status: string | null;
  /** True when the run was found among the job's recent runs instead of being started now. */
  recovered: boolean;
}

export const MAX_CAUSE_LENGTH = 254;

/** The marker in every cause that lets postload recognise its own runs: "event <id>". */
export function eventMarker(eventId: string): string {
  return `event ${eventId}`;
}

/**
 * The run's cause: what happened (source, connector, sync) and always the event id, kept
 * under dbt Cloud's 255 characters by shortening the description, never the id.
 */
export function causeFor(event: SyncEvent, template?: string): string {
  const connector = event.connector.name ?? event.connector.id ?? 'unknown connector';
  const description = template
    ? template.replace(/\{(source|connector|connectorId|syncId|type|eventId)\}/g, (_, key: string) => {
        switch (key) {
          case 'source': return event.source;
          case 'connector': return connector;
          case 'connectorId': return event.connector.id ?? '';
          case 'syncId': return event.sync.id ?? '';
          case 'type': return event.type;
          default: return event.id;
        }
      })
    : `postload: ${capitalise(event.source)} ${event.type} for ${connector}` +
      (event.connector.id && event.connector.id !== connector ? ` (${event.connector.id})` : '') +
      (event.sync.id ? `, sync ${event.sync.id}` : '');
  const marker = ` [${eventMarker(event.id)}]`;
  if (description.includes(eventMarker(event.id)) && description.length <= MAX_CAUSE_LENGTH) return description;
  const room = MAX_CAUSE_LENGTH - marker.length;
  const shortened = description.length > room ? `${description.slice(0, room - 1)}…` : description;
  return `${shortened}${marker}`;
}

/** The body of POST /api/v2/accounts/{account}/jobs/{job}/run/: the cause and the job's options. */
export function triggerBody(event: SyncEvent, job: DbtJobAction): Record<string, unknown> {
  const { jobId: _jobId, on: _on, cause, ...overrides } = job;
  return { cause: causeFor(event, cause), ...overrides };
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
   * an earlier delivery may have reached dbt Cloud without recording the answer.
   */
  checkFirst: boolean;
}

export class DbtCloudClient {
  constructor(private readonly options: DbtCloudClientOptions) {}

  /**
   * Starts the job for the event, retrying 429/5xx/network failures within the deadline.
   * After a failure that may have started a run anyway (a timeout, a 5xx, a dropped
   * connection) and before retrying, it looks for a run whose cause names the event, so a
   * retry does not start a second run. Throws PermanentError for 4xx (naming the job or
   * credential) and a TransientError when retries run out.
   */
  async trigger(event: SyncEvent, job: DbtJobAction, { deadline, attempts, checkFirst }: TriggerOptions): Promise<DbtRun> {
    const jobId = String(job.jobId);
    const call = this.callOptions(`dbt Cloud job ${jobId}`, deadline, attempts);
    let mayHaveStarted = checkFirst;
    return withRetries(async () => {
      if (mayHaveStarted) {
        const existing = await this.findRunFor(event.id, jobId, call);
        if (existing) return existing;
      }
      try {
        const response = await sendOnce(
          { method: 'POST', url: this.url(`jobs/${jobId}/run/`), headers: await this.headers(true), body: JSON.stringify(triggerBody(event, job)) },
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
   * The most recent run of the job whose cause carries the event's marker, among the job's
   * latest runs (GET /runs/?job_definition_id=J&order_by=-id&limit=N).
   */
  async findRunFor(eventId: string, jobId: string, call: CallOptions, limit = 20): Promise<DbtRun | undefined> {
    const response = await sendOnce(
      { method: 'GET', url: this.url(`runs/?job_definition_id=${jobId}&order_by=-id&limit=${limit}`), headers: await this.headers(false) },
      call,
    );
    if (response.status >= 300) throw this.permanent(response.status, response.text, jobId);
    const body = parseJson(response.text) as { data?: unknown };
    const runs = Array.isArray(body.data) ? (body.data as Array<Record<string, unknown>>) : [];
    const marker = eventMarker(eventId);
    const found = runs.find((run) => typeof run.cause === 'string' && run.cause.includes(marker));
    return found ? runFrom({ data: found }, true) : undefined;
  }

  private callOptions(label: string, deadline: Deadline, attempts: AttemptRecord[]): CallOptions {
    return { system: 'dbt Cloud', label, policy: this.options.policy, deadline, attempts, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) };
  }

  private url(path: string): string {
    const { baseUrl, accountId } = this.options.settings;
    return `${baseUrl}/api/v2/accounts/${accountId}/${path}`;
  }

  private async headers(json: boolean): Promise<Record<string, string>> {
    const token = await this.options.settings.token.currentValue();
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
  return typeof message === 'string' ? message.slice(0, 300) : '';
}

function capitalise(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
