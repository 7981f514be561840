import { randomBytes } from 'node:crypto';
import type { RecordedRequest, Reply } from './recording-server.js';
import { postDbtCloud } from './webhooks.js';

// dbt Cloud's webhook subscriptions (API v3), for the dbt Cloud stand-in (fake-dbt-cloud.ts),
// as dbt-labs/dbt-cloud-openapi-spec (openapi-v3.yaml), docs.getdbt.com/docs/deploy/webhooks
// and the Terraform provider (dbt-labs/terraform-provider-dbtcloud pkg/dbt_cloud/webhook.go,
// paginate.go) describe them:
// - list GET /api/v3/accounts/{a}/webhooks/subscriptions?limit=(≤100)&offset= →
//   {data, status, extra: {pagination: {total_count, count}, filters: {offset, limit}}};
// - create POST …/webhooks/subscriptions (plural) → 201; get, update (PUT, the whole body) and
//   delete on …/webhooks/subscription/{id} (singular);
// - the body needs name, client_url, event_types and active; event_types ⊆ job.run.started,
//   job.run.completed, job.run.errored; job_ids [] means every job;
// - `hmac_secret` is in the answer to a create and nowhere else (the provider reads it there
//   only; whether a GET ever shows it is undocumented, and the stand-in never does);
// - job_ids come back as strings, ids as "wsu_…", times as microsecond epoch strings,
//   http_status_code "0" until a delivery was made;
// - deliveries: `Authorization: <hex HMAC-SHA256(hmac_secret, body)>`, retried (5 in all),
//   and a webhook failing five deliveries in a row is deactivated
//   (docs.getdbt.com/docs/deploy/webhooks).
// `deliver()` sends a run event to every active subscription it concerns, as dbt Cloud does.

const SUBSCRIPTIONS = /^\/api\/v3\/accounts\/(\d+)\/webhooks\/subscriptions\/?$/;
const SUBSCRIPTION = /^\/api\/v3\/accounts\/(\d+)\/webhooks\/subscription\/([^/]+)\/?$/;
const EVENT_TYPES = new Set(['job.run.started', 'job.run.completed', 'job.run.errored']);
const MAX_LIMIT = 100;
const ATTEMPTS = 5;
const DEACTIVATE_AFTER = 5;

export interface FakeDbtCloudSubscription {
  id: string;
  accountId: number;
  name: string;
  description: string;
  client_url: string;
  event_types: string[];
  job_ids: string[];
  active: boolean;
  hmac_secret: string;
  created_at: string;
  updated_at: string;
  http_status_code: string;
  /** Failed deliveries in a row. */
  failures: number;
  deactivate_reason: string | null;
}

type Envelope = (code: number, message: string, data: unknown) => Record<string, unknown>;

export class FakeDbtCloudWebhooks {
  readonly subscriptions = new Map<string, FakeDbtCloudSubscription>();

  constructor(
    private readonly accountExists: (accountId: number) => boolean,
    private readonly envelope: Envelope,
  ) {}

