import { randomBytes } from 'node:crypto';
import type { RecordedRequest, Reply } from './recording-server.js';
import { postFivetran } from './webhooks.js';

// Fivetran's webhook management, for the Fivetran stand-in (fake-fivetran.ts), as
// fivetran.com/docs/rest-api/webhooks and fivetran/go-fivetran@74cb73c (webhooks/*.go and
// their tests) describe it:
// - GET /v1/webhooks?cursor=&limit= (account and group webhooks mixed, cursor pages as for
//   connections), GET /v1/webhooks/{id}, POST /v1/webhooks/account, POST
//   /v1/webhooks/group/{group_id}, PATCH /v1/webhooks/{id}, DELETE /v1/webhooks/{id};
// - a create answers 200 {"code":"Success","message":"Account webhook has been created",
//   "data":{id, type, url, events, active, secret, created_at, created_by}} (+ group_id for
//   a group webhook); `secret` is always "******" (go-fivetran's tests; the Terraform
//   provider keeps the secret from its configuration for that reason);
// - "The payload URL must be a secure site (HTTPS)": anything else is a 400. The stand-in's one
//   deviation: http://127.0.0.1 / localhost is accepted, because the local stack has no TLS;
// - "During the webhook creation or activation, we perform a single POST request to the
//   specified URL with a testing payload. If endpoint is not reachable or returns an
//   unsuccessful status code, Fivetran does not create the webhook and returns an HTTP 400"
//   (same page): the payload is the test_event of fivetran.com/docs/rest-api/troubleshooting/
//   sync-id-field-required-error, signed like every delivery (X-Fivetran-Signature-256) when
//   the webhook has a secret. An inactive webhook is not tested until it is activated;
// - the error codes of webhook calls are not documented; the stand-in's are its own, and
//   postload reads only the HTTP status.
// `deliver()` sends an event to every active webhook it concerns, as Fivetran does.

export interface FakeFivetranWebhook {
  id: string;
  type: 'account' | 'group';
  group_id?: string;
  url: string;
  events: string[];
  active: boolean;
  /** The real secret, which the API never shows. */
  secret: string | null;
  created_at: string;
  created_by: string;
}

/** Event names Fivetran documents for webhooks (fivetran.com/docs/rest-api/getting-started/webhooks). */
export const FIVETRAN_WEBHOOK_EVENTS = new Set([
  'sync_start', 'sync_end', 'status', 'dbt_run_start', 'dbt_run_succeeded', 'dbt_run_failed',
  'transformation_run_start', 'transformation_run_succeeded', 'transformation_run_failed',
  'connection_successful', 'connection_failure', 'create_connector', 'pause_connector', 'resume_connector',
  'edit_connector', 'delete_connector', 'force_update_connector', 'resync_connector', 'resync_table',
]);

const WEBHOOK = /^\/v1\/webhooks\/([^/]+)$/;
const GROUP_WEBHOOK = /^\/v1\/webhooks\/group\/([^/]+)$/;
const GROUP = /^\/v1\/groups\/([^/]+)$/;

export interface WebhookTest {
  webhookId: string | null;
  url: string;
  status: number | string;
}

export class FakeFivetranWebhooks {
  readonly webhooks = new Map<string, FakeFivetranWebhook>();
  /** Every test POST made on creation or activation, with what the URL answered. */
  readonly tests: WebhookTest[] = [];

  constructor(
    private readonly groups: () => Set<string>,
    private readonly pageOf: <T>(all: T[], query: URLSearchParams) => { refused: Reply } | { items: T[]; next_cursor?: string },
  ) {}

  /** A webhook as if someone had made it before (no test POST): another tool's, or an old one of postload's. */
  add(fields: Partial<FakeFivetranWebhook> & { url: string }): FakeFivetranWebhook {
    const webhook: FakeFivetranWebhook = { id: newId(), type: 'account', events: ['sync_end'], active: true, secret: null, created_at: new Date().toISOString(), created_by: 'someone_else', ...fields };
    this.webhooks.set(webhook.id, webhook);
    return webhook;
  }

  /** Answers the webhook and group calls; undefined for anything else. */
  async answer(request: RecordedRequest, path: string, query: URLSearchParams): Promise<Reply | undefined> {
    const group = GROUP.exec(path);
    if (group && request.method === 'GET') {
      return this.groups().has(group[1]!)
        ? ok('Operation performed.', { id: group[1], name: `Destination ${group[1]}`, created_at: '2024-01-01T00:00:00.000Z' })
        : error(404, 'NotFound_Group', `Group with id '${group[1]}' doesn't exist.`);
    }
    if (path === '/v1/webhooks' && request.method === 'GET') {
      const page = this.pageOf([...this.webhooks.values()], query);
      return 'refused' in page ? page.refused : ok('Operation performed.', { items: page.items.map(view), ...(page.next_cursor ? { next_cursor: page.next_cursor } : {}) });
    }
    if (path === '/v1/webhooks/account' && request.method === 'POST') return this.create(request, { type: 'account' });
    const byGroup = GROUP_WEBHOOK.exec(path);
    if (byGroup && request.method === 'POST') {
      if (!this.groups().has(byGroup[1]!)) return error(404, 'NotFound_Group', `Group with id '${byGroup[1]}' doesn't exist.`);
      return this.create(request, { type: 'group', group_id: byGroup[1]! });
    }
    const one = WEBHOOK.exec(path);
    if (!one) return undefined;
    const webhook = this.webhooks.get(one[1]!);
    if (!webhook) return error(404, 'NotFound_Webhook', `Webhook with id '${one[1]}' doesn't exist.`);
    if (request.method === 'GET') return ok('Operation performed.', view(webhook));
    if (request.method === 'DELETE') {
      this.webhooks.delete(webhook.id);
      return { status: 200, body: { code: 'Success', message: `Webhook with id '${webhook.id}' has been deleted` } };
    }
    if (request.method === 'PATCH') return this.update(webhook, request);
    return undefined;
  }

