import { v1, type PubSub } from '@google-cloud/pubsub';
import { DEPLOYMENT_NAMES } from '../shared/deployment-names.js';
import { optionalString } from '../shared/settings.js';
import { AuditTrail } from '../read-model/audit-trail.js';
import type { CloudContext } from './context.js';
import { CliError, EXIT, explainGoogleError, type ExitCode } from './errors.js';
import { terminalSafe, type Output } from './output.js';

export interface DeadLetter {
  ackId: string;
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
}

/** The dead-letter subscription, as replay uses it. */
export interface DeadLetterQueue {
  pull(max: number): Promise<DeadLetter[]>;
  ack(ackIds: string[]): Promise<void>;
  /** Gives messages back at once (ack deadline 0), for the next pull or the next replay. */
  release(ackIds: string[]): Promise<void>;
}

export interface Republisher {
  /** Resolves with the new message id once Pub/Sub confirmed the publish. */
  publish(data: Buffer, attributes: Record<string, string>): Promise<string>;
}

export interface ReplayOptions {
  limit: number;
  dryRun: boolean;
  eventId?: string;
  /** Looks up the last error of an event in the audit trail (for the report). */
  lastError?: (eventId: string) => Promise<{ error: string | null; outcome: string } | undefined>;
}

export interface ReplayLine {
  messageId: string;
  eventId: string;
  type: string;
  connector: string;
  deliveries: string;
  lastError: string | null;
  outcome: 'replayed' | 'would replay' | 'failed';
  newMessageId?: string;
  error?: string;
}

/**
 * Pub/Sub adds these when it dead-letters a message (cloud.google.com/pubsub/docs/handling-failures:
 * CloudPubSubDeadLetterSourceDeliveryCount, ...SourceSubscription, ...SourceSubscriptionProject,
 * ...SourceTopicPublishTime). Everything with the prefix is dropped, so the republished
 * message carries exactly the attributes the ingest function gave it.
 */
export const DEAD_LETTER_PREFIX = 'CloudPubSubDeadLetter';

export function originalAttributes(attributes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).filter(([key]) => !key.startsWith(DEAD_LETTER_PREFIX)));
}

/**
 * Republishes dead letters to the topic. Each one is acknowledged only after its publish
 * was confirmed, so a crash at any point loses nothing: an unacknowledged dead letter comes
 * back after its ack deadline and is replayed again. That second copy carries the same
 * event id, and the processor acts once per event id (its claims in the audit document),
 * so nothing is done twice. Messages not replayed (--event, --dry-run, failed publishes)
 * are released at once for the next run.
 */
export async function replay(queue: DeadLetterQueue, publisher: Republisher, options: ReplayOptions, onLine: (line: ReplayLine) => void = () => {}): Promise<ReplayLine[]> {
  const lines: ReplayLine[] = [];
  const held: string[] = [];
  // A message seen twice means the run outlived an ack deadline and the subscription went
  // round: everything there is has been looked at.
  const seen = new Set<string>();
  let wrapped = false;
  try {
    while (lines.length < options.limit && !wrapped) {
      const batch = await queue.pull(Math.min(100, options.limit - lines.length));
      if (batch.length === 0) break;
      for (const message of batch) {
        const attributes = originalAttributes(message.attributes);
        const eventId = attributes.eventId || eventIdOf(message.data) || '';
        if (seen.has(message.messageId)) wrapped = true;
        seen.add(message.messageId);
        if (wrapped || lines.length >= options.limit || (options.eventId && eventId !== options.eventId)) {
          held.push(message.ackId);
          continue;
        }
        const audit = eventId && options.lastError ? await options.lastError(eventId).catch(() => undefined) : undefined;
        const line: ReplayLine = {
          messageId: message.messageId,
          eventId,
          type: attributes.type ?? '',
          connector: attributes.connectorName || attributes.connectorId || '',
          deliveries: message.attributes.CloudPubSubDeadLetterSourceDeliveryCount ?? '?',
          lastError: audit?.error ?? null,
          outcome: 'would replay',
        };
        if (options.dryRun) {
          held.push(message.ackId);
        } else {
          try {
            line.newMessageId = await publisher.publish(message.data, attributes);
          } catch (error) {
            line.outcome = 'failed';
            line.error = (error as Error).message;
            held.push(message.ackId);
            lines.push(line);
            onLine(line);
            continue;
          }
          // Only now: the copy is durably on the topic.
          await queue.ack([message.ackId]);
          line.outcome = 'replayed';
        }
        lines.push(line);
        onLine(line);
      }
    }
  } finally {
    if (held.length) await queue.release(held);
  }
  return lines;
}

