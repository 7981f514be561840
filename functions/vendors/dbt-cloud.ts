import type { Deadline, FetchLike } from '../processor/clients/http-retry.js';
import type { Secret } from '../shared/secrets.js';
import { isRecord, requestJson, type VendorRequest } from './request.js';
import type { RetryPolicy } from './retry.js';
import { VendorApiError } from './vendor-error.js';

// dbt Cloud's administrative API as `postload connect` uses it: webhook subscriptions (v3)
// and one job lookup (v2); and a failed run's retry, for the Slack app's button. The processor's job runs have their own client
// (processor/clients/dbt-cloud.ts). Shapes from dbt-labs/dbt-cloud-openapi-spec
// (openapi-v3.yaml), docs.getdbt.com/docs/deploy/webhooks and the dbt Cloud Terraform
// provider (dbt-labs/terraform-provider-dbtcloud, pkg/dbt_cloud/webhook.go, paginate.go):
// - `Authorization: Token <token>`; envelope {data, status: {code, is_success, user_message,
//   developer_message}}; a 404 can also mean the token may not see the account;
// - NOTE the plural/singular paths: list GET …/webhooks/subscriptions?limit=&offset= (limit ≤
//   100; extra.pagination.total_count), create POST …/webhooks/subscriptions (201), update PUT
//   …/webhooks/subscription/{id} (the whole body), delete DELETE …/webhooks/subscription/{id};
// - the body: {name, description, client_url, event_types, job_ids ([] = every job), active};
// - `hmac_secret`, the key dbt Cloud signs deliveries with, is in the answer to a create
//   only: the Terraform provider reads it there alone ("Hmac is always present in create
//   ops") and never from a GET. Whether a GET ever carries it is not documented; this client
//   never reads it anywhere but from a create, and never keeps or logs it;
// - job_ids come back as strings; ids of webhooks are strings "wsu_…".

export { DBT_CLOUD_BASE_URL } from '../shared/vendor-hosts.js';
const PAGE_LIMIT = 100;
const MAX_PAGES = 100;

export const DBT_CLOUD_EVENT_TYPES = ['job.run.started', 'job.run.completed', 'job.run.errored'] as const;

export interface DbtCloudWebhook {
  id: string;
  name: string;
  description: string;
  clientUrl: string;
  eventTypes: string[];
  /** As strings; empty: every job of the account. */
  jobIds: string[];
  active: boolean;
  /** Why dbt Cloud deactivated it (e.g. after failed deliveries), when it says. */
  deactivateReason: string | null;
}

export interface DbtCloudWebhookBody {
  name: string;
  description: string;
  client_url: string;
  event_types: string[];
  job_ids: number[];
  active: boolean;
}

export interface DbtCloudAdminClientOptions {
  /** `https://cloud.getdbt.com`, a regional or an account-scoped host (no /api). */
  baseUrl: string;
  token: Secret;
  timeoutMs?: number;
  fetch?: FetchLike;
  retry?: RetryPolicy;
}

export class DbtCloudAdminClient {
  readonly baseUrl: string;

