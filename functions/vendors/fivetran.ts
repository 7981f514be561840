import type { Deadline, FetchLike } from '../processor/clients/http-retry.js';
import type { Secret } from '../shared/secrets.js';
import { instantOf, isRecord, requestJson, type VendorRequest } from './request.js';
import type { RetryPolicy } from './retry.js';
import { VendorApiError, type SkippedItem } from './vendor-error.js';

// The Fivetran REST API v1, as summarised with sources in the team's vendor notes and
// checked against fivetran/go-fivetran (client.go, connections/common_types.go,
// connections/connections_list_test.go) and fivetran.com/docs/rest-api:
// - base https://api.fivetran.com/v1, `Authorization: Basic base64(key:secret)`,
//   `Accept: application/json` (anything else is a 406);
// - envelope {"code":"Success","message":…,"data":{…}}; errors {"code":…,"message":…};
// - paging: ?cursor=&limit= (1..1000, default 100) → data.items[] and data.next_cursor,
//   absent on the last page (beta.fivetran.com/docs/rest-api/getting-started/pagination);
// - 429 with Retry-After in seconds (…/getting-started/rate-limiting);
// - webhooks (fivetran.com/docs/rest-api/webhooks; go-fivetran webhooks/*.go): list
//   GET /v1/webhooks (cursor pages, account and group webhooks mixed), create POST
//   /v1/webhooks/account or /v1/webhooks/group/{group_id} {url, events, active, secret},
//   update PATCH /v1/webhooks/{id} with any of those fields; every answer's `secret` is
//   "******", so a webhook's secret can be set but never compared. Creating an active
//   webhook, or activating one, makes Fivetran POST a test to the URL; anything but a 2xx
//   there, or a URL that is not HTTPS, is a 400 and nothing is created (checked on
//   fivetran.com/docs/rest-api/webhooks, "URL");
// - GET /v1/groups/{group_id} → {id, name, created_at}; 404 for an unknown group
//   (go-fivetran groups/group_details.go).

export const FIVETRAN_API_BASE_URL = 'https://api.fivetran.com/v1';
const PAGE_LIMIT = 1000;
const MAX_PAGES = 100;

/** A webhook as Fivetran lists it (its secret is never shown: always "******"). */
export interface FivetranWebhook {
  id: string;
  type: 'account' | 'group';
  /** Set for group webhooks only. */
  groupId: string | null;
  url: string;
  events: string[];
  active: boolean;
}

export type FivetranWebhookScope = { type: 'account' } | { type: 'group'; groupId: string };

export interface FivetranWebhookFields {
  url: string;
  events: string[];
  active: boolean;
  secret: string;
}

/** What the sweep reads of one connection (GET /v1/connections item). */
export interface FivetranConnection {
  /** The connection id: the webhooks' `connector_id`. */
  id: string;
  groupId: string | null;
  service: string | null;
  /** The destination schema, which Fivetran's webhooks send as `connector_name`. */
  schema: string | null;
  paused: boolean;
  /** Minutes between syncs (1, 5, 15, … 1440; default 360); null when absent. */
  syncFrequency: number | null;
  /** auto, or manual (syncs only when triggered: sync_frequency is ignored). */
  scheduleType: string | null;
  /** "HH:mm" for daily syncs (sync_frequency 1440), in the destination's time zone. */
  dailySyncTime: string | null;
  /** When the latest successful / failed sync ended (epoch ms), null if never. */
  succeededAt: number | null;
  failedAt: number | null;
  /** status.sync_state (scheduled, syncing, paused, rescheduled, …). */
  syncState: string | null;
}

export interface FivetranClientOptions {
  apiKey: Secret;
  apiSecret: Secret;
  baseUrl?: string;
  timeoutMs?: number;
  fetch?: FetchLike;
  retry?: RetryPolicy;
}

export class FivetranClient {
  readonly baseUrl: string;

  constructor(private readonly options: FivetranClientOptions) {
    this.baseUrl = (options.baseUrl ?? FIVETRAN_API_BASE_URL).replace(/\/+$/, '');
  }

