import { MissingSecretError, type Secret } from '../../shared/secrets.js';
import { SLACK_API_BASE_URL } from '../../shared/vendor-hosts.js';
import { PermanentError } from '../errors.js';
import { RetryableRequestError, sendOnce, withinDeadline, withRetries, type AttemptRecord, type Deadline, type FetchLike, type RetryPolicy } from './http-retry.js';

// The Slack Web API as postload's app mode uses it (docs.slack.dev/apis/web-api). Every
// answer is JSON with `ok`; a refusal is HTTP 200 `{"ok":false,"error":"<code>"}`, a rate
// limit HTTP 429 with Retry-After (docs.slack.dev/apis/web-api/rate-limits). The codes
// come from each method's reference page (docs.slack.dev/reference/methods/<method>).
// The bot token is a secret: it is sent in the Authorization header only, never logged,
// never part of an error.

export { SLACK_API_BASE_URL } from '../../shared/vendor-hosts.js';

/**
 * Codes that may go away on a retry. `ambiguous`: Slack documents that "it's possible some
 * aspect of the operation succeeded before the error was raised" (internal_error,
 * fatal_error): a post answered so may be in the channel already.
 */
const TRANSIENT_CODES: Record<string, { ambiguous: boolean }> = {
  ratelimited: { ambiguous: false },
  rate_limited: { ambiguous: false },
  service_unavailable: { ambiguous: false },
  request_timeout: { ambiguous: false },
  team_added_to_org: { ambiguous: false },
  internal_error: { ambiguous: true },
  fatal_error: { ambiguous: true },
};

/** What the operator does about each permanent code (a code not listed gets a generic line). */
const ADVICE: Record<string, string> = {
  not_authed: 'no bot token was sent: set the Slack app target\'s token (SLACK_BOT_TOKEN by default)',
  invalid_auth: 'the bot token was refused: set the app\'s Bot User OAuth Token (xoxb-…) from its OAuth & Permissions page',
  account_inactive: 'the bot token belongs to a deleted user or workspace: reinstall the app and set its new token',
  token_revoked: 'the bot token was revoked: reinstall the app and set its new token',
  token_expired: 'the bot token expired: turn off token rotation for the app or set a fresh token',
  not_allowed_token_type: 'this is not a bot token: use the Bot User OAuth Token (xoxb-…)',
  missing_scope: 'the app lacks a scope: add it under OAuth & Permissions (docs/slack-app.md lists them) and reinstall the app',
  channel_not_found: 'the channel does not exist, or it is private and the app is not in it: check the channel id in the routing file and invite the app',
  not_in_channel: 'the app is not a member of the channel: invite it there (/invite @postload)',
  is_archived: 'the channel is archived: unarchive it or name another channel in the routing file',
  restricted_action: 'a workspace admin restricted posting in this channel',
  ekm_access_denied: 'a workspace admin suspended posting (Enterprise Key Management)',
  access_denied: 'Slack denied access to the channel or message',
  team_access_not_granted: 'the token has no access to this workspace',
  message_not_found: 'the message to update no longer exists (deleted?)',
  cant_update_message: 'the message was not posted by this app (another app or token posted it)',
  edit_window_closed: 'the workspace no longer allows editing this message',
  thread_not_found: 'the thread\'s parent message no longer exists',
  no_such_subteam: 'the user group does not exist: check SLACK_ACTION_GROUPS',
  msg_too_long: 'postload sent a message Slack found too long; please report it',
  no_text: 'postload sent an empty message; please report it',
  invalid_blocks: 'postload sent blocks Slack could not read; please report it',
  invalid_metadata_format: 'postload sent message metadata Slack could not read; please report it',
  invalid_arguments: 'postload sent arguments Slack could not read; please report it',
};

/** A permanent refusal by the Web API, with Slack's error code. */
export class SlackApiError extends PermanentError {
  constructor(
    message: string,
    readonly code: string,
    readonly method: string,
    /** For missing_scope: the scope Slack asked for. */
    readonly needed?: string,
  ) {
    super(message, { system: 'Slack' });
  }
}

