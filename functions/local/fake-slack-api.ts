import { randomBytes } from 'node:crypto';
import { mulberry32 } from './fake-dbt-cloud.js';
import type { RecordedRequest, Reply } from './recording-server.js';

// The Slack Web API as postload's app mode uses it (methods under /api/), answering as
// Slack documents (docs.slack.dev/apis/web-api and each method's reference page,
// docs.slack.dev/reference/methods/<method>):
// - every answer is JSON with `ok`; a failure is `{"ok":false,"error":"<code>"}` with HTTP 200
//   (missing_scope adds `needed` and `provided`); over a rate limit the answer is HTTP 429
//   with `Retry-After: <seconds>` and `{"ok":false,"error":"ratelimited"}`
//   (docs.slack.dev/apis/web-api/rate-limits);
// - the token travels as `Authorization: Bearer xoxb-…` (or a `token` argument); none is
//   `not_authed`, an unknown one `invalid_auth`;
// - write methods take a JSON body (`Content-type: application/json`), read methods a query
//   string or a form body (docs.slack.dev/apis/web-api/#post-bodies);
// - chat.postMessage: `channel` (an id), `text` and/or `blocks`, `thread_ts`, `metadata`
//   `{event_type, event_payload}` (docs.slack.dev/messaging/message-metadata); answers
//   `{ok, channel, ts, message}`; errors channel_not_found, not_in_channel (the bot must be a
//   member unless it holds chat:write.public and the channel is public), is_archived,
//   no_text, msg_too_long (text over 40,000 characters), invalid_blocks (over 50 blocks, a
//   section over 3,000 or a header over 150 characters: Block Kit reference,
//   docs.slack.dev/reference/block-kit/blocks), invalid_metadata_format, thread_not_found;
// - chat.update: `channel`, `ts`, new text/blocks/metadata; message_not_found,
//   cant_update_message (not posted by this app);
// - conversations.history: newest first, `limit` (default 100, at most 999), `cursor`
//   (`response_metadata.next_cursor`, empty on the last page), `oldest`/`latest`/`inclusive`,
//   thread replies left out; `metadata` on a message only with `include_all_metadata=true`;
//   needs channels:history (groups:history for a private channel) and membership;
// - conversations.replies: the thread's parent first, then its replies, oldest first;
// - auth.test: who the token is, with the token's scopes in the `x-oauth-scopes` header
//   (docs.slack.dev/authentication/tokens);
// - usergroups.users.list: a user group's member ids (usergroups:read), no_such_subteam.
// internal_error and fatal_error are documented as "it's possible some aspect of the
// operation succeeded": `chaos` and `script` can answer so after posting (see FAULTS).

const TEXT_MAX_CHARS = 40_000;
const BLOCKS_MAX = 50;
const SECTION_TEXT_MAX_CHARS = 3000;
const HEADER_TEXT_MAX_CHARS = 150;
const HISTORY_DEFAULT_LIMIT = 100;
const HISTORY_MAX_LIMIT = 999;

export const LOCAL_SLACK_BOT_TOKEN = 'xoxb-local-postload-bot-token-for-development';
export const LOCAL_SLACK_TEAM = 'T0LOCAL';
export const LOCAL_SLACK_CHANNEL = 'C0ALERTS';

/** Every scope postload's app asks for (docs/slack-app.md, the manifest). */
export const POSTLOAD_BOT_SCOPES = ['chat:write', 'channels:history', 'groups:history', 'usergroups:read'] as const;

export interface FakeSlackToken {
  scopes: string[];
  appId: string;
  botId: string;
  botUserId: string;
}

export interface FakeSlackChannel {
  id: string;
  name: string;
  private: boolean;
  archived: boolean;
  /** User ids of its members (the bot's user id when the app was invited). */
  members: Set<string>;
}

export interface FakeSlackMessage {
  ts: string;
  channel: string;
  text: string;
  blocks: unknown[];
  metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
  threadTs: string | undefined;
  appId: string;
  botId: string;
  user: string;
  edited: { ts: string } | undefined;
  /** How often chat.update replaced it. */
  updates: number;
}

/** What a scripted or chaotic answer does: refuse (nothing posted), or post and then lose or spoil the answer. */
export type SlackApiFault = 'ratelimited' | 'internal_error' | 'service_unavailable' | 'posted-then-drop' | 'posted-then-internal_error';

