import { PUBSUB_MESSAGE_MAX_BYTES } from '../shared/sync-event.js';
import { HttpError } from './http-error.js';
import { interpret, quarantineOversized } from './interpret.js';
import { encodeMessage, type OutboundMessage } from './publisher.js';
import type { Source } from './read-request.js';

export interface OutboundOptions {
  /** The key the message is signed with (shared/sync-event-signature.ts). */
  signingKey: Uint8Array;
  /** An event received more than this long after it happened is marked stale (STALE_EVENT_AGE_HOURS). */
  staleAfterMs: number;
}

/**
 * The message to publish for an authenticated body, checked against Pub/Sub's limit
 * before it is sent: a size error from Pub/Sub would come back as a 503 the sender
 * retries for a day. A normal event that outgrows the limit (normalising copies text
 * into the event) is kept as a quarantined one, which carries the payload once; MAX_BODY_BYTES
 * is capped so that one always fits, and the 413 is the guard should that ever fail.
 */
export function outboundMessage(source: Source, raw: Buffer, receivedAt: Date, { signingKey, staleAfterMs }: OutboundOptions): OutboundMessage {
  const event = interpret(source, raw, receivedAt);
  if (isStale(event.occurredAt, receivedAt, staleAfterMs)) event.stale = true;
  const message = encodeMessage(event, signingKey);
  if (fits(message)) return message;
  const kept = event.type === 'quarantined' ? message : encodeMessage(quarantineOversized(source, raw, event.payload, receivedAt, PUBSUB_MESSAGE_MAX_BYTES), signingKey);
  if (fits(kept)) return kept;
  throw new HttpError(413, 'event_too_large', `the event would exceed Pub/Sub's ${PUBSUB_MESSAGE_MAX_BYTES}-byte message limit`, {
    limitBytes: PUBSUB_MESSAGE_MAX_BYTES,
  });
}

/**
 * Received more than `staleAfterMs` after the vendor says it happened: a retry long past
 * any vendor's retry window, or a captured webhook sent again. Its signature proves only
 * who once sent it, not when, and the processor remembers an event only for the audit
 * retention; so it is published, marked, and acted on by no one.
 */
export function isStale(occurredAt: string, receivedAt: Date, staleAfterMs: number): boolean {
  const happened = Date.parse(occurredAt);
  return !Number.isNaN(happened) && receivedAt.getTime() - happened > staleAfterMs;
}

function fits({ bytes }: OutboundMessage): boolean {
  return bytes <= PUBSUB_MESSAGE_MAX_BYTES;
}