  /**
   * Every connection the key can see (optionally of one destination group), all pages.
   * Items that are not the documented shape are left out and returned in `skipped`; an
   * answer whose envelope is not the documented one fails the whole call as `garbage`.
   */
  async listConnections({ deadline, groupId }: { deadline: Deadline; groupId?: string }): Promise<{ connections: FivetranConnection[]; skipped: SkippedItem[] }> {
    const connections: FivetranConnection[] = [];
    const skipped: SkippedItem[] = [];
    let cursor: string | undefined;
    for (let page = 1; ; page++) {
      const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (groupId) query.set('group_id', groupId);
      if (cursor) query.set('cursor', cursor);
      const { json } = await this.call('GET', `/connections?${query}`, `Fivetran GET /v1/connections (page ${page})`, deadline);
      const data = isRecord(json) && json.code === 'Success' && isRecord(json.data) ? json.data : undefined;
      if (!data || !Array.isArray(data.items)) throw new VendorApiError('fivetran', 'garbage', 'Fivetran GET /v1/connections: the answer has no data.items list');
      data.items.forEach((item: unknown, i: number) => {
        const read = readConnection(item);
        if ('problem' in read) skipped.push({ item: isRecord(item) && typeof item.id === 'string' ? item.id : `page ${page} item ${i}`, problem: read.problem });
        else connections.push(read);
      });
      const next = data.next_cursor;
      if (next === undefined || next === null || next === '') return { connections, skipped };
      if (typeof next !== 'string') throw new VendorApiError('fivetran', 'garbage', 'Fivetran GET /v1/connections: next_cursor is not a string');
      if (page >= MAX_PAGES) throw new VendorApiError('fivetran', 'garbage', `Fivetran GET /v1/connections: more than ${MAX_PAGES} pages of ${PAGE_LIMIT}`);
      cursor = next;
    }
  }

  /** Every webhook of the account, account and group webhooks alike, all pages. */
  async listWebhooks({ deadline }: { deadline: Deadline }): Promise<FivetranWebhook[]> {
    const webhooks: FivetranWebhook[] = [];
    let cursor: string | undefined;
    for (let page = 1; ; page++) {
      const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (cursor) query.set('cursor', cursor);
      const label = `Fivetran GET /v1/webhooks (page ${page})`;
      const data = envelopeData((await this.call('GET', `/webhooks?${query}`, label, deadline)).json, label);
      if (!Array.isArray(data.items)) throw new VendorApiError('fivetran', 'garbage', `${label}: the answer has no data.items list`);
      for (const item of data.items) webhooks.push(readWebhook(item, label));
      const next = data.next_cursor;
      if (next === undefined || next === null || next === '') return webhooks;
      if (typeof next !== 'string') throw new VendorApiError('fivetran', 'garbage', `${label}: next_cursor is not a string`);
      if (page >= MAX_PAGES) throw new VendorApiError('fivetran', 'garbage', `Fivetran GET /v1/webhooks: more than ${MAX_PAGES} pages of ${PAGE_LIMIT}`);
      cursor = next;
    }
  }

  /** The group (destination), or null when Fivetran does not know it (404). */
  async getGroup({ deadline, groupId }: { deadline: Deadline; groupId: string }): Promise<{ id: string; name: string | null } | null> {
    const label = `Fivetran GET /v1/groups/${groupId}`;
    try {
      const data = envelopeData((await this.call('GET', `/groups/${encodeURIComponent(groupId)}`, label, deadline)).json, label);
      if (typeof data.id !== 'string') throw new VendorApiError('fivetran', 'garbage', `${label}: the answer has no data.id`);
      return { id: data.id, name: stringOrNull(data.name) };
    } catch (error) {
      if (error instanceof VendorApiError && error.details.status === 404) return null;
      throw error;
    }
  }

  /** Creates an account or group webhook. An active one is tested by Fivetran first (a 400 when the test fails). */
  async createWebhook({ deadline, scope, fields }: { deadline: Deadline; scope: FivetranWebhookScope; fields: FivetranWebhookFields }): Promise<FivetranWebhook> {
    const path = scope.type === 'account' ? '/webhooks/account' : `/webhooks/group/${encodeURIComponent(scope.groupId)}`;
    const label = `Fivetran POST /v1${scope.type === 'account' ? '/webhooks/account' : `/webhooks/group/${scope.groupId}`}`;
    const { json } = await this.call('POST', path, label, deadline, fields);
    return readWebhook(envelopeData(json, label), label);
  }

