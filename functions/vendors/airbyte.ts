import type { Deadline, FetchLike } from '../processor/clients/http-retry.js';
import type { Secret } from '../shared/secrets.js';
import { instantOf, isRecord, requestJson, type VendorRequest } from './request.js';
import type { RetryPolicy } from './retry.js';
import { VendorApiError, type SkippedItem } from './vendor-error.js';

// The Airbyte public API (airbytehq/airbyte-platform, airbyte-api/server-api/src/main/
// openapi/api_sdk.yaml; the answers' shapes from airbyte-server's publicapi mappers
// JobResponseMapper.kt and ConnectionReadMapper.kt; docs.airbyte.com/using-airbyte/
// configuring-api-access):
// - POST {base}/applications/token {client_id, client_secret, grant-type} → access_token,
//   valid 15 minutes (older docs: 3): kept until shortly before it expires, asked again on a 401;
// - GET /connections?workspaceIds=&includeDeleted=false&limit=(1..100)&offset= → {data, next, previous};
// - GET /jobs?workspaceIds=&jobType=sync&updatedAtStart=&orderBy=updatedAt|DESC&limit=&offset=;
//   a job's `startTime` is its creation and `lastUpdatedAt` (terminal jobs only) its end,
//   both written by Java's OffsetDateTime.toString() in UTC (seconds dropped when zero: "…T01:30Z");
// - errors are RFC 9457 problems ({"status":401,"title":"invalid-api-key",…}); rate limits
//   are not documented, so a 429 is handled like Fivetran's (Retry-After when given);
// - workspaces: GET /workspaces?limit=&offset= → {data, next}, GET /workspaces/{id} and
//   PATCH /workspaces/{id} {notifications} → WorkspaceResponse {workspaceId, name,
//   dataResidency, notifications}. Airbyte keeps ONE webhook URL per notification type
//   (failure, success, connectionUpdate, connectionUpdateActionRequired, syncDisabled,
//   syncDisabledWarning), each {email: {enabled}, webhook: {enabled, url}}; a PATCH merges:
//   a type left out, or a field left out, stays as it was (WorkspacesHandler.kt
//   patchNotificationItem; WorkspaceResponseMapper.kt writes the answer).

export const AIRBYTE_API_BASE_URL = 'https://api.airbyte.com/v1';
const PAGE_LIMIT = 100;
const MAX_CONNECTION_PAGES = 200;
/** Jobs per sweep at most (pages of 100): a larger backlog is read over the next ticks. */
const MAX_JOB_PAGES = 20;
const TOKEN_MARGIN_MS = 60_000;
const MAX_WORKSPACE_PAGES = 50;

/** Airbyte's notification types, as the public API names them (NotificationsConfig). */
export const AIRBYTE_NOTIFICATION_TYPES = ['failure', 'success', 'connectionUpdate', 'connectionUpdateActionRequired', 'syncDisabled', 'syncDisabledWarning'] as const;
export type AirbyteNotificationType = (typeof AIRBYTE_NOTIFICATION_TYPES)[number];

/** One type's webhook slot: the URL Airbyte posts to (null when none is set) and whether it does. */
export interface AirbyteWebhookSlot {
  enabled: boolean;
  url: string | null;
}

export interface AirbyteWorkspace {
  workspaceId: string;
  name: string | null;
  /** Every type, with its webhook slot as Airbyte reports it (an unset type: disabled, no URL). */
  webhooks: Record<AirbyteNotificationType, AirbyteWebhookSlot>;
}

export type AirbyteSchedule =
  | { type: 'basic'; every: { units: number; unit: string } | null; text: string | null }
  | { type: 'cron'; expression: string | null }
  | { type: 'manual' };

export interface AirbyteConnection {
  connectionId: string;
  name: string | null;
  workspaceId: string | null;
  sourceId: string | null;
  destinationId: string | null;
  /** active, inactive (disabled), deprecated or locked. */
  status: string;
  schedule: AirbyteSchedule;
}

export interface AirbyteJob {
  jobId: number;
  connectionId: string;
  /** pending, queued, running, incomplete, failed, succeeded, cancelled. */
  status: string;
  jobType: string;
  startedAt: number | null;
  /** When a terminal job last changed: its end. Null while it runs. */
  endedAt: number | null;
  bytesSynced: number | null;
  rowsSynced: number | null;
}

