import { randomBytes } from 'node:crypto';
import { signSlackRequest } from '../shared/slack-signature.js';
import type { FakeSlack } from './fake-slack.js';
import type { FakeSlackMessage } from './fake-slack-api.js';

// Slack's side of a button press: when someone clicks a button in a message, Slack POSTs a
// `block_actions` payload to the app's interactivity Request URL as
// `application/x-www-form-urlencoded` with one field, `payload` (the JSON), signed with the
// app's signing secret (docs.slack.dev/interactivity/handling-user-interaction,
// docs.slack.dev/reference/interaction-payloads/block_actions-payload,
// api.slack.com/authentication/verifying-requests-from-slack). Slack sends it for URL
// buttons too (the browser opens the URL; the app must still answer 200). The payload's
// `response_url` takes up to five messages (ephemeral by default) within 30 minutes.

export interface SlackUser {
  id: string;
  username: string;
  name?: string;
}

export interface ButtonPress {
  /** The app's interactivity Request URL (postload: the ingest function's /slack/actions). */
  requestUrl: string;
  signingSecret: string;
  channel: string;
  /** The message's ts. */
  ts: string;
  actionId: string;
  user: SlackUser;
  /** When Slack signs it (default now): an old one is what a replay looks like. */
  signedAtMs?: number;
  /** Change the signed body after signing (a forged or tampered request). */
  tamper?: (body: string) => string;
}

export interface ButtonPressResult {
  status: number;
  body: string;
  /** The payload Slack sent. */
  payload: Record<string, unknown>;
  responseUrl: string;
}

/** The button element with this action_id in a message's blocks (actions blocks and section accessories), with its block id. */
export function findButton(message: FakeSlackMessage, actionId: string): { blockId: string; element: Record<string, unknown> } | undefined {
  for (const block of message.blocks as Array<Record<string, unknown>>) {
    const elements = block.type === 'actions' ? ((block.elements as Array<Record<string, unknown>> | undefined) ?? []) : block.accessory ? [block.accessory as Record<string, unknown>] : [];
    const element = elements.find((e) => e.type === 'button' && e.action_id === actionId);
    if (element) return { blockId: typeof block.block_id === 'string' ? block.block_id : randomBytes(3).toString('base64url'), element };
  }
  return undefined;
}

/** The block_actions payload Slack sends when `user` presses the button `actionId` of the message. */
export function blockActionsPayload(slack: FakeSlack, message: FakeSlackMessage, actionId: string, user: SlackUser, responseUrl: string, nowMs: number): Record<string, unknown> {
  const button = findButton(message, actionId);
  if (!button) throw new Error(`message ${message.ts} in ${message.channel} has no button ${actionId}`);
  const { element, blockId } = button;
  const channel = slack.api.channels.get(message.channel);
  const actionTs = `${(nowMs / 1000).toFixed(6)}`;
  return {
    type: 'block_actions',
    user: { id: user.id, username: user.username, name: user.name ?? user.username, team_id: slack.api.team.id },
    api_app_id: message.appId,
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false, ...(message.threadTs ? { thread_ts: message.threadTs } : {}) },
    trigger_id: `${Math.floor(nowMs / 1000)}.${randomBytes(6).readUIntBE(0, 6)}.${randomBytes(16).toString('hex')}`,
    team: slack.api.team,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: channel?.name ?? message.channel },
    message: { type: 'message', subtype: 'bot_message', text: message.text, ts: message.ts, bot_id: message.botId, app_id: message.appId, blocks: message.blocks, ...(message.threadTs ? { thread_ts: message.threadTs } : {}) },
    state: { values: {} },
    response_url: responseUrl,
    actions: [
      {
        action_id: element.action_id,
        block_id: blockId,
        text: element.text,
        ...(element.value !== undefined ? { value: element.value } : {}),
        ...(element.url !== undefined ? { url: element.url } : {}),
        ...(element.style !== undefined ? { style: element.style } : {}),
        type: 'button',
        action_ts: actionTs,
      },
    ],
  };
}

/** Presses a button of a message the stand-in holds, as Slack does: the signed, form-encoded payload POSTed to the Request URL. */
export async function pressButton(slack: FakeSlack, press: ButtonPress): Promise<ButtonPressResult> {
  const message = slack.api.messages.find((m) => m.channel === press.channel && m.ts === press.ts);
  if (!message) throw new Error(`no message ${press.ts} in ${press.channel}`);
  const now = press.signedAtMs ?? Date.now();
  const responseUrl = slack.api.responseUrl(slack.url);
  const payload = blockActionsPayload(slack, message, press.actionId, press.user, responseUrl, now);
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const headers = signSlackRequest(body, press.signingSecret, now / 1000);
  const response = await fetch(press.requestUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)', ...headers },
    body: press.tamper ? press.tamper(body) : body,
  });
  return { status: response.status, body: await response.text(), payload, responseUrl };
}