function eventIdOf(data: Buffer): string | undefined {
  try {
    const id = (JSON.parse(data.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The dead-letter subscription through the generated Pub/Sub client: synchronous pull, explicit acks. */
export function pubsubDeadLetterQueue(pubsub: PubSub, subscriptionPath: string): DeadLetterQueue {
  const client = new v1.SubscriberClient(pubsub.options as ConstructorParameters<typeof v1.SubscriberClient>[0]);
  return {
    async pull(max) {
      // returnImmediately is deprecated, but without it an empty subscription makes pull wait; the emulator and Pub/Sub honour it.
      const [response] = await client.pull({ subscription: subscriptionPath, maxMessages: max, returnImmediately: true }, { timeout: 30_000 });
      return (response.receivedMessages ?? []).map((received) => ({
        ackId: received.ackId ?? '',
        messageId: received.message?.messageId ?? '',
        data: Buffer.from(received.message?.data ?? ''),
        attributes: { ...(received.message?.attributes ?? {}) },
      }));
    },
    async ack(ackIds) {
      await client.acknowledge({ subscription: subscriptionPath, ackIds });
    },
    async release(ackIds) {
      await client.modifyAckDeadline({ subscription: subscriptionPath, ackIds, ackDeadlineSeconds: 0 });
    },
  };
}

/**
 * Publishes one message per request (batching off): Pub/Sub fails a whole batch for one
 * bad message, and a replay must never let one dead letter fail another.
 */
export function pubsubRepublisher(pubsub: PubSub, topicPath: string): Republisher {
  const topic = pubsub.topic(topicPath, { batching: { maxMessages: 1 } });
  return { publish: (data, attributes) => topic.publishMessage({ data, attributes }) };
}

/**
 * The report's "last error" of a dead letter's event, from its audit record: the newest
 * error any action recorded, named by its action ("dbt job 101: dbt Cloud answered 503").
 */
export function auditLastError(trail: AuditTrail): NonNullable<ReplayOptions['lastError']> {
  return async (eventId) => {
    const view = await trail.get(eventId);
    return view && { error: view.lastError, outcome: view.outcome };
  };
}

/** `postload replay`. */
export interface ReplayCommandOptions extends Omit<ReplayOptions, 'lastError'> {
  /** The dead-letter subscription: a name or a full id (default: DEAD_LETTER_SUBSCRIPTION, else Terraform's). */
  subscription?: string;
  /** The topic to republish to: a name or a full id (default: SYNC_EVENTS_TOPIC, else Terraform's). */
  topic?: string;
}

export async function replayCommand({ subscription: givenSubscription, topic: givenTopic, ...options }: ReplayCommandOptions, context: CloudContext, out: Output): Promise<ExitCode> {
  const deadLetters = await context.pubsubResource('subscriptions', givenSubscription ?? context.deadLetterSubscription, '--subscription', DEPLOYMENT_NAMES.deadLetterSubscription.setting);
  // A full id names its project: the topic and the audit trail are looked for there too.
  context.adoptProject(deadLetters.project);
  const subscription = deadLetters.path;
  const topic = (await context.pubsubResource('topics', givenTopic ?? context.topic, '--topic', DEPLOYMENT_NAMES.topic.setting)).path;
  const project = await context.project();
  const pubsub = await context.pubsub();
  if (!optionalString(context.env, 'PUBSUB_EMULATOR_HOST')) await context.credentials('Pub/Sub');
  const lastError = auditLastError(new AuditTrail(await context.firestore(), context.auditCollection));
  const queue = pubsubDeadLetterQueue(pubsub, subscription);
  let lines: ReplayLine[];
  try {
    lines = await replay(queue, pubsubRepublisher(pubsub, topic), { ...options, lastError }, (line) => {
      if (!out.json) out.line(formatReplayLine(line, out));
    });
  } catch (error) {
    const explained = explainGoogleError(error, `replaying ${subscription} to ${topic}`, project);
    if ((error as { code?: number }).code === 5) {
      throw new CliError(
        `subscription ${subscription} (or topic ${topic}) not found`,
        'pass --subscription (or set DEAD_LETTER_SUBSCRIPTION) to what `terraform output -raw dead_letter_subscription` prints, and --topic (SYNC_EVENTS_TOPIC) to `terraform output -raw sync_events_topic` if the topic is not sync-events',
      );
    }
    throw explained;
  }
  const replayed = lines.filter((l) => l.outcome === 'replayed').length;
  const failed = lines.filter((l) => l.outcome === 'failed').length;
  const summary = options.dryRun
    ? `${lines.length} dead letter(s) would be replayed to ${topic} (dry run: nothing published, nothing acknowledged)`
    : `${replayed} replayed to ${topic} and acknowledged, ${failed} failed (left on ${subscription})`;
  if (out.json) out.data({ subscription, topic, dryRun: options.dryRun, messages: lines, replayed, failed });
  else out.line(lines.length === 0 ? `no dead letters${options.eventId ? ` for event ${options.eventId}` : ''} on ${subscription}` : summary);
  return failed ? EXIT.failed : EXIT.ok;
}

/** One replayed (or dry-run) dead letter as a line of the report. */
export function formatReplayLine(raw: ReplayLine, out: Output): string {
  // Type, connector and errors come from the dead letter's attributes and its audit record.
  const line = terminalSafe(raw);
  const mark = line.outcome === 'replayed' ? out.colour('green', '✔') : line.outcome === 'failed' ? out.colour('red', '✖') : out.colour('dim', '·');
  const parts = [
    `${mark} ${line.outcome.padEnd(12)}`,
    `event ${line.eventId || '(none)'}`,
    line.type || '(no type)',
    `connector ${line.connector || '—'}`,
    `delivered ${line.deliveries}×`,
    line.lastError ? `last error: ${line.lastError}` : 'no error recorded',
  ];
  if (line.error) parts.push(out.colour('red', `publish failed: ${line.error}`));
  return parts.join('  ');
}