  /** A subscription as if made before (another tool's, or one whose secret was lost). */
  add(fields: Partial<FakeDbtCloudSubscription> & { accountId: number; client_url: string }): FakeDbtCloudSubscription {
    const now = microseconds();
    const subscription: FakeDbtCloudSubscription = {
      id: newId(),
      name: 'webhook',
      description: '',
      event_types: ['job.run.completed'],
      job_ids: [],
      active: true,
      hmac_secret: randomBytes(16).toString('hex'),
      created_at: now,
      updated_at: now,
      http_status_code: '0',
      failures: 0,
      deactivate_reason: null,
      ...fields,
    };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  answer(request: RecordedRequest, url: URL): Reply | undefined {
    const path = url.pathname;
    const list = SUBSCRIPTIONS.exec(path);
    const one = list ? null : SUBSCRIPTION.exec(path);
    if (!list && !one) return undefined;
    const accountId = Number((list ?? one)![1]);
    if (!this.accountExists(accountId)) return this.notFound();
    if (list && request.method === 'GET') return this.list(accountId, url.searchParams);
    if (list && request.method === 'POST') return this.create(accountId, request.json);
    const subscription = one ? this.subscriptions.get(one[2]!) : undefined;
    if (!subscription || subscription.accountId !== accountId) return this.notFound();
    if (request.method === 'GET') return { status: 200, body: this.envelope(200, 'Success!', view(subscription)) };
    if (request.method === 'PUT') return this.update(subscription, request.json);
    if (request.method === 'DELETE') {
      this.subscriptions.delete(subscription.id);
      return { status: 200, body: this.envelope(200, 'Success!', { id: subscription.id }) };
    }
    return undefined;
  }

  /**
   * Sends a run event (a body from FakeDbtCloud.webhookBody) to every active subscription of
   * the account that takes its event type and job, signed with each one's hmac_secret and
   * retried like dbt Cloud. Returns each one's last status.
   */
  async deliver(accountId: number, jobId: number, eventType: string, body: string): Promise<Array<{ subscriptionId: string; status: number | string; attempts: number }>> {
    const targets = [...this.subscriptions.values()].filter(
      (s) => s.accountId === accountId && s.active && s.event_types.includes(eventType) && (s.job_ids.length === 0 || s.job_ids.includes(String(jobId))),
    );
    return Promise.all(
      targets.map(async (s) => {
        let status: number | string = 'not sent';
        let attempts = 0;
        while (attempts < ATTEMPTS) {
          attempts++;
          status = await postDbtCloud(s.client_url, body, s.hmac_secret).then(
            (response) => response.status,
            (failure: unknown) => (failure as Error).message,
          );
          const delivered = typeof status === 'number' && status >= 200 && status < 300;
          s.http_status_code = typeof status === 'number' ? String(status) : s.http_status_code;
          s.failures = delivered ? 0 : s.failures + 1;
          if (delivered) break;
          if (s.failures >= DEACTIVATE_AFTER) {
            s.active = false;
            s.deactivate_reason = `deactivated after ${DEACTIVATE_AFTER} failed deliveries`;
            break;
          }
        }
        return { subscriptionId: s.id, status, attempts };
      }),
    );
  }

  private list(accountId: number, query: URLSearchParams): Reply {
    const limit = query.has('limit') ? Number(query.get('limit')) : MAX_LIMIT;
    const offset = Number(query.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT || !Number.isInteger(offset) || offset < 0) {
      return { status: 400, body: this.envelope(400, `limit must be between 1 and ${MAX_LIMIT}, offset at least 0`, null) };
    }
    const all = [...this.subscriptions.values()].filter((s) => s.accountId === accountId);
    const page = all.slice(offset, offset + limit).map(view);
    return { status: 200, body: { ...this.envelope(200, 'Success!', page), extra: { pagination: { total_count: all.length, count: page.length }, filters: { offset, limit } } } };
  }

  private create(accountId: number, body: unknown): Reply {
    const fields = this.validate(body);
    if ('refused' in fields) return fields.refused;
    const subscription = this.add({ accountId, ...fields, hmac_secret: randomBytes(20).toString('hex') });
    return { status: 201, body: this.envelope(201, 'Success!', { ...view(subscription), hmac_secret: subscription.hmac_secret }) };
  }

  private update(subscription: FakeDbtCloudSubscription, body: unknown): Reply {
    const fields = this.validate(body);
    if ('refused' in fields) return fields.refused;
    Object.assign(subscription, fields, { updated_at: microseconds() });
    if (subscription.active) {
      subscription.failures = 0;
      subscription.deactivate_reason = null;
    }
    return { status: 200, body: this.envelope(200, 'Success!', view(subscription)) };
  }

  /** The fields of a create or a PUT (the whole body), or the 400 dbt Cloud answers. */
  private validate(body: unknown): { refused: Reply } | Pick<FakeDbtCloudSubscription, 'name' | 'description' | 'client_url' | 'event_types' | 'job_ids' | 'active'> {
    const refuse = (message: string) => ({ refused: { status: 400, body: this.envelope(400, message, null) } as Reply });
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse('The request body must be a JSON object.');
    const b = body as Record<string, unknown>;
    for (const field of ['name', 'client_url', 'event_types', 'active']) if (b[field] === undefined) return refuse(`${field}: This field is required.`);
    if (typeof b.name !== 'string' || b.name.trim() === '') return refuse('name: must be a non-empty string.');
    if (typeof b.client_url !== 'string' || !/^https?:\/\//.test(b.client_url)) return refuse('client_url: Enter a valid URL.');
    if (!Array.isArray(b.event_types) || b.event_types.length === 0 || !b.event_types.every((e) => typeof e === 'string' && EVENT_TYPES.has(e))) {
      return refuse(`event_types: must be a non-empty list of ${[...EVENT_TYPES].join(', ')}.`);
    }
    const jobs = b.job_ids ?? [];
    if (!Array.isArray(jobs) || !jobs.every((j) => Number.isSafeInteger(Number(j)))) return refuse('job_ids: must be a list of job ids.');
    if (typeof b.active !== 'boolean') return refuse('active: must be a boolean.');
    return {
      name: b.name,
      description: typeof b.description === 'string' ? b.description : '',
      client_url: b.client_url,
      event_types: [...new Set(b.event_types as string[])],
      job_ids: jobs.map((j) => String(j)),
      active: b.active,
    };
  }

  private notFound(): Reply {
    return { status: 404, body: this.envelope(404, 'The requested resource was not found.', null) };
  }
}

/** A subscription as the API shows it: never its hmac_secret. */
function view(s: FakeDbtCloudSubscription): Record<string, unknown> {
  return {
    id: s.id,
    account_identifier: `act_${s.accountId}`,
    name: s.name,
    description: s.description,
    job_ids: s.job_ids,
    event_types: s.event_types,
    client_url: s.client_url,
    active: s.active,
    created_at: s.created_at,
    updated_at: s.updated_at,
    account_id: String(s.accountId),
    http_status_code: s.http_status_code,
    ...(s.deactivate_reason ? { deactivate_reason: s.deactivate_reason } : {}),
  };
}

function newId(): string {
  return `wsu_${randomBytes(8).toString('hex')}`;
}

function microseconds(): string {
  return `${Date.now()}000`;
}
