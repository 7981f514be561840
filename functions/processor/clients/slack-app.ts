import { PermanentError } from '../errors.js';
import { withRetries } from './http-retry.js';
import { mayHaveTakenEffect, type CallContext, type MessageMetadata, type SlackApiClient, type SlackMessageBody } from './slack-api.js';

// Exactly once through Slack's Web API. An incoming webhook has no idempotency key and
// nothing to read back, so a message Slack accepted but postload could not record (a
// Firestore outage, an instance killed) is sent again by the next delivery. In app mode
// every message carries message metadata naming what it is (docs.slack.dev/messaging/
// message-metadata); before any attempt after the first, and after an answer that may
// hide a post (a timeout, a dropped connection, a 5xx, internal_error), postload reads
// the channel's recent history (or the thread's replies) for that metadata, bounded like
// the dbt Cloud lookup: found counts as sent.

/** The metadata event_type of every message postload posts. */
export const POSTLOAD_METADATA_TYPE = 'postload_message';

/** Messages per history page (conversations.history allows up to 999; Slack advises ≤ 200). */
export const LOOKUP_PAGE_SIZE = 200;
/** Pages the lookup reads at most before it says it cannot tell (1,000 messages). */
export const LOOKUP_MAX_PAGES = 5;
/** Clock difference between postload and Slack the lookup tolerates. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** The lookup read LOOKUP_MAX_PAGES pages without reaching the first attempt: it cannot tell whether the message is there. */
export class SlackLookupExhaustedError extends PermanentError {}

/** What makes one message unique: the audit document and the action (an event's message, a freshness incident's reminder, …). */
export interface MessageKey {
  /** `<audit doc id>/<action id>` or `<incident id>/<outbox key>`: at most a few hundred characters. */
  key: string;
  /** Shown to other apps reading the metadata; not used to match. */
  kind: string;
}

export function metadataFor(key: MessageKey): MessageMetadata {
  return { event_type: POSTLOAD_METADATA_TYPE, event_payload: { key: key.key, kind: key.kind } };
}

export interface PostOnce extends CallContext {
  key: MessageKey;
  /** A reply in this thread (its parent's ts). */
  threadTs?: string;
  /** An earlier attempt may have posted it: look first. */
  checkFirst: boolean;
  /** When the message was first attempted: the lookup reads back to just before it. */
  since: Date;
}

export interface Posted {
  ts: string;
  /** Found already in the channel instead of posted again. */
  recovered: boolean;
}

/**
 * Posts the message unless it is already there. Retries rate limits (honouring
 * Retry-After) and transient failures within the policy and the deadline; after a failure
 * that may have posted it, the next try looks before posting. Throws a SlackApiError
 * (permanent: channel_not_found, invalid_auth, …), SlackLookupExhaustedError, or a
 * transient error when the tries run out.
 */
export async function postExactlyOnce(api: SlackApiClient, channel: string, message: SlackMessageBody, options: PostOnce): Promise<Posted> {
  let mayHavePosted = options.checkFirst;
  return withRetries(async () => {
    if (mayHavePosted) {
      const found = await findPosted(api, channel, options.key.key, options);
      if (found) return { ts: found, recovered: true };
    }
    try {
      const ts = await api.postMessage(channel, message, { ...(options.threadTs ? { threadTs: options.threadTs } : {}), metadata: metadataFor(options.key) }, options);
      return { ts, recovered: false };
    } catch (error) {
      if (mayHaveTakenEffect(error)) mayHavePosted = true;
      throw error;
    }
  }, api.retryOptions('chat.postMessage', options));
}

/**
 * The ts of the message carrying `key` in the channel (or the thread), reading back from the
 * newest to just before `since` (less a clock-skew margin), at most LOOKUP_MAX_PAGES pages.
 */
export async function findPosted(api: SlackApiClient, channel: string, key: string, options: CallContext & { since: Date; threadTs?: string }): Promise<string | undefined> {
  const oldest = slackTs(options.since.getTime() - CLOCK_SKEW_MS);
  let cursor: string | undefined;
  for (let page = 0; page < LOOKUP_MAX_PAGES; page++) {
    const result = await api.history(channel, { oldest, limit: LOOKUP_PAGE_SIZE, ...(cursor ? { cursor } : {}), ...(options.threadTs ? { threadTs: options.threadTs } : {}) }, options);
    const found = result.messages.find((m) => m.metadata?.event_type === POSTLOAD_METADATA_TYPE && m.metadata.event_payload?.key === key && m.ts !== options.threadTs);
    if (found) return found.ts;
    if (!result.nextCursor) return undefined;
    cursor = result.nextCursor;
  }
  throw new SlackLookupExhaustedError(
    `Slack channel ${channel} has more than ${LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} messages since this message was first attempted; postload cannot tell whether it already posted "${key}", so it does not post it again: look for it in the channel`,
    { system: 'Slack' },
  );
}

/** A time as Slack writes a message ts: Unix seconds with six decimals. */
export function slackTs(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(6);
}