  /**
   * Sends a webhook body to every active webhook it concerns (account webhooks, and group
   * webhooks of the connection's group) that subscribes to its event, signed with each
   * one's secret. Returns what each URL answered.
   */
  async deliver(body: string): Promise<Array<{ webhookId: string; status: number | string }>> {
    const event = JSON.parse(body) as { event: string; destination_group_id?: string; group_id?: string };
    const group = event.destination_group_id ?? event.group_id;
    const targets = [...this.webhooks.values()].filter((w) => w.active && w.events.includes(event.event) && (w.type === 'account' || w.group_id === group));
    return Promise.all(targets.map(async (w) => ({ webhookId: w.id, status: await post(w.url, body, w.secret) })));
  }

  private async create(request: RecordedRequest, scope: { type: 'account' } | { type: 'group'; group_id: string }): Promise<Reply> {
    const body = request.json as Record<string, unknown> | undefined;
    const problem = invalid(body, true);
    if (problem) return problem;
    const fields = body as { url: string; events: string[]; active?: boolean; secret?: string };
    const webhook: FakeFivetranWebhook = {
      id: newId(),
      ...scope,
      url: fields.url,
      events: [...new Set(fields.events)],
      active: fields.active ?? true,
      secret: fields.secret ?? null,
      created_at: new Date().toISOString(),
      created_by: 'api_user',
    };
    if (webhook.active) {
      const refused = await this.test(webhook);
      if (refused) return refused;
    }
    this.webhooks.set(webhook.id, webhook);
    return ok(scope.type === 'account' ? 'Account webhook has been created' : 'Group webhook has been created', view(webhook));
  }

  private async update(webhook: FakeFivetranWebhook, request: RecordedRequest): Promise<Reply> {
    const body = request.json as Record<string, unknown> | undefined;
    const problem = invalid(body, false);
    if (problem) return problem;
    const fields = body as Partial<{ url: string; events: string[]; active: boolean; secret: string }>;
    const next: FakeFivetranWebhook = {
      ...webhook,
      ...(fields.url === undefined ? {} : { url: fields.url }),
      ...(fields.events === undefined ? {} : { events: [...new Set(fields.events)] }),
      ...(fields.active === undefined ? {} : { active: fields.active }),
      ...(fields.secret === undefined ? {} : { secret: fields.secret }),
    };
    if (next.active && !webhook.active) {
      const refused = await this.test(next);
      if (refused) return refused;
    }
    this.webhooks.set(webhook.id, next);
    return ok('Webhook has been updated', view(next));
  }

  /** The creation/activation test: a 400 (and nothing changed) unless the URL answers 2xx. */
  private async test(webhook: FakeFivetranWebhook): Promise<Reply | undefined> {
    const body = JSON.stringify({ event: 'test_event', created: new Date().toISOString(), connector_type: '_connector_type', connector_id: '_connector_1', group_id: '_destination_1' });
    const status = await post(webhook.url, body, webhook.secret);
    this.tests.push({ webhookId: this.webhooks.has(webhook.id) ? webhook.id : null, url: webhook.url, status });
    if (typeof status === 'number' && status >= 200 && status < 300) return undefined;
    return error(400, 'InvalidInput', `Webhook test failed: the endpoint answered ${status}.`);
  }
}

async function post(url: string, body: string, secret: string | null): Promise<number | string> {
  try {
    const response = secret ? await postFivetran(url, body, secret) : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
    return response.status;
  } catch (failure) {
    return (failure as Error).message;
  }
}

/** What Fivetran refuses with a 400: a URL that is not HTTPS, no or unknown events, wrong types. */
function invalid(body: Record<string, unknown> | undefined, creating: boolean): Reply | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return error(400, 'InvalidInput', 'The request body must be a JSON object.');
  if (creating && (body.url === undefined || body.events === undefined)) return error(400, 'InvalidInput', 'Missing required fields: url, events.');
  if (body.url !== undefined && !secureUrl(body.url)) return error(400, 'InvalidInput', 'The payload URL must be a secure site (HTTPS).');
  if (body.events !== undefined) {
    if (!Array.isArray(body.events) || body.events.length === 0) return error(400, 'InvalidInput', 'events must be a non-empty list.');
    const unknown = body.events.filter((e) => typeof e !== 'string' || !FIVETRAN_WEBHOOK_EVENTS.has(e));
    if (unknown.length > 0) return error(400, 'InvalidInput', `Unknown events: ${unknown.map(String).join(', ')}.`);
  }
  if (body.active !== undefined && typeof body.active !== 'boolean') return error(400, 'InvalidInput', 'active must be a boolean.');
  if (body.secret !== undefined && typeof body.secret !== 'string') return error(400, 'InvalidInput', 'secret must be a string.');
  return undefined;
}

function secureUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
  } catch {
    return false;
  }
}

function view(webhook: FakeFivetranWebhook): Record<string, unknown> {
  const { secret: _secret, ...shown } = webhook;
  return { ...shown, secret: '******' };
}

function newId(): string {
  return `wh_${randomBytes(6).toString('hex')}`;
}

function ok(message: string, data: unknown): Reply {
  return { status: 200, body: { code: 'Success', message, data } };
}

function error(status: number, code: string, message: string): Reply {
  return { status, body: { code, message } };
}