/** A failure worth retrying; `ambiguous` when the call may have taken effect anyway. */
export class SlackApiTransientError extends RetryableRequestError {
  constructor(
    message: string,
    readonly code: string,
    readonly ambiguous: boolean,
    details: { status?: number; retryAfterMs?: number },
  ) {
    super(message, { system: 'Slack', ...details });
  }
}

/** May this failure have taken effect in Slack (a post that may be in the channel)? */
export function mayHaveTakenEffect(error: unknown): boolean {
  if (error instanceof SlackApiTransientError) return error.ambiguous;
  // Any other retryable failure of a request that reached the network: a timeout, a dropped connection, a 5xx.
  return error instanceof RetryableRequestError && error.status !== 429;
}

export interface SlackApiClientOptions {
  token: Secret;
  policy: RetryPolicy;
  baseUrl?: string;
  fetch?: FetchLike;
}

export interface CallContext {
  deadline: Deadline;
  attempts: AttemptRecord[];
}

export interface SlackMessageBody {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, string | number | boolean>;
}

/** A message as conversations.history and conversations.replies show it (the fields postload reads). */
export interface HistoryMessage {
  ts: string;
  thread_ts?: string;
  app_id?: string;
  bot_id?: string;
  metadata?: { event_type?: unknown; event_payload?: Record<string, unknown> };
}

export interface HistoryPage {
  messages: HistoryMessage[];
  nextCursor: string | undefined;
}

export interface AuthTest {
  teamId: string;
  team: string;
  userId: string;
  botId: string | undefined;
  /** The token's scopes (the x-oauth-scopes header). */
  scopes: string[];
}

/** One Slack Web API token's calls. Each method is one request unless it says it retries. */
export class SlackApiClient {
  readonly baseUrl: string;

  constructor(private readonly options: SlackApiClientOptions) {
    this.baseUrl = (options.baseUrl ?? SLACK_API_BASE_URL).replace(/\/+$/, '');
  }

  get tokenSetting(): string {
    return this.options.token.setting;
  }

  /** chat.postMessage, once (the exactly-once logic around it: slack-app.ts). Returns the message's ts. */
  async postMessage(channel: string, message: SlackMessageBody, extra: { threadTs?: string; metadata?: MessageMetadata }, context: CallContext): Promise<string> {
    const body = await this.call(
      'chat.postMessage',
      { channel, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false, ...(extra.threadTs ? { thread_ts: extra.threadTs } : {}), ...(extra.metadata ? { metadata: extra.metadata } : {}) },
      context,
    );
    if (typeof body.ts !== 'string') throw new SlackApiTransientError('Slack chat.postMessage answered ok without a ts', 'no_ts', true, {});
    return body.ts;
  }

  /** chat.update, retried within the policy (replacing a message's content is idempotent). */
  async update(channel: string, ts: string, message: SlackMessageBody, metadata: MessageMetadata | undefined, context: CallContext): Promise<void> {
    await withRetries(() => this.call('chat.update', { channel, ts, text: message.text, blocks: message.blocks, ...(metadata ? { metadata } : {}) }, context), this.retryOptions('chat.update', context));
  }

  /** One page of conversations.history (newest first) or, with `threadTs`, of conversations.replies. */
  async history(channel: string, query: { oldest: string; limit: number; cursor?: string; threadTs?: string }, context: CallContext): Promise<HistoryPage> {
    const method = query.threadTs ? 'conversations.replies' : 'conversations.history';
    const body = await this.call(
      method,
      { channel, oldest: query.oldest, limit: query.limit, include_all_metadata: true, ...(query.threadTs ? { ts: query.threadTs } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) },
      context,
      'GET',
    );
    const messages = Array.isArray(body.messages) ? (body.messages as HistoryMessage[]) : [];
    const next = (body.response_metadata as { next_cursor?: unknown } | undefined)?.next_cursor;
    return { messages, nextCursor: typeof next === 'string' && next ? next : undefined };
  }

  /** auth.test: whom the token belongs to and its scopes. */
  async authTest(context: CallContext): Promise<AuthTest> {
    const { body, scopes } = await this.callWithScopes('auth.test', context);
    return { teamId: String(body.team_id ?? ''), team: String(body.team ?? ''), userId: String(body.user_id ?? ''), botId: typeof body.bot_id === 'string' ? body.bot_id : undefined, scopes };
  }

