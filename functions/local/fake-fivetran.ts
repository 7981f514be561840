import { randomUUID } from 'node:crypto';
import { FakeFivetranWebhooks } from './fake-fivetran-webhooks.js';
import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

// A stand-in for the Fivetran REST API v1 (the parts postload reads), answering as
// Fivetran documents and as its Go SDK (fivetran/go-fivetran@74cb73c) expects:
// - auth: `Authorization: Basic base64(key:secret)`; anything else is a 401
//   (fivetran.com/docs/rest-api/getting-started/api-response-codes; the body's `code` for a
//   401 is not documented, so postload never reads it);
// - `Accept` must be application/json or application/json;version=2, else 406 (same page);
// - envelope {"code":"Success","message":…,"data":{…}}, errors {"code":…,"message":…};
// - GET /v1/connections?group_id=&cursor=&limit= pages with an opaque cursor: limit 1..1000
//   (default 100), `data.next_cursor` absent on the last page (beta.fivetran.com/docs/rest-api/
//   getting-started/pagination; go-fivetran connections/connections_list_test.go for the item shape);
// - X-Rate-Limit / X-Rate-Limit-Remaining on answers; 429 with `Retry-After: <seconds>` and
//   {"code":"TooManyRequests",…} when over the limit (…/getting-started/rate-limiting): script it
//   with `rateLimit()` or `script()`;
// - succeeded_at / failed_at are the ends of the latest successful and failed syncs;
// - POST and PATCH need `Content-Type: application/json`, else 415 (api-response-codes);
// - webhooks and GET /v1/groups/{id}: fake-fivetran-webhooks.ts (`.webhooks`).
// It can also send the `sync_end` webhook of a sync it finished, so a test decides which
// webhooks get lost. The webhook's `created` is the sync's end plus a little (FINISH_TO_WEBHOOK_MS):
// Fivetran does not document how `created` relates to `succeeded_at`, and postload must not
// depend on their being equal.

const CONNECTIONS = /^\/v1\/connections\/?$/;
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;
export const FINISH_TO_WEBHOOK_MS = 1_500;

export interface FakeFivetranConnection {
  id: string;
  group_id: string;
  service: string;
  schema: string;
  paused: boolean;
  sync_frequency: number;
  schedule_type: 'auto' | 'manual';
  daily_sync_time: string | null;
  succeeded_at: string | null;
  failed_at: string | null;
  status: { setup_state: string; sync_state: string; update_state: string; is_historical_sync: boolean; tasks: unknown[]; warnings: unknown[] };
}

export interface FakeFivetranOptions {
  apiKey?: string;
  apiSecret?: string;
  /** Requests an hour (Fivetran: 20,000 on paid plans, 500 on trials); the stand-in only reports it. */
  hourlyLimit?: number;
}

export class FakeFivetran extends RecordingServer {
  readonly connections = new Map<string, FakeFivetranConnection>();
  /** Groups (destinations) that exist besides those of the connections. */
  readonly groups = new Set<string>();
  readonly webhooks = new FakeFivetranWebhooks(
    () => new Set([...this.groups, ...[...this.connections.values()].map((c) => c.group_id)]),
    (all, query) => page(all, query),
  );
  readonly apiKey: string;
  readonly apiSecret: string;
  private readonly hourlyLimit: number;

  constructor(options: FakeFivetranOptions = {}) {
    super('Fivetran API', (request, server) => (server as FakeFivetran).answer(request));
    this.apiKey = options.apiKey ?? 'local-fivetran-api-key';
    this.apiSecret = options.apiSecret ?? 'local-fivetran-api-secret';
    this.hourlyLimit = options.hourlyLimit ?? 20_000;
  }

  /** Adds (or replaces) a connection; unset fields get Fivetran's defaults (every 6 hours, auto). */
  addConnection(fields: Partial<FakeFivetranConnection> & { id: string }): FakeFivetranConnection {
    const connection: FakeFivetranConnection = {
      group_id: 'local_group',
      service: 'google_cloud_postgresql',
      schema: fields.id,
      paused: false,
      sync_frequency: 360,
      schedule_type: 'auto',
      daily_sync_time: null,
      succeeded_at: null,
      failed_at: null,
      status: { setup_state: 'connected', sync_state: 'scheduled', update_state: 'on_schedule', is_historical_sync: false, tasks: [], warnings: [] },
      ...fields,
    };
    this.connections.set(connection.id, connection);
    return connection;
  }