  constructor(private readonly options: DbtCloudAdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** Every webhook subscription of the account, all pages. */
  async listWebhooks({ deadline, accountId }: { deadline: Deadline; accountId: string }): Promise<DbtCloudWebhook[]> {
    const webhooks: DbtCloudWebhook[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const offset = page * PAGE_LIMIT;
      const label = `dbt Cloud GET /api/v3/accounts/${accountId}/webhooks/subscriptions (offset ${offset})`;
      const { json } = await this.call('GET', `/api/v3/accounts/${accountId}/webhooks/subscriptions?limit=${PAGE_LIMIT}&offset=${offset}`, label, deadline);
      const data = isRecord(json) ? json.data : undefined;
      if (!Array.isArray(data)) throw new VendorApiError('dbt-cloud', 'garbage', `${label}: the answer has no data list`);
      for (const item of data) webhooks.push(readWebhook(item, label));
      const total = isRecord(json) && isRecord(json.extra) && isRecord(json.extra.pagination) ? json.extra.pagination.total_count : undefined;
      // The provider pages until total_count; a short page ends it too.
      if (data.length < PAGE_LIMIT || (typeof total === 'number' && offset + data.length >= total)) return webhooks;
    }
    throw new VendorApiError('dbt-cloud', 'garbage', `dbt Cloud webhooks of account ${accountId}: more than ${MAX_PAGES} pages of ${PAGE_LIMIT}`);
  }

  /**
   * Creates a subscription. Returns it and its `hmac_secret`, which dbt Cloud shows this once:
   * the caller stores it at once and lets it go.
   */
  async createWebhook({ deadline, accountId, body }: { deadline: Deadline; accountId: string; body: DbtCloudWebhookBody }): Promise<{ webhook: DbtCloudWebhook; hmacSecret: string }> {
    const label = `dbt Cloud POST /api/v3/accounts/${accountId}/webhooks/subscriptions`;
    const { json } = await this.call('POST', `/api/v3/accounts/${accountId}/webhooks/subscriptions`, label, deadline, body);
    const data = isRecord(json) ? json.data : undefined;
    const webhook = readWebhook(data, label);
    const hmacSecret = isRecord(data) ? data.hmac_secret : undefined;
    if (typeof hmacSecret !== 'string' || hmacSecret === '') throw new VendorApiError('dbt-cloud', 'garbage', `${label}: webhook ${webhook.id} was created, but the answer has no hmac_secret`);
    return { webhook, hmacSecret };
  }

  /** Replaces a subscription's settings (PUT: the whole body). */
  async updateWebhook({ deadline, accountId, id, body }: { deadline: Deadline; accountId: string; id: string; body: DbtCloudWebhookBody }): Promise<DbtCloudWebhook> {
    const label = `dbt Cloud PUT /api/v3/accounts/${accountId}/webhooks/subscription/${id}`;
    const { json } = await this.call('PUT', `/api/v3/accounts/${accountId}/webhooks/subscription/${encodeURIComponent(id)}`, label, deadline, body);
    return readWebhook(isRecord(json) ? json.data : undefined, label);
  }

  async deleteWebhook({ deadline, accountId, id }: { deadline: Deadline; accountId: string; id: string }): Promise<void> {
    const label = `dbt Cloud DELETE /api/v3/accounts/${accountId}/webhooks/subscription/${id}`;
    await this.call('DELETE', `/api/v3/accounts/${accountId}/webhooks/subscription/${encodeURIComponent(id)}`, label, deadline);
  }

  /** Whether the job exists in the account (GET /api/v2/accounts/{a}/jobs/{j}/: 404 when not). */
  async jobExists({ deadline, accountId, jobId }: { deadline: Deadline; accountId: string; jobId: number }): Promise<boolean> {
    const label = `dbt Cloud GET /api/v2/accounts/${accountId}/jobs/${jobId}/`;
    try {
      await this.call('GET', `/api/v2/accounts/${accountId}/jobs/${jobId}/`, label, deadline);
      return true;
    } catch (error) {
      if (error instanceof VendorApiError && error.details.status === 404) return false;
      throw error;
    }
  }

  /**
   * Retries a failed run from its point of failure: `POST /api/v2/accounts/{a}/runs/{r}/retry/`
   * (openapi-v2.yaml "Retry Run"), the run dbt Cloud enqueued. dbt Cloud refuses (4xx) a run
   * it cannot retry: not failed, not the job's latest run, no run results
   * (RetryNotSupportedReasonEnum); the error carries its user_message.
   */
  async retryRun({ deadline, accountId, runId }: { deadline: Deadline; accountId: string; runId: number }): Promise<{ id: number; href: string | null }> {
    const label = `dbt Cloud POST /api/v2/accounts/${accountId}/runs/${runId}/retry/`;
    const { json } = await this.call('POST', `/api/v2/accounts/${accountId}/runs/${runId}/retry/`, label, deadline, {});
    const data = isRecord(json) ? json.data : undefined;
    if (!isRecord(data) || typeof data.id !== 'number') throw new VendorApiError('dbt-cloud', 'garbage', `${label}: the answer has no run id`);
    return { id: data.id, href: typeof data.href === 'string' ? data.href : null };
  }

  private async call(method: VendorRequest['method'], path: string, label: string, deadline: Deadline, body?: object): Promise<{ json: unknown }> {
    const token = await this.options.token.currentValue();
    return requestJson(
      {
        method,
        url: `${this.baseUrl}${path}`,
        headers: { authorization: `Token ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        label,
      },
      { vendor: 'dbt-cloud', timeoutMs: this.options.timeoutMs ?? 10_000, deadline, fetch: this.options.fetch, retry: this.options.retry },
    );
  }
}

/** A subscription of a list or an answer, without its hmac_secret; one not of the documented shape fails the call. */
export function readWebhook(item: unknown, label: string): DbtCloudWebhook {
  const bad = (what: string) => new VendorApiError('dbt-cloud', 'garbage', `${label}: a webhook ${what}`);
  if (!isRecord(item)) throw bad('is not an object');
  if (typeof item.id !== 'string' || item.id === '') throw bad('has no id');
  if (typeof item.client_url !== 'string') throw bad(`${item.id} has no client_url`);
  const events = item.event_types ?? [];
  if (!Array.isArray(events) || !events.every((e) => typeof e === 'string')) throw bad(`${item.id} has no event_types list`);
  const jobs = item.job_ids ?? [];
  // Strings in the docs' samples, numbers in some answers: the provider accepts both.
  if (!Array.isArray(jobs) || !jobs.every((j) => typeof j === 'string' || Number.isSafeInteger(j))) throw bad(`${item.id} has no job_ids list`);
  return {
    id: item.id,
    name: typeof item.name === 'string' ? item.name : '',
    description: typeof item.description === 'string' ? item.description : '',
    clientUrl: item.client_url,
    eventTypes: events as string[],
    jobIds: jobs.map(String),
    active: item.active === true,
    deactivateReason: typeof item.deactivate_reason === 'string' && item.deactivate_reason !== '' ? item.deactivate_reason : null,
  };
}
