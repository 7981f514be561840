import { randomBytes } from 'node:crypto';
import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

// A stand-in for the Airflow REST API's DAG run calls, as Airflow 2 (`/api/v1`, Cloud
// Composer 2) and Airflow 3 (`/api/v2`, Composer 3 with Airflow 3) answer them. Shapes from
// apache/airflow's own source:
// - v1 (airflow/api_connexion/endpoints/dag_run_endpoint.py, schemas/dag_run_schema.py,
//   exceptions.py): POST /api/v1/dags/{dag_id}/dagRuns {dag_run_id?, logical_date?,
//   execution_date?, conf?, note?, data_interval_start?, data_interval_end?} → 200 DAGRun
//   {dag_run_id, dag_id, logical_date, execution_date, start_date, end_date,
//   data_interval_start, data_interval_end, last_scheduling_decision, run_type, state, external_trigger,
//   conf, note}; an omitted logical_date is now; an unknown field is a 400 (marshmallow
//   refuses unknown fields); a run id that exists, or a logical date that does, is a 409
//   problem+json {detail: "DAGRun with DAG ID: 'd' and DAGRun ID: 'r' already exists",
//   status, title: "Conflict", type: …#section/Errors/AlreadyExists}; a missing DAG is a 404
//   {detail: "DAG with dag_id: 'd' not found", title: "DAG not found"};
// - v2 (airflow-core/src/airflow/api_fastapi/core_api/routes/public/dag_run.py,
//   datamodels/dag_run.py TriggerDAGRunPostBody(StrictBaseModel), common/exceptions.py): the
//   body is strict: an unknown key is a 422 {detail: [{type: "extra_forbidden", loc: ["body",
//   key], msg: "Extra inputs are not permitted"}]}, and `logical_date` is required but may be
//   null (422 {type: "missing"} when absent); a duplicate run id fails the database's unique
//   constraint, answered 409 {detail: {reason: "Unique constraint violation", statement:
//   "hidden", orig_error: "hidden", message: "Serious error when handling your request. …"}};
//   errors are {detail: …}; DAGRunResponse {dag_run_id, dag_id, logical_date, queued_at,
//   start_date, end_date, run_after, run_type, state, triggered_by, conf, note, …};
// - both: GET …/dags/{dag_id}/dagRuns/{dag_run_id}; GET …/dags/{dag_id}; a run id must match
//   `[scheduler] allowed_run_id_pattern`, default ^[A-Za-z0-9_.~:+-]+$ (400 in v1, 400 in v2);
//   states queued, running, success, failed;
// - auth: `Authorization: Bearer <token>` (Composer takes a Google access token; Airflow 3 a
//   JWT from /auth/token) or Basic (Airflow 2's basic_auth backend), checked when given.
// A lost answer is `failTriggers('lost')`: the run is created, its answer never arrives.

const TRIGGER = /^\/api\/v([12])\/dags\/([^/]+)\/dagRuns$/;
const ONE_RUN = /^\/api\/v([12])\/dags\/([^/]+)\/dagRuns\/([^/]+)$/;
const ONE_DAG = /^\/api\/v([12])\/dags\/([^/]+)$/;
const RUN_ID = /^[A-Za-z0-9_.~:+-]+$/;
const V1_FIELDS = new Set(['dag_run_id', 'logical_date', 'execution_date', 'conf', 'note', 'data_interval_start', 'data_interval_end']);
const V2_FIELDS = new Set(['dag_run_id', 'data_interval_start', 'data_interval_end', 'logical_date', 'run_after', 'conf', 'note', 'partition_key']);

export type DagRunState = 'queued' | 'running' | 'success' | 'failed';

export interface FakeDagRun {
  dagId: string;
  runId: string;
  state: DagRunState;
  conf: Record<string, unknown>;
  logicalDate: string | null;
  queuedAt: string;
  startDate: string | null;
  endDate: string | null;
  note: string | null;
}

export type TriggerFault = 'lost' | Reply;

export interface FakeAirflowOptions {
  /** 1: Airflow 2 (/api/v1); 2: Airflow 3 (/api/v2). Only that version's paths answer. */
  version: 1 | 2;
  /** The DAGs that exist. */
  dags: string[];
  /** Accepted credentials; unset: none checked. */
  auth?: { bearer?: string; basic?: { username: string; password: string } };
  /** Runs move on their own (npm start, the demo): queued → running after delayMs, then ended after runMs. */
  play?: { delayMs?: number; runMs?: number; endFor?: (run: FakeDagRun) => 'success' | 'failed' };
}