export interface FakeSlackApiOptions {
  /** Tokens by value; default: LOCAL_SLACK_BOT_TOKEN with every scope postload asks for. */
  tokens?: Record<string, Partial<FakeSlackToken>>;
  /** Channels; default: LOCAL_SLACK_CHANNEL (#data-alerts), the bot a member. */
  channels?: Array<Partial<Omit<FakeSlackChannel, 'members'>> & { id: string; members?: Iterable<string> }>;
  /** User groups (S…) by id: their members' user ids. */
  userGroups?: Record<string, string[]>;
  /** A seeded share of calls to the methods that change or read messages answered with one of `faults`. */
  chaos?: { seed: number; rate: number; faults: SlackApiFault[] };
  now?: () => number;
  /** Called when a message is stored, before the answer goes back (a test can fail what the poster does next). */
  onPosted?: (message: FakeSlackMessage) => void;
}

export interface ResponseUrlPost {
  url: string;
  json: unknown;
}

type Args = Record<string, unknown>;
type Answer = { status?: number; headers?: Record<string, string>; body: Record<string, unknown> } | 'drop';

const WRITE_METHODS = new Set(['chat.postMessage', 'chat.update']);
const CHAOS_METHODS = new Set(['chat.postMessage', 'chat.update', 'conversations.history', 'conversations.replies']);

/**
 * One Slack workspace's state behind the Web API: channels and their messages, tokens and
 * their scopes, user groups, and the response URLs interactivity payloads carry
 * (slack-interactivity.ts). Served by fakeSlack() under /api/ and /actions/.
 */
export class FakeSlackApi {
  readonly tokens = new Map<string, FakeSlackToken>();
  readonly channels = new Map<string, FakeSlackChannel>();
  readonly userGroups = new Map<string, string[]>();
  /** Every message ever posted, in order (thread replies included). */
  readonly messages: FakeSlackMessage[] = [];
  /** What was POSTed to response URLs (ephemeral answers to button presses). */
  readonly responses: ResponseUrlPost[] = [];
  readonly team = { id: LOCAL_SLACK_TEAM, domain: 'postload-local' };
  private readonly responseUrls = new Map<string, number>();
  private readonly scripted: Array<{ method: string; fault: SlackApiFault; retryAfterSeconds: number }> = [];
  private readonly random: () => number;
  private readonly now: () => number;
  private sequence = 0;

  constructor(private readonly options: FakeSlackApiOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = mulberry32(options.chaos?.seed ?? 1);
    for (const [token, fields] of Object.entries(options.tokens ?? { [LOCAL_SLACK_BOT_TOKEN]: {} })) {
      this.tokens.set(token, { scopes: [...POSTLOAD_BOT_SCOPES], appId: 'A0POSTLOAD', botId: 'B0POSTLOAD', botUserId: 'U0POSTLOAD', ...fields });
    }
    const botUsers = [...this.tokens.values()].map((t) => t.botUserId);
    for (const channel of options.channels ?? [{ id: LOCAL_SLACK_CHANNEL, name: 'data-alerts' }]) {
      this.channels.set(channel.id, { name: channel.id.toLowerCase(), private: false, archived: false, ...channel, members: new Set(channel.members ?? botUsers) });
    }
    for (const [id, members] of Object.entries(options.userGroups ?? {})) this.userGroups.set(id, members);
  }

  /** The next `times` calls of `method` answer with `fault` (ratelimited: with Retry-After `retryAfterSeconds`). */
  script(method: string, fault: SlackApiFault, { times = 1, retryAfterSeconds = 1 }: { times?: number; retryAfterSeconds?: number } = {}): this {
    for (let i = 0; i < times; i++) this.scripted.push({ method, fault, retryAfterSeconds });
    return this;
  }

  /** Forgets messages, answers to response URLs and scripted faults (channels, tokens and groups stay). */
  reset(): void {
    this.messages.length = 0;
    this.responses.length = 0;
    this.scripted.length = 0;
    this.responseUrls.clear();
  }

  /** A message a person wrote in the channel (no app, no metadata): the traffic a lookup reads past. */
  addPersonMessage(channel: string, text: string, user = 'U0PERSON'): FakeSlackMessage {
    const message: FakeSlackMessage = { ts: this.nextTs(), channel, text, blocks: [], metadata: undefined, threadTs: undefined, appId: '', botId: '', user, edited: undefined, updates: 0 };
    this.messages.push(message);
    return message;
  }

