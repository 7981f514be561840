import { randomUUID } from 'node:crypto';
import type { RecordedRequest, Reply } from './recording-server.js';
import { postAirbyte } from './webhooks.js';

// Airbyte's workspaces and their notification settings, for the Airbyte stand-in
// (fake-airbyte.ts), as airbytehq/airbyte-platform@310e6cb defines them:
// - GET /v1/workspaces?workspaceIds=&limit=(1..100, default 20)&offset= → {data, next,
//   previous}; GET /v1/workspaces/{id} → WorkspaceResponse, 404 resource-not-found;
//   PATCH /v1/workspaces/{id} {name?, notifications?} → WorkspaceResponse (api_sdk.yaml);
// - WorkspaceResponse {workspaceId, name, dataResidency, notifications}, each of the six
//   types {email: {enabled}, webhook: {enabled, url}} or null when never set
//   (WorkspaceResponseMapper.kt);
// - there is no webhook object: each type has ONE webhook URL (stored as a "slack"
//   notification), and a PATCH merges into it: a type left out stays, `enabled` turns the
//   webhook on or off, `url` replaces the slot's URL, email is untouched unless given
//   (WorkspacesHandler.kt patchNotifications / patchNotificationItem);
// - Airbyte signs nothing: a notification is a POST of the Slack-style JSON with only
//   `Content-Type: application/json` (SlackNotificationClient.kt), sent once, never retried.
// `notify()` sends a notification to the URL a workspace holds for its type, as Airbyte does.

export const NOTIFICATION_TYPES = ['failure', 'success', 'connectionUpdate', 'connectionUpdateActionRequired', 'syncDisabled', 'syncDisabledWarning'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

interface NotificationItem {
  email: boolean;
  webhook: boolean;
  url: string | null;
}

export interface FakeAirbyteWorkspace {
  workspaceId: string;
  name: string;
  dataResidency: string;
  notifications: Partial<Record<NotificationType, NotificationItem>>;
}

const WORKSPACE = /^\/v1\/workspaces\/([^/]+)$/;

export class FakeAirbyteWorkspaces {
  readonly workspaces = new Map<string, FakeAirbyteWorkspace>();

  constructor(
    private readonly paging: (url: URL) => { limit: number; offset: number } | { reply: Reply },
    private readonly links: (url: URL, page: { limit: number; offset: number }, total: number) => { next?: string; previous?: string },
    private readonly problem: (status: number, title: string, detail: string) => Record<string, unknown>,
  ) {}

  /** A workspace; `webhooks` sets slots as if someone had configured them in Airbyte's UI. */
  add(fields: { workspaceId?: string; name?: string; webhooks?: Partial<Record<NotificationType, { url: string; enabled?: boolean }>> } = {}): FakeAirbyteWorkspace {
    const workspace: FakeAirbyteWorkspace = { workspaceId: fields.workspaceId ?? randomUUID(), name: fields.name ?? 'Analytics', dataResidency: 'auto', notifications: {} };
    for (const [type, slot] of Object.entries(fields.webhooks ?? {})) {
      workspace.notifications[type as NotificationType] = { email: false, webhook: slot.enabled ?? true, url: slot.url };
    }
    this.workspaces.set(workspace.workspaceId, workspace);
    return workspace;
  }

  /** The URL a type's webhook goes to, or null when it is off or unset. */
  target(workspaceId: string, type: NotificationType): string | null {
    const item = this.workspaces.get(workspaceId)?.notifications[type];
    return item?.webhook && item.url ? item.url : null;
  }

  /** Posts a notification body where the workspace sends this type, as Airbyte does (no retry); null when it sends none. */
  async notify(workspaceId: string, type: NotificationType, body: string): Promise<number | string | null> {
    const url = this.target(workspaceId, type);
    if (!url) return null;
    return postAirbyte(url, body).then(
      (response) => response.status,
      (failure: unknown) => (failure as Error).message,
    );
  }

  answer(request: RecordedRequest, url: URL, path: string): Reply | undefined {
    if (path === '/v1/workspaces' && request.method === 'GET') return this.list(url);
    const one = WORKSPACE.exec(path);
    if (!one) return undefined;
    const workspace = this.workspaces.get(one[1]!);
    if (!workspace) return { status: 404, body: this.problem(404, 'resource-not-found', 'The requested resource could not be found.') };
    if (request.method === 'GET') return { status: 200, body: view(workspace) };
    if (request.method === 'PATCH') return this.patch(workspace, request.json);
    return undefined;
  }

  private list(url: URL): Reply {
    const page = this.paging(url);
    if ('reply' in page) return page.reply;
    const wanted = url.searchParams.getAll('workspaceIds').flatMap((w) => w.split(','));
    const all = [...this.workspaces.values()].filter((w) => wanted.length === 0 || wanted.includes(w.workspaceId)).sort((a, b) => a.workspaceId.localeCompare(b.workspaceId));
    return { status: 200, body: { data: all.slice(page.offset, page.offset + page.limit).map(view), ...this.links(url, page, all.length) } };
  }

  private patch(workspace: FakeAirbyteWorkspace, body: unknown): Reply {
    if (!isObject(body)) return { status: 400, body: this.problem(400, 'bad-request', 'The request body must be a JSON object.') };
    if (body.name !== undefined) {
      if (typeof body.name !== 'string') return { status: 400, body: this.problem(400, 'bad-request', 'name must be a string.') };
      workspace.name = body.name;
    }
    if (body.notifications !== undefined) {
      if (!isObject(body.notifications)) return { status: 400, body: this.problem(400, 'bad-request', 'notifications must be an object.') };
      for (const [type, config] of Object.entries(body.notifications)) {
        if (!(NOTIFICATION_TYPES as readonly string[]).includes(type)) return { status: 400, body: this.problem(400, 'bad-request', `Unknown notification type ${type}.`) };
        if (config === null || config === undefined) continue;
        if (!isObject(config)) return { status: 400, body: this.problem(400, 'bad-request', `notifications.${type} must be an object.`) };
        const webhook = config.webhook;
        const email = config.email;
        if ((webhook !== undefined && webhook !== null && !isObject(webhook)) || (email !== undefined && email !== null && !isObject(email))) {
          return { status: 400, body: this.problem(400, 'bad-request', `notifications.${type} has a malformed webhook or email.`) };
        }
        if (!webhook && !email) continue;
        const item = (workspace.notifications[type as NotificationType] ??= { email: false, webhook: false, url: null });
        if (isObject(email) && typeof email.enabled === 'boolean') item.email = email.enabled;
        if (isObject(webhook)) {
          if (typeof webhook.enabled === 'boolean') item.webhook = webhook.enabled;
          if (typeof webhook.url === 'string') item.url = webhook.url;
        }
      }
    }
    return { status: 200, body: view(workspace) };
  }
}

function view(workspace: FakeAirbyteWorkspace): Record<string, unknown> {
  const notifications = Object.fromEntries(
    NOTIFICATION_TYPES.map((type) => {
      const item = workspace.notifications[type];
      return [type, item ? { email: { enabled: item.email }, webhook: { enabled: item.webhook, ...(item.url === null ? {} : { url: item.url }) } } : null];
    }),
  );
  return { workspaceId: workspace.workspaceId, name: workspace.name, dataResidency: workspace.dataResidency, notifications };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
