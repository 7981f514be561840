import { cutHead } from '../../shared/text-cut.js';
import { PermanentError } from '../errors.js';
import { RetryableRequestError, sendOnce, withRetries, type AttemptRecord, type CallOptions, type Deadline, type FetchLike, type RetryPolicy } from './http-retry.js';

// The Airflow REST API's DAG run calls, for Airflow 2 (`/api/v1`) and Airflow 3 (`/api/v2`),
// self-hosted or Cloud Composer (apache/airflow: api_connexion/endpoints/dag_run_endpoint.py
// for v1; airflow-core/src/airflow/api_fastapi/core_api/routes/public/dag_run.py and
// datamodels/dag_run.py for v2; cloud.google.com/composer/docs/composer-3/access-airflow-api).
// Exactly once: the dag_run_id is derived from the action id, so a second POST for the same
// action cannot make a second run: Airflow answers 409. The 409's body differs by version
// (v1 problem+json "… already exists"; v2 {"detail": {"reason": "Unique constraint
// violation", …}}, or a plain string detail in early 3.0 builds; v1 also answers 409 for a
// logical date that exists), so postload does not read it: it asks for its own run by id,
// and only that run counts as "already started". No logical date is sent (v1: omitted, so
// "now"; v2: `null`, required by its strict body), so no two actions can collide on one.

/** Airflow's default `[scheduler] allowed_run_id_pattern` (2.6.3 and later): run ids must match it. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_.~:+-]+$/;
/** The dag_run column's length. */
export const MAX_RUN_ID_LENGTH = 250;

export type AirflowApiVersion = 1 | 2;

export type DagRunState = 'queued' | 'running' | 'success' | 'failed' | 'other';

export interface DagRunView {
  runId: string;
  state: DagRunState;
  /** Airflow's own word for the state. */
  rawState: string;
  startDate: string | null;
  endDate: string | null;
  /** queued_at (v2) or the logical date (v1): when the run was created, near enough. */
  createdAt: string | null;
}

/** How a request to one Airflow is authorised: a Google access token (Composer), a bearer token, or Basic. */
export interface AirflowAuth {
  header(deadline: Deadline): Promise<string>;
}

export interface AirflowTarget {
  /** The API base, ending /api/v1 or /api/v2. */
  api: string;
  dagId: string;
  auth: AirflowAuth;
}

export interface AirflowClientOptions {
  policy: RetryPolicy;
  fetch?: FetchLike;
}

export class AirflowClient {
  constructor(private readonly options: AirflowClientOptions) {}

  /**
   * Creates the DAG run `runId` once: a retry after a lost answer finds it (409, then GET).
   * 5xx, 429 and network errors are retried within the deadline (safe: the run id makes the
   * POST idempotent); 400/401/403/404/422 are PermanentErrors naming the DAG and the cause.
   */
  async trigger(target: AirflowTarget, runId: string, body: { conf: Record<string, unknown>; note: string }, { deadline, attempts }: { deadline: Deadline; attempts: AttemptRecord[] }): Promise<{ run: DagRunView; recovered: boolean }> {
    const call = this.call(`Airflow DAG ${target.dagId}`, deadline, attempts);
    const version = apiVersion(target.api);
    const payload = version === 2 ? { dag_run_id: runId, logical_date: null, conf: body.conf, note: body.note } : { dag_run_id: runId, conf: body.conf, note: body.note };
    return withRetries(async () => {
      const response = await sendOnce({ method: 'POST', url: `${target.api}/dags/${encodeURIComponent(target.dagId)}/dagRuns`, headers: await this.headers(target, deadline, true), body: JSON.stringify(payload) }, call);
      if (response.status === 409) {
        const existing = await this.getRun(target, runId, call);
        if (existing) return { run: existing, recovered: true };
        throw new RetryableRequestError(`Airflow DAG ${target.dagId}: 409 for run ${runId}, which does not exist (a logical date taken at the same instant?)`, { system: 'Airflow', status: 409 });
      }
      if (response.status >= 300) throw refused(response.status, response.text, target);
      const run = dagRunView(parse(response.text));
      if (!run) throw new RetryableRequestError(`Airflow DAG ${target.dagId}: the answer is not a DAG run`, { system: 'Airflow' });
      return { run, recovered: false };
    }, call);
  }

  /** One DAG run; undefined when Airflow has none with that id. */
  async dagRun(target: AirflowTarget, runId: string, deadline: Deadline, attempts: AttemptRecord[]): Promise<DagRunView | undefined> {
    const call = this.call(`Airflow DAG run ${runId}`, deadline, attempts);
    return withRetries(() => this.getRun(target, runId, call), call);
  }