  /** Top-level messages of a channel, oldest first (what people see in it). */
  channelMessages(channel: string): FakeSlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && (m.threadTs === undefined || m.threadTs === m.ts));
  }

  /** Replies in a thread, oldest first. */
  threadReplies(channel: string, threadTs: string): FakeSlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === threadTs && m.ts !== threadTs);
  }

  /** A response URL for an interaction payload: Slack allows five posts to it within 30 minutes. */
  responseUrl(baseUrl: string): string {
    const path = `/actions/${this.team.id}/${Date.now()}/${randomBytes(12).toString('hex')}`;
    this.responseUrls.set(path, 0);
    return `${baseUrl}${path}`;
  }

  /** Answers /api/<method> and /actions/… requests; undefined for any other path. */
  answer(request: RecordedRequest): Reply | undefined {
    const url = new URL(request.url, 'http://slack.local');
    if (url.pathname.startsWith('/actions/')) return this.answerResponseUrl(url.pathname, request);
    const match = /^\/api\/([a-zA-Z.]+)$/.exec(url.pathname);
    if (!match) return undefined;
    const answer = this.call(match[1]!, request, url);
    if (answer === 'drop') return 'drop';
    return { status: answer.status ?? 200, headers: { 'content-type': 'application/json; charset=utf-8', ...answer.headers }, body: answer.body };
  }

  private answerResponseUrl(path: string, request: RecordedRequest): Reply {
    const used = this.responseUrls.get(path);
    // Slack's response_url: up to five responses within thirty minutes of the interaction.
    if (used === undefined || used >= 5) return { status: 404, body: 'expired_url' };
    if (request.method !== 'POST' || !request.json || typeof request.json !== 'object') return { status: 400, body: 'invalid_payload' };
    this.responseUrls.set(path, used + 1);
    this.responses.push({ url: path, json: request.json });
    return { status: 200, body: 'ok' };
  }

  private call(method: string, request: RecordedRequest, url: URL): Answer {
    const args = argumentsOf(method, request, url);
    const token = bearer(request) ?? (typeof args.token === 'string' ? args.token : undefined);
    if (!token) return fail('not_authed');
    const who = this.tokens.get(token);
    if (!who) return fail('invalid_auth');
    const fault = this.faultFor(method);
    if (fault?.fault === 'ratelimited') return { status: 429, headers: { 'retry-after': String(fault.retryAfterSeconds) }, body: { ok: false, error: 'ratelimited' } };
    if (fault?.fault === 'internal_error') return fail('internal_error');
    if (fault?.fault === 'service_unavailable') return { status: 503, body: { ok: false, error: 'service_unavailable' } };
    const answer = this.perform(method, args, who);
    if (!fault || answer === 'drop' || answer.body.ok !== true) return answer;
    // The call took effect; its answer is lost or spoiled (the documented "some aspect of the operation succeeded").
    return fault.fault === 'posted-then-drop' ? 'drop' : fail('internal_error');
  }

  private faultFor(method: string): { fault: SlackApiFault; retryAfterSeconds: number } | undefined {
    const i = this.scripted.findIndex((s) => s.method === method);
    if (i >= 0) return this.scripted.splice(i, 1)[0];
    const chaos = this.options.chaos;
    if (!chaos || !CHAOS_METHODS.has(method) || this.random() >= chaos.rate) return undefined;
    const fault = chaos.faults[Math.floor(this.random() * chaos.faults.length)]!;
    // A read changes nothing: its faults are refusals.
    if (!WRITE_METHODS.has(method) && fault.startsWith('posted-')) return { fault: 'internal_error', retryAfterSeconds: 1 };
    return { fault, retryAfterSeconds: 1 };
  }

  private perform(method: string, args: Args, who: FakeSlackToken): Answer {
    switch (method) {
      case 'auth.test':
        return {
          headers: { 'x-oauth-scopes': who.scopes.join(',') },
          body: { ok: true, url: `https://${this.team.domain}.slack.com/`, team: 'postload (local)', user: 'postload', team_id: this.team.id, user_id: who.botUserId, bot_id: who.botId, is_enterprise_install: false },
        };
      case 'chat.postMessage':
        return this.postMessage(args, who);
      case 'chat.update':
        return this.update(args, who);
      case 'conversations.history':
        return this.history(args, who);
      case 'conversations.replies':
        return this.replies(args, who);
      case 'usergroups.users.list': {
        if (!who.scopes.includes('usergroups:read')) return missingScope('usergroups:read', who);
        const members = this.userGroups.get(String(args.usergroup ?? ''));
        return members ? { body: { ok: true, users: [...members] } } : fail('no_such_subteam');
      }
      default:
        return { status: 404, body: { ok: false, error: 'unknown_method', req_method: method } };
    }
  }

  private postMessage(args: Args, who: FakeSlackToken): Answer {
    if (!who.scopes.includes('chat:write')) return missingScope('chat:write', who);
    const channel = this.channels.get(String(args.channel ?? ''));
    if (!channel) return fail('channel_not_found');
    if (channel.archived) return fail('is_archived');
    const publicPosting = !channel.private && who.scopes.includes('chat:write.public');
    if (!channel.members.has(who.botUserId) && !publicPosting) return fail('not_in_channel');
    const content = contentProblem(args, true);
    if (content) return fail(content);
    let threadTs: string | undefined;
    if (args.thread_ts !== undefined) {
      threadTs = String(args.thread_ts);
      if (!this.messages.some((m) => m.channel === channel.id && m.ts === threadTs)) return fail('thread_not_found');
    }
    const message: FakeSlackMessage = {
      ts: this.nextTs(),
      channel: channel.id,
      text: typeof args.text === 'string' ? args.text : '',
      blocks: Array.isArray(args.blocks) ? args.blocks : [],
      metadata: args.metadata as FakeSlackMessage['metadata'],
      threadTs,
      appId: who.appId,
      botId: who.botId,
      user: who.botUserId,
      edited: undefined,
      updates: 0,
    };
    this.messages.push(message);
    this.options.onPosted?.(message);
    return { body: { ok: true, channel: channel.id, ts: message.ts, message: view(message, true) } };
  }

  private update(args: Args, who: FakeSlackToken): Answer {
    if (!who.scopes.includes('chat:write')) return missingScope('chat:write', who);
    const channel = this.channels.get(String(args.channel ?? ''));
    if (!channel) return fail('channel_not_found');
    const message = this.messages.find((m) => m.channel === channel.id && m.ts === String(args.ts ?? ''));
    if (!message) return fail('message_not_found');
    if (message.appId !== who.appId) return fail('cant_update_message');
    const content = contentProblem(args, false);
    if (content) return fail(content);
    if (typeof args.text === 'string') message.text = args.text;
    if (Array.isArray(args.blocks)) message.blocks = args.blocks;
    if (args.metadata !== undefined) message.metadata = args.metadata as FakeSlackMessage['metadata'];
    message.edited = { ts: this.nextTs() };
    message.updates++;
    return { body: { ok: true, channel: channel.id, ts: message.ts, text: message.text, message: view(message, true) } };
  }

  private history(args: Args, who: FakeSlackToken): Answer {
    const readable = this.readableChannel(args, who);
    if ('body' in readable) return readable;
    const list = this.channelMessages(readable.id).filter(inRange(args)).reverse();
    return page(list, args, (m) => view(m, truthy(args.include_all_metadata)));
  }

  private replies(args: Args, who: FakeSlackToken): Answer {
    const readable = this.readableChannel(args, who);
    if ('body' in readable) return readable;
    const parent = this.messages.find((m) => m.channel === readable.id && m.ts === String(args.ts ?? ''));
    if (!parent) return fail('thread_not_found');
    const list = [parent, ...this.threadReplies(readable.id, parent.ts).filter(inRange(args))];
    return page(list, args, (m) => view(m, truthy(args.include_all_metadata)));
  }

  private readableChannel(args: Args, who: FakeSlackToken): FakeSlackChannel | { body: Record<string, unknown> } {
    const channel = this.channels.get(String(args.channel ?? ''));
    if (!channel) return fail('channel_not_found') as { body: Record<string, unknown> };
    const scope = channel.private ? 'groups:history' : 'channels:history';
    if (!who.scopes.includes(scope)) return missingScope(scope, who) as { body: Record<string, unknown> };
    if (!channel.members.has(who.botUserId)) return fail('not_in_channel') as { body: Record<string, unknown> };
    return channel;
  }

  /** Slack's ts: Unix seconds and a six-digit sequence, unique in the workspace and increasing. */
  private nextTs(): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    return `${Math.floor(this.now() / 1000)}.${String(this.sequence).padStart(6, '0')}`;
  }
}

