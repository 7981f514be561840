import { randomUUID } from 'node:crypto';
import { EmulatorAdmin } from '../../functions/local/pubsub-admin.js';

export interface PulledMessage {
  id: string;
  data: string;
  attributes: Record<string, string>;
}

/**
 * The local stack's emulator admin calls, plus pulling: tests see exactly what is on a
 * topic, without a client library's buffering in between.
 */
export class EmulatorPubSub extends EmulatorAdmin {
  /** Creates a topic with a unique name (prefix + random suffix) and returns its short name. */
  async createTopic(prefix = 'sync-events'): Promise<string> {
    const name = `${prefix}-${randomUUID().slice(0, 8)}`;
    await this.ensureTopic(name);
    return name;
  }

  async createPullSubscription(topic: string, name = `${topic}-pull`): Promise<string> {
    await this.ensurePullSubscription(name, topic);
    return name;
  }

  /** Pulls and acknowledges what is there now (none when the topic got nothing). */
  async pull(subscription: string, max = 100): Promise<PulledMessage[]> {
    const result = await this.call('POST', `subscriptions/${subscription}:pull`, { maxMessages: max, returnImmediately: true });
    const received = (result?.receivedMessages ?? []) as Array<{ ackId: string; message: { data?: string; attributes?: Record<string, string>; messageId: string } }>;
    if (received.length) await this.call('POST', `subscriptions/${subscription}:acknowledge`, { ackIds: received.map((r) => r.ackId) });
    return received.map(({ message }) => ({
      id: message.messageId,
      data: Buffer.from(message.data ?? '', 'base64').toString('utf8'),
      attributes: message.attributes ?? {},
    }));
  }

  /** Pulls until `count` messages arrived or the timeout passed. */
  async pullAtLeast(subscription: string, count: number, timeoutMs = 10_000): Promise<PulledMessage[]> {
    const messages: PulledMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (messages.length < count && Date.now() < deadline) {
      messages.push(...(await this.pull(subscription)));
      if (messages.length < count) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return messages;
  }
}
