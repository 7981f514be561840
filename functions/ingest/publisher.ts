import { PubSub, type Topic } from '@google-cloud/pubsub';
import { ATTRIBUTE_VALUE_MAX_BYTES, attributesOf, encodeSyncEvent, messageBytes, PUBSUB_MESSAGE_MAX_BYTES, type SyncEvent } from '../shared/sync-event.js';
import { SIGNATURE_ATTRIBUTE, signSyncEventData } from '../shared/sync-event-signature.js';

/** Pub/Sub did not confirm the message in time: the sender must retry. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
  }
}

/**
 * A message Pub/Sub would refuse. It is never sent: in a batch it would fail (in the
 * emulator: hang) every message batched with it. Only a bug in postload builds one.
 */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
}

/** A SyncEvent encoded for Pub/Sub, checked to be storable before it is published. */
export interface OutboundMessage {
  event: SyncEvent;
  data: Buffer;
  attributes: Record<string, string>;
  /** Its size as Pub/Sub counts it (data plus attributes), computed once when it is built. */
  bytes: number;
}

/**
 * The message for an event, signed with `signingKey` (the processor acts on nothing else):
 * its size, signature included, is measured here, once, for every later check.
 */
export function encodeMessage(event: SyncEvent, signingKey: Uint8Array): OutboundMessage {
  const data = encodeSyncEvent(event);
  const attributes: Record<string, string> = attributesOf(event);
  attributes[SIGNATURE_ATTRIBUTE] = signSyncEventData(data, signingKey);
  return { event, data, attributes, bytes: messageBytes(data, attributes) };
}

export interface SyncEventPublisher {
  /** Resolves with the Pub/Sub message id once the server has stored the message. */
  publish(message: OutboundMessage): Promise<string>;
}

/** Messages above this size, and quarantined ones, travel in a publish request of their own. */
const ALONE_ABOVE_BYTES = 256 * 1024;
const INVALID_ARGUMENT = 3;
const MAX_ATTRIBUTES = 100;
const ATTRIBUTE_KEY_MAX_BYTES = 256;

/** Why Pub/Sub would refuse this message (its documented limits), or undefined when it is storable. */
export function unstorable({ attributes, bytes }: Pick<OutboundMessage, 'attributes' | 'bytes'>): string | undefined {
  const entries = Object.entries(attributes);
  if (entries.length > MAX_ATTRIBUTES) return `${entries.length} attributes, more than ${MAX_ATTRIBUTES}`;
  for (const [key, value] of entries) {
    if (key === '' || Buffer.byteLength(key) > ATTRIBUTE_KEY_MAX_BYTES || !key.isWellFormed()) return `attribute key ${JSON.stringify(key.slice(0, 40))} is empty, too long or not UTF-8`;
    if (Buffer.byteLength(value) > ATTRIBUTE_VALUE_MAX_BYTES || !value.isWellFormed()) return `attribute ${key} is over ${ATTRIBUTE_VALUE_MAX_BYTES} bytes or not UTF-8`;
  }
  return bytes > PUBSUB_MESSAGE_MAX_BYTES ? `${bytes} bytes, over ${PUBSUB_MESSAGE_MAX_BYTES}` : undefined;
}

/**
 * Publishes SyncEvents to one topic through one client for the life of the instance.
 * Batching waits at most a few milliseconds, so a lone webhook is not held back but a
 * burst shares round trips. The client sends a batch as one request and Pub/Sub refuses
 * the whole request for one bad message, so isolation comes in layers: attributes are
 * made valid when the message is built (attributesOf), every message is checked against
 * Pub/Sub's limits before it is queued (one that fails is never sent), anything unusual
 * (quarantined or large) is published unbatched, and a batch refused as invalid is
 * retried one message per request, so only the message at fault fails.
 */
export class PubSubPublisher implements SyncEventPublisher {
  private readonly batched: Topic;
  private readonly alone: Topic;

  constructor(
    topicName: string,
    private readonly timeoutMs: number,
    projectId?: string,
  ) {
    const client = new PubSub(projectId ? { projectId } : {});
    const gaxOpts = { timeout: timeoutMs };
    this.batched = client.topic(topicName, { batching: { maxMessages: 100, maxMilliseconds: 5 }, gaxOpts });
    this.alone = client.topic(topicName, { batching: { maxMessages: 1 }, gaxOpts });
  }

  publish(message: OutboundMessage): Promise<string> {
    const { event, data, attributes } = message;
    const problem = unstorable(message);
    if (problem) return Promise.reject(new InvalidMessageError(`not published, Pub/Sub would refuse it: ${problem}`));
    const unusual = event.type === 'quarantined' || data.length > ALONE_ABOVE_BYTES;
    // One promise per publish, settled by whichever comes first, the confirmation or the
    // deadline: the client is called with a callback (its promise form adds two more), and
    // no Promise.race over a deadline promise. Under the framework's per-request domain every
    // promise costs an async-hook init, a destroy hook and a destroy. A publish that loses to
    // the deadline may still land later: the sender's retry then carries the same event id,
    // and every consumer deduplicates on it.
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PublishError(`Pub/Sub did not confirm within ${this.timeoutMs} ms`)), this.timeoutMs);
      const fail = (error: unknown) => {
        clearTimeout(timer);
        reject(new PublishError(`publishing to ${this.batched.name} failed: ${(error as Error).message}`, { cause: error }));
      };
      const send = (topic: Topic, onError: (error: unknown) => void) => {
        try {
          topic.publishMessage({ data, attributes }, (error, id) => {
            if (error) return onError(error);
            clearTimeout(timer);
            resolve(id!);
          });
        } catch (error) {
          onError(error); // the client refuses some messages synchronously
        }
      };
      send(unusual ? this.alone : this.batched, (error) => {
        if (unusual || (error as { code?: unknown }).code !== INVALID_ARGUMENT) return fail(error);
        send(this.alone, fail);
      });
    });
  }
}