function fail(error: string): Answer & { body: Record<string, unknown> } {
  return { body: { ok: false, error } };
}

function missingScope(needed: string, who: FakeSlackToken): Answer {
  return { body: { ok: false, error: 'missing_scope', needed, provided: who.scopes.join(',') } };
}

function bearer(request: RecordedRequest): string | undefined {
  const header = request.headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  return match?.[1];
}

/** A method's arguments: the query string, a form body, and for write methods a JSON body. */
function argumentsOf(method: string, request: RecordedRequest, url: URL): Args {
  const args: Args = Object.fromEntries(url.searchParams);
  const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    for (const [key, value] of new URLSearchParams(request.body)) args[key] = /^(blocks|metadata)$/.test(key) ? parseJson(value) : value;
  } else if (type === 'application/json' && WRITE_METHODS.has(method) && request.json && typeof request.json === 'object') {
    Object.assign(args, request.json);
  }
  return args;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Why a message's content would be refused, or undefined. */
function contentProblem(args: Args, posting: boolean): string | undefined {
  const { text, blocks, metadata } = args;
  if (text !== undefined && typeof text !== 'string') return 'invalid_arguments';
  if (typeof text === 'string' && text.length > TEXT_MAX_CHARS) return 'msg_too_long';
  if (blocks !== undefined && !validBlocks(blocks)) return 'invalid_blocks';
  if (posting && !text && !(Array.isArray(blocks) && blocks.length)) return 'no_text';
  if (metadata !== undefined) {
    const m = metadata as { event_type?: unknown; event_payload?: unknown } | null;
    if (!m || typeof m !== 'object' || typeof m.event_type !== 'string' || !m.event_type || !m.event_payload || typeof m.event_payload !== 'object' || Array.isArray(m.event_payload)) {
      return 'invalid_metadata_format';
    }
  }
  return undefined;
}

