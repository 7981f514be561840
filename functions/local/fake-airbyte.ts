import { randomBytes, randomUUID } from 'node:crypto';
import { FakeAirbyteWorkspaces } from './fake-airbyte-workspaces.js';
import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

// A stand-in for the Airbyte public API (the parts postload reads), answering as
// airbytehq/airbyte-platform@310e6cb defines it:
// - POST /v1/applications/token {client_id, client_secret, grant-type/grant_type} (JSON or
//   form) → {access_token, token_type: "Bearer", expires_in} (api_sdk.yaml
//   PublicAccessTokenResponse; 15 minutes, docs.airbyte.com/using-airbyte/configuring-api-access);
// - every other call needs `Authorization: Bearer <token>`, else 401 with the RFC 9457 problem
//   `invalid-api-key` (airbyte-api/problems-api/src/main/openapi/api-problems.yaml);
// - GET /v1/connections?workspaceIds=&includeDeleted=&limit=(1..100, default 20)&offset= →
//   {data, next, previous}; a connection's schedule as ConnectionReadMapper.kt writes it:
//   basic "Every {units} {TIMEUNIT}", cron "{quartz expression} {time zone}", or manual;
// - GET /v1/jobs?connectionId=&workspaceIds=&jobType=&status=&updatedAtStart=&orderBy=field|ASC|DESC
//   (JobsController.kt, JobsHelper.kt: a malformed orderBy is a 400) → {data, next, previous},
//   each job as JobResponseMapper.kt writes it: `startTime` = creation, `lastUpdatedAt` only
//   for terminal jobs, both by Java's OffsetDateTime.toString() in UTC (no seconds when zero);
// - rate limits are not documented: script a 429 with `rateLimit()` or `script()`;
// - workspaces and their webhook slots: fake-airbyte-workspaces.ts (`.workspaces`).
// It can also send the webhook notification of a job it ended (the shape of
// test/fixtures/airbyte/sync-succeeded.json), so a test decides which webhooks get lost.

const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 20;
const ORDER_BY = /^([a-zA-Z0-9]+)\|(ASC|DESC)$/;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface FakeAirbyteConnection {
  connectionId: string;
  name: string;
  sourceId: string;
  destinationId: string;
  workspaceId: string;
  status: 'active' | 'inactive' | 'deprecated' | 'locked';
  schedule: { scheduleType: 'manual' | 'cron' | 'basic'; basicTiming?: string; cronExpression?: string };
  createdAt: number;
}

export interface FakeAirbyteJob {
  jobId: number;
  connectionId: string;
  status: string;
  jobType: 'sync' | 'reset' | 'refresh' | 'clear';
  /** Epoch seconds, as Airbyte's JobRead. */
  createdAt: number;
  updatedAt: number;
  bytesSynced: number;
  rowsSynced: number;
}

export interface FakeAirbyteOptions {
  clientId?: string;
  clientSecret?: string;
  tokenTtlSeconds?: number;
}

export class FakeAirbyte extends RecordingServer {
  readonly connections = new Map<string, FakeAirbyteConnection>();
  readonly jobs: FakeAirbyteJob[] = [];
  readonly workspaces = new FakeAirbyteWorkspaces(paging, links, problem);
  readonly clientId: string;
  readonly clientSecret: string;
  private readonly tokenTtlSeconds: number;
  private readonly tokens = new Map<string, number>();
  private nextJobId = 9000;

  constructor(options: FakeAirbyteOptions = {}) {
    super('Airbyte API', (request, server) => (server as FakeAirbyte).answer(request));
    this.clientId = options.clientId ?? 'local-airbyte-client-id';
    this.clientSecret = options.clientSecret ?? 'local-airbyte-client-secret';
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 900;
  }

  addConnection(fields: Partial<FakeAirbyteConnection> & { connectionId: string }): FakeAirbyteConnection {
    const connection: FakeAirbyteConnection = {
      name: fields.connectionId,
      sourceId: randomUUID(),
      destinationId: randomUUID(),
      workspaceId: '6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e',
      status: 'active',
      schedule: { scheduleType: 'basic', basicTiming: 'Every 24 HOURS' },
      createdAt: Math.floor(Date.now() / 1000),
      ...fields,
    };
    this.connections.set(connection.connectionId, connection);
    return connection;
  }