  /** usergroups.users.list: the members of a user group (S…). */
  async userGroupMembers(group: string, context: CallContext): Promise<string[]> {
    const body = await this.call('usergroups.users.list', { usergroup: group }, context, 'GET');
    return Array.isArray(body.users) ? body.users.filter((u): u is string => typeof u === 'string') : [];
  }

  retryOptions(method: string, context: CallContext) {
    return { policy: this.options.policy, deadline: context.deadline, label: `Slack ${method}`, system: 'Slack' as const };
  }

  /** One request to a method; the parsed body when `ok`, else a SlackApiError or SlackApiTransientError. */
  async call(method: string, args: Record<string, unknown>, context: CallContext, http: 'GET' | 'POST' = 'POST'): Promise<Record<string, unknown>> {
    return (await this.request(method, args, context, http)).body;
  }

  private async callWithScopes(method: string, context: CallContext): Promise<{ body: Record<string, unknown>; scopes: string[] }> {
    const { body, headers } = await this.request(method, {}, context, 'POST');
    const header = headers.get('x-oauth-scopes') ?? '';
    return { body, scopes: header.split(',').map((s) => s.trim()).filter(Boolean) };
  }

  private async request(method: string, args: Record<string, unknown>, context: CallContext, http: 'GET' | 'POST'): Promise<{ body: Record<string, unknown>; headers: { get(name: string): string | null } }> {
    const token = await withinDeadline(this.options.token.currentValue(), context.deadline, `read ${this.options.token.setting}`);
    if (token.trim() === '') throw new MissingSecretError(this.options.token.setting);
    const label = `Slack ${method}`;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    let url = `${this.baseUrl}/${method}`;
    let body: string | undefined;
    if (http === 'GET') {
      const query = new URLSearchParams(Object.entries(args).map(([k, v]): [string, string] => [k, String(v)]));
      url += `?${query.toString()}`;
    } else {
      headers['content-type'] = 'application/json; charset=utf-8';
      body = JSON.stringify(args);
    }
    let response;
    try {
      response = await sendOnce({ method: http, url, headers, ...(body === undefined ? {} : { body }) }, { system: 'Slack', label, policy: this.options.policy, deadline: context.deadline, attempts: context.attempts, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) });
    } catch (error) {
      if (!(error instanceof RetryableRequestError) || error instanceof SlackApiTransientError) throw error;
      // 429 is Slack's rate limit (nothing done); a 5xx, a timeout or a lost connection may have been acted on.
      const limited = error.status === 429;
      throw new SlackApiTransientError(limited ? `${label}: rate limited (ratelimited)` : error.message, limited ? 'ratelimited' : error.status ? `http_${error.status}` : 'network', !limited, {
        ...(error.status === undefined ? {} : { status: error.status }),
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      });
    }
    const parsed = parseObject(response.text);
    if (!parsed) throw new SlackApiTransientError(`${label}: HTTP ${response.status} without a JSON answer`, `http_${response.status}`, true, { status: response.status });
    if (parsed.ok === true) return { body: parsed, headers: response.headers };
    const code = typeof parsed.error === 'string' ? parsed.error.slice(0, 100) : 'unknown_error';
    throw classify(method, code, parsed, this.options.token.setting);
  }
}

/** A Web API refusal as a typed error naming what to fix. */
export function classify(method: string, code: string, body: Record<string, unknown>, tokenSetting: string): SlackApiError | SlackApiTransientError {
  const transient = Object.hasOwn(TRANSIENT_CODES, code) ? TRANSIENT_CODES[code] : undefined;
  if (transient) return new SlackApiTransientError(`Slack ${method}: ${code}`, code, transient.ambiguous, {});
  const needed = typeof body.needed === 'string' ? body.needed : undefined;
  const advice = (Object.hasOwn(ADVICE, code) ? ADVICE[code] : undefined) ?? 'Slack refused the call';
  const scope = code === 'missing_scope' && needed ? ` (${needed})` : '';
  const token = /auth|token|account_inactive/.test(code) ? ` (${tokenSetting})` : '';
  return new SlackApiError(`Slack ${method} refused: ${code}${scope}: ${advice}${token}`, code, method, needed);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
