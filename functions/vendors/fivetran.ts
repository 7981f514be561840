import type { Deadline, FetchLike } from '../processor/clients/http-retry.js';
import type { Secret } from '../shared/secrets.js';
import { instantOf, isRecord, requestJson } from './request.js';
import { VendorApiError, type SkippedItem } from './vendor-error.js';

// The Fivetran REST API v1, as summarised with sources in the team's vendor notes and
// checked against fivetran/go-fivetran (client.go, connections/common_types.go,
// connections/connections_list_test.go) and fivetran.com/docs/rest-api:
// - base https://api.fivetran.com/v1, `Authorization: Basic base64(key:secret)`,
//   `Accept: application/json` (anything else is a 406);
// - envelope {"code":"Success","message":…,"data":{…}}; errors {"code":…,"message":…};
// - paging: ?cursor=&limit= (1..1000, default 100) → data.items[] and data.next_cursor,
//   absent on the last page (beta.fivetran.com/docs/rest-api/getting-started/pagination);
// - 429 with Retry-After in seconds (…/getting-started/rate-limiting).

export const FIVETRAN_API_BASE_URL = 'https://api.fivetran.com/v1';
const PAGE_LIMIT = 1000;
const MAX_PAGES = 100;

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
      const { json } = await this.get(`/connections?${query}`, `Fivetran GET /v1/connections (page ${page})`, deadline);
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

  private async get(path: string, label: string, deadline: Deadline): Promise<{ json: unknown }> {
    const [key, secret] = await Promise.all([this.options.apiKey.currentValue(), this.options.apiSecret.currentValue()]);
    return requestJson(
      {
        method: 'GET',
        url: `${this.baseUrl}${path}`,
        headers: { authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`, accept: 'application/json' },
        label,
      },
      { vendor: 'fivetran', timeoutMs: this.options.timeoutMs ?? 10_000, deadline, fetch: this.options.fetch },
    );
  }
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