export interface AirbyteClientOptions {
  clientId: Secret;
  clientSecret: Secret;
  baseUrl?: string;
  timeoutMs?: number;
  fetch?: FetchLike;
  now?: () => number;
  retry?: RetryPolicy;
}

export class AirbyteClient {
  readonly baseUrl: string;
  private token: { value: string; until: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly options: AirbyteClientOptions) {
    this.baseUrl = (options.baseUrl ?? AIRBYTE_API_BASE_URL).replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
  }

  /** Every connection of the workspaces (all the key may see when none are given). */
  async listConnections({ deadline, workspaceIds = [] }: { deadline: Deadline; workspaceIds?: string[] }): Promise<{ connections: AirbyteConnection[]; skipped: SkippedItem[] }> {
    const connections: AirbyteConnection[] = [];
    const skipped: SkippedItem[] = [];
    for (let page = 0; page < MAX_CONNECTION_PAGES; page++) {
      const query = new URLSearchParams({ includeDeleted: 'false', limit: String(PAGE_LIMIT), offset: String(page * PAGE_LIMIT) });
      for (const id of workspaceIds) query.append('workspaceIds', id);
      const items = await this.page(`/connections?${query}`, `Airbyte GET /v1/connections (offset ${page * PAGE_LIMIT})`, deadline);
      items.list.forEach((item, i) => {
        const read = readConnection(item);
        if ('problem' in read) skipped.push({ item: isRecord(item) && typeof item.connectionId === 'string' ? item.connectionId : `offset ${page * PAGE_LIMIT + i}`, problem: read.problem });
        else connections.push(read);
      });
      if (items.list.length < PAGE_LIMIT || !items.hasNext) return { connections, skipped };
    }
    throw new VendorApiError('airbyte', 'garbage', `Airbyte GET /v1/connections: more than ${MAX_CONNECTION_PAGES} pages of ${PAGE_LIMIT}`);
  }

  /**
   * Sync jobs updated at or after `updatedSince`, newest first (at most MAX_JOB_PAGES pages:
   * `complete` is false when more were left for the next call).
   */
  async listJobs({ deadline, updatedSince, workspaceIds = [] }: { deadline: Deadline; updatedSince: number; workspaceIds?: string[] }): Promise<{ jobs: AirbyteJob[]; skipped: SkippedItem[]; complete: boolean }> {
    const jobs: AirbyteJob[] = [];
    const skipped: SkippedItem[] = [];
    for (let page = 0; page < MAX_JOB_PAGES; page++) {
      const query = new URLSearchParams({
        jobType: 'sync',
        orderBy: 'updatedAt|DESC',
        updatedAtStart: new Date(updatedSince).toISOString(),
        limit: String(PAGE_LIMIT),
        offset: String(page * PAGE_LIMIT),
      });
      for (const id of workspaceIds) query.append('workspaceIds', id);
      const items = await this.page(`/jobs?${query}`, `Airbyte GET /v1/jobs (offset ${page * PAGE_LIMIT})`, deadline);
      items.list.forEach((item, i) => {
        const read = readJob(item);
        if ('problem' in read) skipped.push({ item: isRecord(item) && typeof item.jobId === 'number' ? `job ${item.jobId}` : `offset ${page * PAGE_LIMIT + i}`, problem: read.problem });
        else jobs.push(read);
      });
      if (items.list.length < PAGE_LIMIT || !items.hasNext) return { jobs, skipped, complete: true };
    }
    return { jobs, skipped, complete: false };
  }

  /** Every workspace the application may see, with its webhook slots. */
  async listWorkspaces({ deadline }: { deadline: Deadline }): Promise<AirbyteWorkspace[]> {
    const workspaces: AirbyteWorkspace[] = [];
    for (let page = 0; page < MAX_WORKSPACE_PAGES; page++) {
      const query = new URLSearchParams({ limit: String(PAGE_LIMIT), offset: String(page * PAGE_LIMIT) });
      const label = `Airbyte GET /v1/workspaces (offset ${page * PAGE_LIMIT})`;
      const items = await this.page(`/workspaces?${query}`, label, deadline);
      for (const item of items.list) workspaces.push(readWorkspace(item, label));
      if (items.list.length < PAGE_LIMIT || !items.hasNext) return workspaces;
    }
    throw new VendorApiError('airbyte', 'garbage', `Airbyte GET /v1/workspaces: more than ${MAX_WORKSPACE_PAGES} pages of ${PAGE_LIMIT}`);
  }