export class FakeAirflow extends RecordingServer {
  readonly runs: FakeDagRun[] = [];
  private readonly faults: TriggerFault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: FakeAirflowOptions) {
    super(`Airflow (API v${options.version})`, (request, server) => (server as FakeAirflow).answer(request));
  }

  /** The API base postload is given for this stand-in: `<url>/api/v1` or `<url>/api/v2`. */
  get apiBase(): string {
    return `${this.url}/api/v${this.options.version}`;
  }

  failTriggers(...faults: TriggerFault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** The next `count` requests are answered 429 (Airflow behind a rate limit or a proxy). */
  rateLimit(count = 1, retryAfterSeconds?: number): this {
    for (let i = 0; i < count; i++) {
      this.script({ status: 429, ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }), body: { detail: 'Too Many Requests' } });
    }
    return this;
  }

  setState(runId: string, state: DagRunState): FakeDagRun {
    const run = this.runs.find((r) => r.runId === runId);
    if (!run) throw new Error(`no DAG run ${runId}`);
    const now = new Date().toISOString();
    if (state !== 'queued' && !run.startDate) run.startDate = now;
    if (state === 'success' || state === 'failed') run.endDate = now;
    run.state = state;
    return run;
  }

  override reset(): void {
    super.reset();
    this.runs.length = 0;
    this.faults.length = 0;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  override async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await super.stop();
  }

  private answer(request: RecordedRequest): Reply {
    const path = new URL(request.url, 'http://airflow.local').pathname;
    const version = Number(/^\/api\/v([12])\//.exec(path)?.[1]);
    if (version !== this.options.version) return { status: 404, body: { detail: 'Not Found' } };
    if (!this.authorised(request)) return this.error(401, 'Unauthorized', 'Not authenticated');
    const trigger = request.method === 'POST' ? TRIGGER.exec(path) : null;
    if (trigger) return this.trigger(decodeURIComponent(trigger[2]!), request);
    if (request.method !== 'GET') return this.error(405, 'Method Not Allowed', 'Method Not Allowed');
    const one = ONE_RUN.exec(path);
    if (one) {
      const dagId = decodeURIComponent(one[2]!);
      const runId = decodeURIComponent(one[3]!);
      const run = this.runs.find((r) => r.dagId === dagId && r.runId === runId);
      if (run) return { status: 200, body: this.view(run) };
      return this.options.version === 1
        ? this.error(404, 'DAGRun not found', `DAGRun with DAG ID: '${dagId}' and DagRun ID: '${runId}' not found`)
        : this.error(404, 'Not Found', `The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` was not found`);
    }
    const dag = ONE_DAG.exec(path);
    if (dag) {
      const dagId = decodeURIComponent(dag[2]!);
      if (!this.options.dags.includes(dagId)) return this.missingDag(dagId);
      return { status: 200, body: { dag_id: dagId, is_paused: false, is_active: true, fileloc: `/home/airflow/gcs/dags/${dagId}.py`, tags: [] } };
    }
    return this.error(404, 'Not Found', 'Not Found');
  }

  private trigger(dagId: string, request: RecordedRequest): Reply {
    const body = request.json;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return this.error(400, 'Bad Request', 'The request body must be a JSON object');
    const fields = body as Record<string, unknown>;
    if (this.options.version === 2) {
      const problems = [
        ...Object.keys(fields).filter((key) => !V2_FIELDS.has(key)).map((key) => ({ type: 'extra_forbidden', loc: ['body', key], msg: 'Extra inputs are not permitted', input: fields[key] })),
        ...(!('logical_date' in fields) ? [{ type: 'missing', loc: ['body', 'logical_date'], msg: 'Field required', input: fields }] : []),
      ];
      if (problems.length) return { status: 422, body: { detail: problems } };
    } else {
      const unknown = Object.keys(fields).filter((key) => !V1_FIELDS.has(key));
      if (unknown.length) return this.error(400, 'Bad Request', JSON.stringify(Object.fromEntries(unknown.map((key) => [key, ['Unknown field.']]))));
    }
    if (!this.options.dags.includes(dagId)) return this.missingDag(dagId);
    const runId = typeof fields.dag_run_id === 'string' ? fields.dag_run_id : `manual__${new Date().toISOString()}`;
    if (!RUN_ID.test(runId)) return this.error(400, 'Bad Request', `The run_id provided '${runId}' does not match regex pattern '^[A-Za-z0-9_.~:+-]+$'`);
    if (fields.conf !== undefined && fields.conf !== null && (typeof fields.conf !== 'object' || Array.isArray(fields.conf))) return this.error(400, 'Bad Request', 'conf must be an object');
    const logicalDate = typeof fields.logical_date === 'string' ? fields.logical_date : this.options.version === 1 ? new Date().toISOString() : null;
    if (this.runs.some((r) => r.dagId === dagId && r.runId === runId)) return this.duplicate(dagId, runId);
    if (logicalDate && this.runs.some((r) => r.dagId === dagId && r.logicalDate === logicalDate)) {
      return this.error(409, 'Conflict', `DAGRun with DAG ID: '${dagId}' and DAGRun logical date: '${logicalDate}' already exists`);
    }
    const fault = this.faults.shift();
    if (fault && fault !== 'lost') return fault;
    const run: FakeDagRun = {
      dagId,
      runId,
      state: 'queued',
      conf: (fields.conf as Record<string, unknown> | undefined) ?? {},
      logicalDate,
      queuedAt: new Date().toISOString(),
      startDate: null,
      endDate: null,
      note: typeof fields.note === 'string' ? fields.note : null,
    };
    this.runs.push(run);
    if (this.options.play) this.playRun(run, this.options.play);
    if (fault === 'lost') return 'drop';
    return { status: 200, body: this.view(run) };
  }

  private playRun(run: FakeDagRun, play: NonNullable<FakeAirflowOptions['play']>): void {
    const later = (ms: number, step: () => void) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        step();
      }, ms);
      this.timers.add(timer);
    };
    later(play.delayMs ?? 300, () => {
      if (run.state !== 'queued') return;
      this.setState(run.runId, 'running');
      later(play.runMs ?? 1_000, () => {
        if (run.state === 'running') this.setState(run.runId, play.endFor?.(run) ?? 'success');
      });
    });
  }

  private duplicate(dagId: string, runId: string): Reply {
    if (this.options.version === 1) return this.error(409, 'Conflict', `DAGRun with DAG ID: '${dagId}' and DAGRun ID: '${runId}' already exists`);
    const id = randomBytes(8).toString('hex');
    return {
      status: 409,
      body: {
        detail: {
          reason: 'Unique constraint violation',
          statement: 'hidden',
          orig_error: 'hidden',
          message: `Serious error when handling your request. Check logs for more details - you will find it in api server when you look for ID ${id}`,
        },
      },
    };
  }

  private missingDag(dagId: string): Reply {
    return this.options.version === 1 ? this.error(404, 'DAG not found', `DAG with dag_id: '${dagId}' not found`) : this.error(404, 'Not Found', `The Dag with ID: \`${dagId}\` was not found`);
  }

  private authorised(request: RecordedRequest): boolean {
    const auth = this.options.auth;
    if (!auth) return true;
    const header = String(request.headers.authorization ?? '');
    if (auth.bearer !== undefined && header === `Bearer ${auth.bearer}`) return true;
    if (auth.basic && header === `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`) return true;
    return false;
  }

  /** v1 answers problem+json (RFC 7807), v2 FastAPI's {detail}. */
  private error(status: number, title: string, detail: string): Reply {
    if (this.options.version === 2) return { status, body: { detail } };
    const slug = { 400: 'BadRequest', 401: 'Unauthenticated', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'AlreadyExists' }[status] ?? 'Unknown';
    return {
      status,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({ detail, status, title, type: `https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/${slug}` }),
    };
  }

  view(run: FakeDagRun): Record<string, unknown> {
    const common = {
      dag_run_id: run.runId,
      dag_id: run.dagId,
      logical_date: run.logicalDate,
      start_date: run.startDate,
      end_date: run.endDate,
      data_interval_start: run.logicalDate,
      data_interval_end: run.logicalDate,
      last_scheduling_decision: null,
      run_type: 'manual',
      state: run.state,
      conf: run.conf,
      note: run.note,
    };
    if (this.options.version === 1) return { ...common, execution_date: run.logicalDate, external_trigger: true };
    return { ...common, queued_at: run.queuedAt, run_after: run.queuedAt, triggered_by: 'rest_api', dag_versions: [], bundle_version: null, dag_display_name: run.dagId };
  }
}

export function fakeAirflow(options: FakeAirflowOptions): FakeAirflow {
  return new FakeAirflow(options);
}

/** The trigger requests a fake Airflow received. */
export function dagRunRequests(server: RecordingServer): RecordedRequest[] {
  return server.requests.filter((r) => r.method === 'POST' && TRIGGER.test(new URL(r.url, 'http://airflow.local').pathname));
}