  /** Changes the given fields of a webhook (PATCH: the others stay). */
  async updateWebhook({ deadline, id, fields }: { deadline: Deadline; id: string; fields: Partial<FivetranWebhookFields> }): Promise<FivetranWebhook> {
    const label = `Fivetran PATCH /v1/webhooks/${id}`;
    const { json } = await this.call('PATCH', `/webhooks/${encodeURIComponent(id)}`, label, deadline, fields);
    return readWebhook(envelopeData(json, label), label);
  }

  private async call(method: VendorRequest['method'], path: string, label: string, deadline: Deadline, body?: object): Promise<{ json: unknown }> {
    const [key, secret] = await Promise.all([this.options.apiKey.currentValue(), this.options.apiSecret.currentValue()]);
    return requestJson(
      {
        method,
        url: `${this.baseUrl}${path}`,
        headers: {
          authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        label,
      },
      { vendor: 'fivetran', timeoutMs: this.options.timeoutMs ?? 10_000, deadline, fetch: this.options.fetch, retry: this.options.retry },
    );
  }
}

function envelopeData(json: unknown, label: string): Record<string, unknown> {
  if (!isRecord(json) || json.code !== 'Success' || !isRecord(json.data)) throw new VendorApiError('fivetran', 'garbage', `${label}: the answer is not {"code":"Success","data":{…}}`);
  return json.data;
}

/** A webhook of a list or an answer; one that is not the documented shape fails the call (connect must not act on a guess). */
export function readWebhook(item: unknown, label: string): FivetranWebhook {
  const bad = (what: string) => new VendorApiError('fivetran', 'garbage', `${label}: a webhook ${what}`);
  if (!isRecord(item)) throw bad('is not an object');
  if (typeof item.id !== 'string' || item.id === '') throw bad('has no id');
  if (item.type !== 'account' && item.type !== 'group') throw bad(`has type ${JSON.stringify(item.type)?.slice(0, 40)}, not account or group`);
  if (typeof item.url !== 'string') throw bad(`${item.id} has no url`);
  if (!Array.isArray(item.events) || !item.events.every((e) => typeof e === 'string')) throw bad(`${item.id} has no events list`);
  if (typeof item.active !== 'boolean') throw bad(`${item.id} has no active flag`);
  return { id: item.id, type: item.type, groupId: item.type === 'group' ? stringOrNull(item.group_id) : null, url: item.url, events: item.events as string[], active: item.active };
}

/** One list item as the sweep needs it, or what is wrong with it. */
export function readConnection(item: unknown): FivetranConnection | { problem: string } {
  if (!isRecord(item)) return { problem: 'is not an object' };
  if (typeof item.id !== 'string' || item.id === '') return { problem: 'has no id' };
  const succeededAt = instantOf(item.succeeded_at);
  const failedAt = instantOf(item.failed_at);
  if (succeededAt === undefined) return { problem: `succeeded_at is not a time: ${JSON.stringify(item.succeeded_at)?.slice(0, 60)}` };
  if (failedAt === undefined) return { problem: `failed_at is not a time: ${JSON.stringify(item.failed_at)?.slice(0, 60)}` };
  if (item.paused !== undefined && typeof item.paused !== 'boolean') return { problem: 'paused is not a boolean' };
  const frequency = item.sync_frequency;
  if (frequency !== undefined && frequency !== null && !(Number.isInteger(frequency) && (frequency as number) > 0)) return { problem: 'sync_frequency is not a positive number of minutes' };
  const status = isRecord(item.status) ? item.status : {};
  return {
    id: item.id,
    groupId: stringOrNull(item.group_id),
    service: stringOrNull(item.service),
    schema: stringOrNull(item.schema),
    paused: item.paused === true,
    syncFrequency: typeof frequency === 'number' ? frequency : null,
    scheduleType: stringOrNull(item.schedule_type),
    dailySyncTime: stringOrNull(item.daily_sync_time),
    succeededAt,
    failedAt,
    syncState: stringOrNull(status.sync_state),
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
