import { PubSub, type Topic } from '@google-cloud/pubsub';
import { attributesOf, encodeSyncEvent, type SyncEvent } from '../shared/sync-event.js';

/** Pub/Sub did not confirm the message in time: the sender must retry. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
  }
}

export interface SyncEventPublisher {
  /** Resolves with the Pub/Sub message id once the server has stored the message. */
  publish(event: SyncEvent): Promise<string>;
}

/**
 * Publishes SyncEvents to one topic through one client for the life of the instance.
 * Batching waits at most a few milliseconds, so a lone webhook is not held back but a
 * burst shares round trips.
 */
export class PubSubPublisher implements SyncEventPublisher {
  private readonly topic: Topic;

  constructor(
    topicName: string,
    private readonly timeoutMs: number,
    projectId?: string,
  ) {
    const client = new PubSub(projectId ? { projectId } : {});
    this.topic = client.topic(topicName, {
      batching: { maxMessages: 100, maxMilliseconds: 5 },
      gaxOpts: { timeout: timeoutMs },
    });
  }

  async publish(event: SyncEvent): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PublishError(`Pub/Sub did not confirm within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      // A publish that loses the race may still land later: the sender's retry then
      // carries the same event id, and every consumer deduplicates on it.
      return await Promise.race([
        this.topic.publishMessage({ data: encodeSyncEvent(event), attributes: attributesOf(event) }),
        deadline,
      ]);
    } catch (error) {
      if (error instanceof PublishError) throw error;
      throw new PublishError(`publishing to ${this.topic.name} failed: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