  /** Whether the DAG exists and may be read with these credentials (`postload check`). */
  async checkDag(target: AirflowTarget, deadline: Deadline): Promise<'ok' | 'missing'> {
    const call = this.call(`Airflow DAG ${target.dagId}`, deadline, []);
    return withRetries(async () => {
      const response = await sendOnce({ method: 'GET', url: `${target.api}/dags/${encodeURIComponent(target.dagId)}`, headers: await this.headers(target, deadline, false) }, call);
      if (response.status === 404) return 'missing' as const;
      if (response.status >= 300) throw refused(response.status, response.text, target);
      return 'ok' as const;
    }, call);
  }

  private async getRun(target: AirflowTarget, runId: string, call: CallOptions): Promise<DagRunView | undefined> {
    const response = await sendOnce({ method: 'GET', url: `${target.api}/dags/${encodeURIComponent(target.dagId)}/dagRuns/${encodeURIComponent(runId)}`, headers: await this.headers(target, call.deadline, false) }, call);
    if (response.status === 404) return undefined;
    if (response.status >= 300) throw refused(response.status, response.text, target);
    const run = dagRunView(parse(response.text));
    if (!run) throw new RetryableRequestError(`Airflow DAG run ${runId}: the answer is not a DAG run`, { system: 'Airflow' });
    return run;
  }

  private call(label: string, deadline: Deadline, attempts: AttemptRecord[]): CallOptions {
    return { system: 'Airflow', label, policy: this.options.policy, deadline, attempts, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) };
  }

  private async headers(target: AirflowTarget, deadline: Deadline, json: boolean): Promise<Record<string, string>> {
    return { authorization: await target.auth.header(deadline), accept: 'application/json', ...(json ? { 'content-type': 'application/json' } : {}) };
  }
}

/** 1 or 2, from an API base ending /api/v1 or /api/v2 (the routing schema allows no other). */
export function apiVersion(api: string): AirflowApiVersion {
  return api.endsWith('/api/v2') ? 2 : 1;
}

const STATES = new Set(['queued', 'running', 'success', 'failed']);

export function dagRunView(value: unknown): DagRunView | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const run = value as Record<string, unknown>;
  if (typeof run.dag_run_id !== 'string' || typeof run.state !== 'string') return undefined;
  const text = (field: string) => (typeof run[field] === 'string' ? (run[field] as string) : null);
  return {
    runId: run.dag_run_id,
    state: STATES.has(run.state) ? (run.state as DagRunState) : 'other',
    rawState: run.state,
    startDate: text('start_date'),
    endDate: text('end_date'),
    createdAt: text('queued_at') ?? text('logical_date') ?? text('execution_date'),
  };
}

function refused(status: number, text: string, target: AirflowTarget): Error {
  const detail = airflowDetail(text);
  const said = detail ? `; Airflow said: ${detail}` : '';
  const why =
    status === 401
      ? `Airflow at ${target.api} did not accept postload's credentials (401)`
      : status === 403
        ? `Airflow at ${target.api} refused DAG ${target.dagId} to postload's identity (403): in Composer, grant the processor's service account roles/composer.user and an Airflow role that may trigger DAGs (Op)`
        : status === 404
          ? `Airflow at ${target.api} has no DAG ${target.dagId} (404): check the routing file's dagId, and that the DAG is deployed and parsed`
          : status === 400 || status === 422
            ? `Airflow at ${target.api} refused the DAG run of ${target.dagId} as malformed (${status})`
            : `Airflow at ${target.api} refused DAG ${target.dagId} (HTTP ${status})`;
  return new PermanentError(`${why}${said}`, { system: 'Airflow', status });
}

/** v1 problem+json `detail`, v2 `detail` as a string, an object with `message`/`reason`, or a list of validation errors. */
function airflowDetail(text: string): string {
  const detail = (parse(text) as { detail?: unknown } | undefined)?.detail;
  if (typeof detail === 'string') return cutHead(detail, 300);
  if (Array.isArray(detail)) return cutHead(detail.map((d) => `${((d as { loc?: unknown[] }).loc ?? []).join('.')}: ${(d as { msg?: unknown }).msg ?? ''}`).join('; '), 300);
  if (detail && typeof detail === 'object') {
    const d = detail as { reason?: unknown; message?: unknown };
    return cutHead([d.reason, d.message].filter((x) => typeof x === 'string').join(': '), 300);
  }
  return '';
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