  /**
   * Ends a sync of the connection at `at`: succeeded_at (or failed_at) moves there, as the
   * API then reports it. Returns the `sync_end` webhook body Fivetran sends for it; the
   * caller posts it (postFivetran), or drops it on purpose.
   */
  finishSync(id: string, { status = 'SUCCESSFUL', at = new Date() }: { status?: 'SUCCESSFUL' | 'FAILURE'; at?: Date } = {}): string {
    const connection = this.connections.get(id);
    if (!connection) throw new Error(`no Fivetran connection ${id}`);
    if (status === 'SUCCESSFUL') connection.succeeded_at = at.toISOString();
    else connection.failed_at = at.toISOString();
    return JSON.stringify({
      event: 'sync_end',
      created: new Date(at.getTime() + FINISH_TO_WEBHOOK_MS).toISOString(),
      connector_type: connection.service,
      connector_id: connection.id,
      connector_name: connection.schema,
      sync_id: randomUUID(),
      destination_group_id: connection.group_id,
      data: { status, ...(status === 'FAILURE' ? { reason: 'stand-in failure' } : {}) },
    });
  }

  /** The next `count` requests are answered 429 with Retry-After, as Fivetran's rate limit does. */
  rateLimit(count = 1, retryAfterSeconds = 60): this {
    for (let i = 0; i < count; i++) {
      this.script({ status: 429, headers: { 'retry-after': String(retryAfterSeconds) }, body: { code: 'TooManyRequests', message: 'Too many requests. Please retry after some time.' } });
    }
    return this;
  }

  private async answer(request: RecordedRequest): Promise<Reply> {
    const url = new URL(request.url, 'http://fivetran.local');
    if (!this.authorised(request.headers.authorization)) return error(401, 'Unauthorized', 'Missing or invalid API key and secret in the Authorization header.');
    const accept = String(request.headers.accept ?? 'application/json').replace(/\s+/g, '');
    if (!['application/json', 'application/json;version=2', '*/*'].includes(accept)) return error(406, 'NotAcceptable', 'Use Accept: application/json or application/json;version=2.');
    if ((request.method === 'POST' || request.method === 'PATCH') && !String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return error(415, 'UnsupportedMediaType', 'Use Content-Type: application/json.');
    }
    const path = url.pathname.replace(/\/+$/, '');
    const webhooks = await this.webhooks.answer(request, path, url.searchParams);
    if (webhooks) return this.withRateHeaders(webhooks);
    if (request.method !== 'GET' || !CONNECTIONS.test(url.pathname)) return error(404, 'NotFound', `No endpoint ${request.method} ${url.pathname}.`);
    return this.list(url.searchParams);
  }

  private list(query: URLSearchParams): Reply {
    const group = query.get('group_id');
    const all = [...this.connections.values()].filter((c) => group === null || c.group_id === group).sort((a, b) => a.id.localeCompare(b.id));
    const found = page(all, query);
    if ('refused' in found) return found.refused;
    return this.withRateHeaders({ status: 200, body: { code: 'Success', message: 'Operation performed.', data: found } });
  }

  private withRateHeaders(reply: Reply): Reply {
    if (typeof reply !== 'object') return reply;
    return { ...reply, headers: { ...reply.headers, 'x-rate-limit': String(this.hourlyLimit), 'x-rate-limit-remaining': String(Math.max(0, this.hourlyLimit - this.requests.length)) } };
  }

  private authorised(header: string | string[] | undefined): boolean {
    const value = Array.isArray(header) ? header[0] : header;
    const match = value ? /^Basic\s+(\S+)$/i.exec(value) : null;
    return match !== null && Buffer.from(match[1]!, 'base64').toString('utf8') === `${this.apiKey}:${this.apiSecret}`;
  }
}

export function fakeFivetran(options: FakeFivetranOptions = {}): FakeFivetran {
  return new FakeFivetran(options);
}

function error(status: number, code: string, message: string): Reply {
  return { status, body: { code, message } };
}

/** One cursor page of `all` (sorted by the caller), or the 400 a bad limit or cursor gets. */
function page<T>(all: T[], query: URLSearchParams): { refused: Reply } | { items: T[]; next_cursor?: string } {
  const limit = query.has('limit') ? Number(query.get('limit')) : DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { refused: error(400, 'InvalidInput', `limit must be between 1 and ${MAX_LIMIT}.`) };
  const cursor = query.get('cursor');
  const offset = cursor === null ? 0 : decodeCursor(cursor);
  if (offset === undefined) return { refused: error(400, 'InvalidInput', 'Invalid cursor.') };
  const items = all.slice(offset, offset + limit);
  return offset + limit < all.length ? { items, next_cursor: Buffer.from(`offset:${offset + limit}`).toString('base64url') } : { items };
}

function decodeCursor(cursor: string): number | undefined {
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : undefined;
}
