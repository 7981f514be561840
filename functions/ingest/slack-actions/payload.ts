import { HttpError } from '../http-error.js';

// Slack's interactivity payload (docs.slack.dev/reference/interaction-payloads/
// block_actions-payload): the form field `payload`, JSON. Only what the route reads is
// taken out, each field checked for its type: the payload is signed by Slack, but a field
// it does not carry (another payload type) must not become an exception.

export interface ActionPayload {
  type: string;
  user: { id: string; username: string; name: string; teamId: string };
  /** The channel and message the button was in (absent for a payload not from a message). */
  channel: string | undefined;
  messageTs: string | undefined;
  /** The thread the message is in, when it is a reply. */
  threadTs: string | undefined;
  responseUrl: string | undefined;
  /** The first action (a button press carries exactly one). */
  action: { actionId: unknown; value: unknown; url: unknown; actionTs: string } | undefined;
}

const MAX_ID_CHARS = 255;

export function readPayload(raw: Buffer): ActionPayload {
  const field = new URLSearchParams(raw.toString('utf8')).get('payload');
  if (field === null) throw new HttpError(400, 'bad_payload', 'the body has no payload field; Slack sends interactivity payloads as payload=<JSON>');
  let json: unknown;
  try {
    json = JSON.parse(field);
  } catch {
    throw new HttpError(400, 'bad_payload', 'the payload field is not JSON');
  }
  if (!isRecord(json) || typeof json.type !== 'string') throw new HttpError(400, 'bad_payload', 'the payload has no type');
  const user = isRecord(json.user) ? json.user : {};
  const userId = short(user.id);
  if (!userId) throw new HttpError(400, 'bad_payload', 'the payload names no user');
  const container = isRecord(json.container) ? json.container : {};
  const channel = isRecord(json.channel) ? json.channel : {};
  const [first] = Array.isArray(json.actions) ? json.actions : [];
  return {
    type: json.type,
    user: {
      id: userId,
      username: short(user.username) ?? userId,
      name: short(user.name) ?? short(user.username) ?? userId,
      teamId: short(user.team_id) ?? short(isRecord(json.team) ? json.team.id : undefined) ?? '',
    },
    channel: short(container.channel_id) ?? short(channel.id),
    messageTs: short(container.message_ts),
    threadTs: short(container.thread_ts),
    responseUrl: typeof json.response_url === 'string' && json.response_url.length <= 3000 ? json.response_url : undefined,
    action: isRecord(first) ? { actionId: first.action_id, value: first.value, url: first.url, actionTs: short(first.action_ts) ?? '' } : undefined,
  };
}

function short(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_CHARS ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
