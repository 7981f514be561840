import type { CloudEvent } from '@google-cloud/functions-framework';

/** The Pub/Sub message inside a `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent. */
export interface PubSubMessage {
  messageId: string;
  attributes: Record<string, string>;
  /** The decoded message body (base64 in the push request); undefined when there is none. */
  data: Buffer | undefined;
  /** When Pub/Sub accepted the message (its publishTime; the Functions Framework puts it in the CloudEvent's time). */
  publishedAtMs: number | undefined;
}

/**
 * Reads the message the Functions Framework put in the CloudEvent. Tolerates both the
 * camelCase and the snake_case id field; `data` is left undefined when it is missing so the
 * caller can record the message as invalid instead of failing on it forever.
 */
export function readPubSubMessage(event: CloudEvent<unknown>): PubSubMessage {
  const message = (event.data as { message?: Record<string, unknown> } | undefined)?.message ?? {};
  const rawId = message.messageId ?? message.message_id ?? event.id;
  const attributes: Record<string, string> = {};
  if (message.attributes && typeof message.attributes === 'object') {
    for (const [key, value] of Object.entries(message.attributes as Record<string, unknown>)) {
      if (typeof value === 'string') attributes[key] = value;
    }
  }
  const published = Date.parse(String(message.publishTime ?? message.publish_time ?? event.time ?? ''));
  return {
    messageId: typeof rawId === 'string' && rawId ? rawId : 'unknown',
    attributes,
    data: typeof message.data === 'string' ? Buffer.from(message.data, 'base64') : undefined,
    publishedAtMs: Number.isNaN(published) ? undefined : published,
  };
}
