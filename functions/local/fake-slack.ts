import { mulberry32 } from './fake-dbt-cloud.js';
import { FakeSlackApi, type FakeSlackApiOptions } from './fake-slack-api.js';
import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

// Slack's limits on one message (api.slack.com/messaging/webhooks and the Block Kit reference,
// docs.slack.dev/reference/block-kit/blocks; a header's 150 characters from its header block, docs.slack.dev/reference/block-kit/blocks/header-block).
const TEXT_MAX_CHARS = 40_000;
const BLOCKS_MAX = 50;
const SECTION_TEXT_MAX_CHARS = 3000;
const HEADER_TEXT_MAX_CHARS = 150;
const WEBHOOK_PATH = /^\/services\/[^/]+\/[^/]+\/[^/]+$/;

/** Slack's incoming webhooks and its Web API on one loopback server, as both live at Slack (hooks.slack.com and slack.com/api). */
export class FakeSlack extends RecordingServer {
  constructor(
    readonly api: FakeSlackApi,
    webhooks: (request: RecordedRequest) => Reply,
  ) {
    super('Slack', (request) => api.answer(request) ?? webhooks(request));
  }

  /** Forgets requests, queued replies, and the workspace's messages and answers. */
  override reset(): void {
    super.reset();
    this.api.reset();
  }
}

/**
 * A stand-in for a Slack incoming webhook, answering as
 * api.slack.com/messaging/webhooks says Slack does: 200 `ok` for a message it
 * posts; plain-text errors otherwise, 400 `invalid_payload` for a body that is not a
 * message or breaks Slack's limits, 404 `no_service` for a URL that is no webhook
 * (not /services/T…/B…/…). It records each request. Script Slack's other documented errors with
 * `script()`, e.g. `{ status: 410, body: 'channel_is_archived' }` or
 * `{ status: 429, headers: { 'retry-after': '1' } }`; for chaos tests, `chaos` answers a
 * seeded share of messages with one of `faults` (a message answered so is not delivered).
 */
export function fakeSlack(options: { chaos?: { seed: number; rate: number; faults: Reply[] }; api?: FakeSlackApiOptions } = {}): FakeSlack {
  const random = mulberry32(options.chaos?.seed ?? 1);
  // The Web API (/api/…) and interactivity response URLs (/actions/…): fake-slack-api.ts.
  return new FakeSlack(new FakeSlackApi(options.api), (request) => {
    if (request.method !== 'POST') return { status: 405, body: 'invalid_method' };
    if (!WEBHOOK_PATH.test(request.url)) return { status: 404, body: 'no_service' };
    if (!isPostable(request)) return { status: 400, body: 'invalid_payload' };
    const chaos = options.chaos;
    if (chaos && random() < chaos.rate) return chaos.faults[Math.floor(random() * chaos.faults.length)]!;
    return { status: 200, body: 'ok' };
  });
}

/** A JSON message with a text or blocks, within Slack's limits. */
function isPostable({ json }: RecordedRequest): boolean {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return false;
  const { text, blocks } = json as { text?: unknown; blocks?: unknown };
  if (text !== undefined && (typeof text !== 'string' || text.length > TEXT_MAX_CHARS)) return false;
  if (blocks === undefined) return typeof text === 'string' && text.length > 0;
  if (!Array.isArray(blocks) || blocks.length > BLOCKS_MAX) return false;
  return blocks.every((block: { type?: unknown; text?: { text?: unknown } } | null) => {
    const blockText = block?.text?.text;
    if (block?.type === 'section' && typeof blockText === 'string') return blockText.length <= SECTION_TEXT_MAX_CHARS;
    if (block?.type === 'header') return typeof blockText === 'string' && blockText.length <= HEADER_TEXT_MAX_CHARS;
    return true;
  });
}

/** The messages Slack accepted on incoming webhooks (answered 200 ok). */
export function deliveredMessages(server: RecordingServer): Array<{ text: string; blocks: unknown[] }> {
  return server.requests.flatMap((request, i) => {
    const reply = server.replies[i];
    return request.url.startsWith('/services/') && reply && typeof reply === 'object' && reply.status === 200 ? [request.json as { text: string; blocks: unknown[] }] : [];
  });
}