  /**
   * A sync job of the connection that started at `startedAt` and ended at `at` with the
   * status. Returns the job and the webhook notification Airbyte posts for it; the caller
   * posts it (postAirbyte) or drops it on purpose.
   */
  runJob(connectionId: string, { status = 'succeeded', at = new Date(), startedAt }: { status?: 'succeeded' | 'failed'; at?: Date; startedAt?: Date } = {}): { job: FakeAirbyteJob; webhook: string } {
    const connection = this.connections.get(connectionId);
    if (!connection) throw new Error(`no Airbyte connection ${connectionId}`);
    const started = startedAt ?? new Date(at.getTime() - 60_000);
    const job: FakeAirbyteJob = {
      jobId: this.nextJobId++,
      connectionId,
      status,
      jobType: 'sync',
      createdAt: Math.floor(started.getTime() / 1000),
      updatedAt: Math.floor(at.getTime() / 1000),
      bytesSynced: 1024,
      rowsSynced: 10,
    };
    this.jobs.push(job);
    return { job, webhook: this.webhookFor(connection, job) };
  }

  /** The next `count` requests are answered 429 (with Retry-After when given). */
  rateLimit(count = 1, retryAfterSeconds?: number): this {
    for (let i = 0; i < count; i++) {
      this.script({ status: 429, ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }), body: problem(429, 'rate-limited', 'Too many requests.') });
    }
    return this;
  }

  private answer(request: RecordedRequest): Reply {
    const url = new URL(request.url, 'http://airbyte.local');
    const path = url.pathname.replace(/\/+$/, '');
    if (request.method === 'POST' && path === '/v1/applications/token') return this.token(request);
    const bearer = /^Bearer\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''));
    const expires = bearer ? this.tokens.get(bearer[1]!) : undefined;
    if (expires === undefined || expires < Date.now()) return { status: 401, body: problem(401, 'invalid-api-key', 'The API key in the Authorization header is invalid.') };
    if (request.method === 'GET' && path === '/v1/connections') return this.listConnections(url);
    if (request.method === 'GET' && path === '/v1/jobs') return this.listJobs(url);
    const workspaces = this.workspaces.answer(request, url, path);
    if (workspaces) return workspaces;
    return { status: 404, body: problem(404, 'resource-not-found', 'The requested resource could not be found.') };
  }

  private token(request: RecordedRequest): Reply {
    const body = (request.json ?? Object.fromEntries(new URLSearchParams(request.body))) as Record<string, unknown>;
    const grant = body.grant_type ?? body['grant-type'];
    if (body.client_id !== this.clientId || body.client_secret !== this.clientSecret || (grant !== undefined && grant !== 'client_credentials')) {
      return { status: 401, body: problem(401, 'invalid-api-key', 'The client id or secret is invalid.') };
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, Date.now() + this.tokenTtlSeconds * 1000);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: this.tokenTtlSeconds } };
  }

  private listConnections(url: URL): Reply {
    const page = paging(url);
    if ('reply' in page) return page.reply;
    const workspaces = url.searchParams.getAll('workspaceIds').flatMap((w) => w.split(','));
    const all = [...this.connections.values()]
      .filter((c) => workspaces.length === 0 || workspaces.includes(c.workspaceId))
      .filter((c) => url.searchParams.get('includeDeleted') === 'true' || c.status !== 'deprecated')
      .sort((a, b) => a.createdAt - b.createdAt || a.connectionId.localeCompare(b.connectionId));
    const data = all.slice(page.offset, page.offset + page.limit).map((c) => ({ ...c, tags: [], configurations: { streams: [] } }));
    return { status: 200, body: { data, ...links(url, page, all.length) } };
  }

  private listJobs(url: URL): Reply {
    const page = paging(url);
    if ('reply' in page) return page.reply;
    const query = url.searchParams;
    const order = ORDER_BY.exec(query.get('orderBy') ?? 'createdAt|ASC');
    if (!order || !['createdAt', 'updatedAt'].includes(order[1]!)) return { status: 400, body: problem(400, 'bad-request', `Invalid order by clause provided: ${query.get('orderBy')}`) };
    const since = query.has('updatedAtStart') ? Date.parse(query.get('updatedAtStart')!) : Number.NEGATIVE_INFINITY;
    if (Number.isNaN(since)) return { status: 400, body: problem(400, 'bad-request', 'updatedAtStart is not a date-time') };
    const workspaces = query.getAll('workspaceIds').flatMap((w) => w.split(','));
    const field = order[1] === 'createdAt' ? 'createdAt' : 'updatedAt';
    const sign = order[2] === 'DESC' ? -1 : 1;
    const all = this.jobs
      .filter((j) => !query.has('connectionId') || j.connectionId === query.get('connectionId'))
      .filter((j) => workspaces.length === 0 || workspaces.includes(this.connections.get(j.connectionId)?.workspaceId ?? ''))
      .filter((j) => !query.has('jobType') || j.jobType === query.get('jobType'))
      .filter((j) => !query.has('status') || j.status === query.get('status'))
      .filter((j) => j.updatedAt * 1000 >= since)
      .sort((a, b) => sign * (a[field] - b[field]) || sign * (a.jobId - b.jobId));
    const data = all.slice(page.offset, page.offset + page.limit).map(jobResponse);
    return { status: 200, body: { data, ...links(url, page, all.length) } };
  }

  private webhookFor(connection: FakeAirbyteConnection, job: FakeAirbyteJob): string {
    const base = 'https://cloud.airbyte.com';
    const workspaceUrl = `${base}/workspaces/${connection.workspaceId}`;
    const connectionUrl = `${workspaceUrl}/connections/${connection.connectionId}`;
    const success = job.status === 'succeeded';
    const seconds = job.updatedAt - job.createdAt;
    return JSON.stringify({
      text: `Your connection ${connection.name} from Postgres to BigQuery ${success ? 'succeeded' : 'failed'}\nThis was for null\n\nYou can access its logs here: ${connectionUrl}\n\nJob ID: ${job.jobId}`,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Sync ${success ? 'completed' : 'failed'}: <${connectionUrl}|${connection.name}>` } }],
      data: {
        workspace: { id: connection.workspaceId, name: 'Analytics', url: workspaceUrl },
        connection: { id: connection.connectionId, name: connection.name, url: connectionUrl },
        source: { id: connection.sourceId, name: 'Postgres', url: `${workspaceUrl}/source/${connection.sourceId}` },
        destination: { id: connection.destinationId, name: 'BigQuery', url: `${workspaceUrl}/destination/${connection.destinationId}` },
        jobId: job.jobId,
        startedAt: new Date(job.createdAt * 1000).toISOString().replace('.000Z', 'Z'),
        finishedAt: new Date(job.updatedAt * 1000).toISOString().replace('.000Z', 'Z'),
        bytesEmitted: job.bytesSynced,
        bytesCommitted: job.bytesSynced,
        recordsEmitted: job.rowsSynced,
        recordsCommitted: job.rowsSynced,
        recordsFilteredOut: 0,
        bytesFilteredOut: 0,
        errorMessage: success ? null : 'stand-in failure',
        errorType: success ? null : 'system_error',
        errorOrigin: success ? null : 'source',
        success,
        durationInSeconds: seconds,
      },
    });
  }
}

export function fakeAirbyte(options: FakeAirbyteOptions = {}): FakeAirbyte {
  return new FakeAirbyte(options);
}

/** A job as JobResponseMapper.kt writes it. */
function jobResponse(job: FakeAirbyteJob): Record<string, unknown> {
  return {
    jobId: job.jobId,
    status: job.status,
    jobType: job.jobType,
    startTime: javaOffsetDateTime(job.createdAt),
    connectionId: job.connectionId,
    ...(TERMINAL.has(job.status) ? { lastUpdatedAt: javaOffsetDateTime(job.updatedAt) } : {}),
    ...(job.status === 'pending' ? {} : { duration: `PT${job.updatedAt - job.createdAt}S` }),
    bytesSynced: job.bytesSynced,
    rowsSynced: job.rowsSynced,
  };
}

/** OffsetDateTime.toString() of an epoch second in UTC: "2023-03-25T01:30:50Z", or "…T01:30Z" when the seconds are zero. */
export function javaOffsetDateTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z').replace(/:00Z$/, 'Z');
}

function paging(url: URL): { limit: number; offset: number } | { reply: Reply } {
  const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : DEFAULT_LIMIT;
  const offset = url.searchParams.has('offset') ? Number(url.searchParams.get('offset')) : 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT || !Number.isInteger(offset) || offset < 0) {
    return { reply: { status: 400, body: problem(400, 'bad-request', `limit must be 1 to ${MAX_LIMIT} and offset at least 0`) } };
  }
  return { limit, offset };
}

function links(url: URL, page: { limit: number; offset: number }, total: number): { next?: string; previous?: string } {
  const at = (offset: number) => {
    const next = new URL(url.href);
    next.searchParams.set('limit', String(page.limit));
    next.searchParams.set('offset', String(offset));
    return `https://api.airbyte.com${next.pathname}${next.search}`;
  };
  return {
    ...(page.offset + page.limit < total ? { next: at(page.offset + page.limit) } : {}),
    ...(page.offset > 0 ? { previous: at(Math.max(0, page.offset - page.limit)) } : {}),
  };
}

function problem(status: number, title: string, detail: string): Record<string, unknown> {
  return { status, type: `https://reference.airbyte.com/reference/errors#${title}`, title, detail };
}
