/**
 * The few Pub/Sub admin calls the local stack makes, as REST calls to the emulator. Every
 * call is idempotent, so `npm start` works against an emulator that already has the
 * topic and subscriptions from an earlier run.
 */
export class EmulatorAdmin {
  constructor(
    readonly host: string,
    readonly projectId: string,
  ) {}

  topicPath(topic: string): string {
    return `projects/${this.projectId}/topics/${topic}`;
  }

  async ensureTopic(topic: string): Promise<void> {
    await this.call('PUT', `topics/${topic}`, {}, { allowConflict: true });
  }

  async ensurePullSubscription(name: string, topic: string): Promise<void> {
    await this.call('PUT', `subscriptions/${name}`, { topic: this.topicPath(topic), ackDeadlineSeconds: 60 }, { allowConflict: true });
  }

  /**
   * The push subscription topic → endpoint, with retry backoff and a dead-letter policy as
   * Terraform sets them in Google Cloud. The emulator's dead-letter support is not reliable:
   * when it refuses the policy the subscription is made without it, and the result says so.
   * An existing subscription is pointed at the (possibly new) endpoint.
   */
  async ensurePushSubscription(
    name: string,
    { topic, endpoint, deadLetterTopic, maxDeliveryAttempts = 5 }: { topic: string; endpoint: string; deadLetterTopic?: string; maxDeliveryAttempts?: number },
  ): Promise<{ deadLetterPolicy: boolean }> {
    const base = {
      topic: this.topicPath(topic),
      pushConfig: { pushEndpoint: endpoint },
      ackDeadlineSeconds: 60,
      retryPolicy: { minimumBackoff: '1s', maximumBackoff: '10s' },
    };
    let deadLetterPolicy = deadLetterTopic !== undefined;
    let created: boolean;
    try {
      if (!deadLetterTopic) throw new Error('no dead-letter topic');
      const answer = await this.call(
        'PUT',
        `subscriptions/${name}`,
        { ...base, deadLetterPolicy: { deadLetterTopic: this.topicPath(deadLetterTopic), maxDeliveryAttempts } },
        { allowConflict: true },
      );
      created = answer !== undefined;
    } catch {
      deadLetterPolicy = false;
      created = (await this.call('PUT', `subscriptions/${name}`, base, { allowConflict: true })) !== undefined;
    }
    if (!created) await this.call('POST', `subscriptions/${name}:modifyPushConfig`, { pushConfig: base.pushConfig });
    return { deadLetterPolicy };
  }

  /** Publishes messages as Pub/Sub would deliver them (data as text): the local sweep's ticks, tests. */
  async publish(topic: string, messages: Array<{ data: string; attributes?: Record<string, string> }>): Promise<void> {
    await this.call('POST', `topics/${topic}:publish`, { messages: messages.map((m) => ({ data: Buffer.from(m.data).toString('base64'), attributes: m.attributes ?? {} })) });
  }

  /** The parsed answer, or undefined when the resource already existed (409) and that was allowed. */
  protected async call(method: string, path: string, body: unknown, { allowConflict = false } = {}): Promise<Record<string, unknown> | undefined> {
    const response = await fetch(`http://${this.host}/v1/projects/${this.projectId}/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status === 409 && allowConflict) return undefined;
    if (!response.ok) throw new Error(`Pub/Sub emulator ${method} ${path}: ${response.status} ${await response.text()}`);
    const text = await response.text();
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }
}
