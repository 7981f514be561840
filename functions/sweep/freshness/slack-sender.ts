import type { Deadline, AttemptRecord } from '../../processor/clients/http-retry.js';
import { statusPageButton } from '../../processor/clients/message-buttons.js';
import type { SlackApiClient } from '../../processor/clients/slack-api.js';
import { postExactlyOnce } from '../../processor/clients/slack-app.js';
import { renderAppFailure, type SlackMessage } from '../../processor/clients/slack-message.js';
import type { SlackClient } from '../../processor/clients/slack.js';
import { classifyError, describeError } from '../../processor/errors.js';
import type { Secret } from '../../shared/secrets.js';
import { actionButton } from '../../shared/slack-buttons.js';
import type { OutboxMessage } from './record.js';

// How a freshness incident's messages reach Slack. Through a webhook each message is a
// message of its own. Through the Slack app an incident is one message: the alert is
// posted (with "snooze this connector 1 day" and "open in the status page"), reminders are
// replies in its thread, and the recovery (or closing) updates it in place and says the
// details in the thread. The alert's ts is kept on the freshness document and its incident
// record, so whichever sweep sends the next message finds the thread. Every post carries
// metadata and is looked for before any try after the first (processor/clients/slack-app.ts).

/** The Slack message an incident's later messages thread under. */
export interface SlackThread {
  incidentId: string;
  channel: string;
  ts: string;
}

export interface SendContext {
  deadline: Deadline;
  attempts: AttemptRecord[];
}

export interface FreshnessSender {
  /** Sends one outbox message; resolves with the incident's thread when this message opened it. */
  send(message: OutboxMessage, connectorDocId: string, thread: SlackThread | null, ctx: SendContext): Promise<SlackThread | undefined>;
}

/** A snooze from the alert lasts a day, as the button says. */
export const SNOOZE_MS = 86_400_000;

export function webhookSender(slack: SlackClient, webhook: Secret): FreshnessSender {
  return {
    async send(message, _docId, _thread, ctx) {
      await slack.post(webhook, message.message, ctx);
      return undefined;
    },
  };
}

export function appSender(api: SlackApiClient, channel: string, statusPageUrl: string | undefined): FreshnessSender {
  const post = (message: OutboxMessage, body: SlackMessage, ctx: SendContext, threadTs?: string) =>
    postExactlyOnce(api, channel, body, {
      key: { key: `${message.incidentId}/${message.key}`, kind: `freshness-${message.kind}` },
      ...(threadTs ? { threadTs } : {}),
      checkFirst: message.attempts > 1,
      since: new Date(message.createdAt),
      deadline: ctx.deadline,
      attempts: ctx.attempts,
    });
  const buttons = (message: OutboxMessage, docId: string) =>
    [
      actionButton({ kind: 'snooze', connector: docId, incident: message.incidentId, forMs: SNOOZE_MS }, 'Snooze this connector 1 day'),
      statusPageUrl ? statusPageButton(statusPageUrl, `/connectors/${encodeURIComponent(docId)}`) : undefined,
    ].filter((b): b is Record<string, unknown> => b !== undefined);
  const withButtons = (body: SlackMessage, elements: Array<Record<string, unknown>>): SlackMessage =>
    elements.length ? { ...body, blocks: [...body.blocks, { type: 'actions', block_id: 'postload_actions', elements }] } : body;

  return {
    async send(message, docId, thread, ctx) {
      const own = thread && thread.incidentId === message.incidentId && thread.channel === channel ? thread : null;
      if (message.kind === 'alert' || !own) {
        // An alert, or a later message whose alert never made it to the channel: a message of its own.
        const open = message.kind === 'alert' || message.kind === 'reminder';
        const posted = await post(message, open ? withButtons(message.message, buttons(message, docId)) : message.message, ctx);
        return message.kind === 'alert' ? { incidentId: message.incidentId, channel, ts: posted.ts } : undefined;
      }
      if (message.kind === 'reminder') {
        await post(message, message.message, ctx, own.ts);
        return undefined;
      }
      // Recovered or closed: the alert itself now says so (no buttons left), and the thread has the details.
      await api.update(channel, own.ts, message.message, undefined, ctx);
      await post(message, message.message, ctx, own.ts);
      return undefined;
    },
  };
}

/** The incoming webhook told when the app cannot post at all (the routing file's `slack.fallbackWebhook`). */
export interface FallbackWebhook {
  slack: SlackClient;
  webhook: Secret;
}

/**
 * The app sender, with Slack's permanent refusals (a revoked token, a channel the app left,
 * the lookup that cannot tell) said through the fallback webhook with the message that could
 * not be posted, as the processor does. The refusal is still thrown: the outbox records the
 * message as not sent. A fallback that fails too is given up quietly: the tick logs the refusal.
 */
export function withFallback(sender: FreshnessSender, channel: string, fallback: FallbackWebhook | undefined): FreshnessSender {
  if (!fallback) return sender;
  return {
    async send(message, docId, thread, ctx) {
      try {
        return await sender.send(message, docId, thread, ctx);
      } catch (error) {
        if (classifyError(error) === 'permanent') {
          await fallback.slack.post(fallback.webhook, renderAppFailure(channel, describeError(error), message.message), ctx).catch(() => undefined);
        }
        throw error;
      }
    },
  };
}
