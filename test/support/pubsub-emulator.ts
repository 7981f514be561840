import { randomUUID } from 'node:crypto';

/**
 * Thin REST calls to the Pub/Sub emulator, so tests see exactly what is on a topic
 * without a client library's buffering in between.
 */
export class EmulatorPubSub {
  constructor(
    readonly host: string,
    readonly project: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`http://${this.host}/v1/projects/${this.project}/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  /** Creates a topic with a unique name (prefix + random suffix) and returns its short name. */
  async createTopic(prefix = 'sync-events'): Promise<string> {
    const name = `${prefix}-${randomUUID().slice(0, 8)}`;
    await this.call('PUT', `topics/${name}`, {});
    return name;
  }

  async createPullSubscription(topic: string, name = `${topic}-pull`): Promise<string> {
    await this.call('PUT', `subscriptions/${name}`, { topic: `projects/${this.project}/topics/${topic}`, ackDeadlineSeconds: 60 });
    return name;
  }

  async createPushSubscription(topic: string, endpoint: string, name = `${topic}-push`): Promise<string> {
    await this.call('PUT', `subscriptions/${name}`, {
      topic: `projects/${this.project}/topics/${topic}`,
      pushConfig: { pushEndpoint: endpoint },
      ackDeadlineSeconds: 30,
    });
    return name;
  }

  async publish(topic: string, data: string | Buffer, attributes: Record<string, string> = {}): Promise<string> {
    const result = await this.call('POST', `topics/${topic}:publish`, {
      messages: [{ data: Buffer.from(data).toString('base64'), attributes }],
    });
    return (result.messageIds as string[])[0]!;
  }

  /** Pulls and acknowledges what is there now (none when the topic got nothing). */
  async pull(subscription: string, max = 100): Promise<PulledMessage[]> {
    const result = await this.call('POST', `subscriptions/${subscription}:pull`, { maxMessages: max, returnImmediately: true });
    const received = (result.receivedMessages ?? []) as Array<{ ackId: string; message: { data?: string; attributes?: Record<string, string>; messageId: string } }>;
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

export interface PulledMessage {
  id: string;
  data: string;
  attributes: Record<string, string>;
}