function validBlocks(blocks: unknown): boolean {
  if (!Array.isArray(blocks) || blocks.length > BLOCKS_MAX) return false;
  return blocks.every((block: { type?: unknown; text?: { text?: unknown } } | null) => {
    if (!block || typeof block.type !== 'string') return false;
    const text = block.text?.text;
    if (block.type === 'section' && typeof text === 'string') return text.length <= SECTION_TEXT_MAX_CHARS;
    if (block.type === 'header') return typeof text === 'string' && text.length <= HEADER_TEXT_MAX_CHARS;
    return true;
  });
}

function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

function tsValue(ts: string): number {
  return Number(ts);
}

/** `oldest`/`latest` bounds (exclusive unless `inclusive`). */
function inRange(args: Args): (m: FakeSlackMessage) => boolean {
  const inclusive = truthy(args.inclusive);
  const oldest = args.oldest === undefined ? undefined : Number(args.oldest);
  const latest = args.latest === undefined ? undefined : Number(args.latest);
  return (m) => {
    const t = tsValue(m.ts);
    if (oldest !== undefined && (inclusive ? t < oldest : t <= oldest)) return false;
    if (latest !== undefined && (inclusive ? t > latest : t >= latest)) return false;
    return true;
  };
}

/** One page of `list` at the cursor (an opaque offset), `limit` long, with Slack's envelope. */
function page(list: FakeSlackMessage[], args: Args, show: (m: FakeSlackMessage) => Record<string, unknown>): Answer {
  const requested = Number(args.limit ?? HISTORY_DEFAULT_LIMIT);
  const limit = Number.isInteger(requested) && requested > 0 ? Math.min(requested, HISTORY_MAX_LIMIT) : HISTORY_DEFAULT_LIMIT;
  let offset = 0;
  if (typeof args.cursor === 'string' && args.cursor) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(args.cursor, 'base64').toString('utf8'));
    if (!decoded) return fail('invalid_cursor');
    offset = Number(decoded[1]);
  }
  const slice = list.slice(offset, offset + limit);
  const more = offset + limit < list.length;
  return {
    body: {
      ok: true,
      messages: slice.map(show),
      has_more: more,
      pin_count: 0,
      response_metadata: { next_cursor: more ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '' },
    },
  };
}

/** A message as the API shows it; `metadata` only when asked for. */
function view(m: FakeSlackMessage, withMetadata: boolean): Record<string, unknown> {
  return {
    type: 'message',
    subtype: 'bot_message',
    text: m.text,
    user: m.user,
    bot_id: m.botId,
    app_id: m.appId,
    ts: m.ts,
    blocks: m.blocks,
    ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    ...(m.edited ? { edited: { user: m.user, ts: m.edited.ts } } : {}),
    ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
  };
}