  /** The workspace, or null when Airbyte does not know it (404). */
  async getWorkspace({ deadline, workspaceId }: { deadline: Deadline; workspaceId: string }): Promise<AirbyteWorkspace | null> {
    const label = `Airbyte GET /v1/workspaces/${workspaceId}`;
    try {
      const { json } = await this.authorised({ method: 'GET', url: `${this.baseUrl}/workspaces/${encodeURIComponent(workspaceId)}`, headers: { accept: 'application/json' }, label }, deadline);
      return readWorkspace(json, label);
    } catch (error) {
      if (error instanceof VendorApiError && error.details.status === 404) return null;
      throw error;
    }
  }

  /** Sets the webhook slots given (a PATCH: the other types, and every email setting, stay as they are). */
  async setWebhooks({ deadline, workspaceId, webhooks }: { deadline: Deadline; workspaceId: string; webhooks: Partial<Record<AirbyteNotificationType, { enabled: boolean; url: string }>> }): Promise<AirbyteWorkspace> {
    const label = `Airbyte PATCH /v1/workspaces/${workspaceId}`;
    const notifications = Object.fromEntries(Object.entries(webhooks).map(([type, webhook]) => [type, { webhook }]));
    const { json } = await this.authorised(
      {
        method: 'PATCH',
        url: `${this.baseUrl}/workspaces/${encodeURIComponent(workspaceId)}`,
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ notifications }),
        label,
      },
      deadline,
    );
    return readWorkspace(json, label);
  }

  private async page(path: string, label: string, deadline: Deadline): Promise<{ list: unknown[]; hasNext: boolean }> {
    const { json } = await this.authorised({ method: 'GET', url: `${this.baseUrl}${path}`, headers: { accept: 'application/json' }, label }, deadline);
    if (!isRecord(json) || !Array.isArray(json.data)) throw new VendorApiError('airbyte', 'garbage', `${label}: the answer has no data list`);
    // `next` is absent or null on the last page; a page shorter than the limit is the last too.
    return { list: json.data, hasNext: typeof json.next === 'string' && json.next !== '' };
  }

  /** A request with the access token; one new token and one more try on a 401 (it may have expired early). */
  private async authorised(request: VendorRequest, deadline: Deadline): Promise<{ json: unknown }> {
    const call = async (token: string) =>
      requestJson({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }, { vendor: 'airbyte', timeoutMs: this.options.timeoutMs ?? 10_000, deadline, fetch: this.options.fetch, retry: this.options.retry });
    try {
      return await call(await this.accessToken(deadline));
    } catch (error) {
      if (!(error instanceof VendorApiError && error.details.status === 401)) throw error;
      this.token = undefined;
      return call(await this.accessToken(deadline));
    }
  }

  private async accessToken(deadline: Deadline): Promise<string> {
    if (this.token && this.token.until > this.now()) return this.token.value;
    const [clientId, clientSecret] = await Promise.all([this.options.clientId.currentValue(), this.options.clientSecret.currentValue()]);
    // The schema names the property `grant-type` but requires `grant_type`: both are sent.
    const { json } = await requestJson(
      {
        method: 'POST',
        url: `${this.baseUrl}/applications/token`,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, grant_type: 'client_credentials', 'grant-type': 'client_credentials' }),
        label: 'Airbyte POST /v1/applications/token',
      },
      { vendor: 'airbyte', timeoutMs: this.options.timeoutMs ?? 10_000, deadline, fetch: this.options.fetch, retry: this.options.retry },
    );
    if (!isRecord(json) || typeof json.access_token !== 'string' || json.access_token === '') {
      throw new VendorApiError('airbyte', 'garbage', 'Airbyte POST /v1/applications/token: the answer has no access_token');
    }
    const ttlMs = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in * 1000 : 180_000;
    this.token = { value: json.access_token, until: this.now() + Math.max(0, ttlMs - TOKEN_MARGIN_MS) };
    return json.access_token;
  }
}

/** A WorkspaceResponse; one that is not that shape fails the call (connect must not act on a guess). */
export function readWorkspace(item: unknown, label: string): AirbyteWorkspace {
  if (!isRecord(item) || typeof item.workspaceId !== 'string' || item.workspaceId === '') throw new VendorApiError('airbyte', 'garbage', `${label}: a workspace has no workspaceId`);
  // `notifications` is required in WorkspaceResponse, each type optional (null when unset).
  const notifications = isRecord(item.notifications) ? item.notifications : {};
  const webhooks = {} as Record<AirbyteNotificationType, AirbyteWebhookSlot>;
  for (const type of AIRBYTE_NOTIFICATION_TYPES) {
    const config = notifications[type];
    const webhook = isRecord(config) && isRecord(config.webhook) ? config.webhook : undefined;
    if (config !== undefined && config !== null && !isRecord(config)) throw new VendorApiError('airbyte', 'garbage', `${label}: notifications.${type} is not an object`);
    webhooks[type] = { enabled: webhook?.enabled === true, url: typeof webhook?.url === 'string' && webhook.url !== '' ? webhook.url : null };
  }
  return { workspaceId: item.workspaceId, name: typeof item.name === 'string' ? item.name : null, webhooks };
}

const BASIC_TIMING = /^Every (\d+) (MINUTES|HOURS|DAYS|WEEKS|MONTHS)$/;

export function readConnection(item: unknown): AirbyteConnection | { problem: string } {
  if (!isRecord(item)) return { problem: 'is not an object' };
  if (typeof item.connectionId !== 'string' || item.connectionId === '') return { problem: 'has no connectionId' };
  if (typeof item.status !== 'string') return { problem: 'has no status' };
  const schedule = isRecord(item.schedule) ? item.schedule : undefined;
  if (!schedule || typeof schedule.scheduleType !== 'string') return { problem: 'has no schedule.scheduleType' };
  let read: AirbyteSchedule;
  if (schedule.scheduleType === 'manual') read = { type: 'manual' };
  else if (schedule.scheduleType === 'cron') read = { type: 'cron', expression: typeof schedule.cronExpression === 'string' ? schedule.cronExpression : null };
  else if (schedule.scheduleType === 'basic') {
    // ConnectionReadMapper writes "Every {units} {TIMEUNIT}" only for BASIC schedule data; a
    // legacy schedule is reported as basic with no basicTiming at all.
    const text = typeof schedule.basicTiming === 'string' ? schedule.basicTiming : null;
    const match = text ? BASIC_TIMING.exec(text) : null;
    read = { type: 'basic', every: match ? { units: Number(match[1]), unit: match[2]! } : null, text };
  } else return { problem: `schedule.scheduleType "${schedule.scheduleType.slice(0, 40)}" is not manual, cron or basic` };
  return {
    connectionId: item.connectionId,
    name: typeof item.name === 'string' ? item.name : null,
    workspaceId: typeof item.workspaceId === 'string' ? item.workspaceId : null,
    sourceId: typeof item.sourceId === 'string' ? item.sourceId : null,
    destinationId: typeof item.destinationId === 'string' ? item.destinationId : null,
    status: item.status,
    schedule: read,
  };
}

export function readJob(item: unknown): AirbyteJob | { problem: string } {
  if (!isRecord(item)) return { problem: 'is not an object' };
  if (!Number.isSafeInteger(item.jobId)) return { problem: 'has no integer jobId' };
  if (typeof item.connectionId !== 'string' || item.connectionId === '') return { problem: 'has no connectionId' };
  if (typeof item.status !== 'string') return { problem: 'has no status' };
  const startedAt = instantOf(item.startTime);
  const endedAt = instantOf(item.lastUpdatedAt);
  if (startedAt === undefined) return { problem: 'startTime is not a time' };
  if (endedAt === undefined) return { problem: 'lastUpdatedAt is not a time' };
  return {
    jobId: item.jobId as number,
    connectionId: item.connectionId,
    status: item.status,
    jobType: typeof item.jobType === 'string' ? item.jobType : 'sync',
    startedAt,
    endedAt,
    bytesSynced: Number.isSafeInteger(item.bytesSynced) ? (item.bytesSynced as number) : null,
    rowsSynced: Number.isSafeInteger(item.rowsSynced) ? (item.rowsSynced as number) : null,
  };
}
