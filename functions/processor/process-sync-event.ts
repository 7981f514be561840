import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { Logger } from 'pino';
import { logger as defaultLogger } from '../shared/logger.js';
import { decodeSyncEvent, InvalidSyncEventError, type SyncEvent } from '../shared/sync-event.js';
import { runActions, sendSlack, type ActionContext } from './actions.js';
import { AuditStore, createFirestore } from './audit-store.js';
import type { ProcessorConfig } from './config.js';
import { DbtCloudClient } from './dbt-cloud.js';
import { classifyError, describeError, TransientError } from './errors.js';
import { deadlineIn, type FetchLike } from './http-retry.js';
import { readPubSubMessage, type PubSubMessage } from './pubsub-message.js';
import { DEFAULT_WEBHOOK, planFor, slackActionId } from './routing.js';
import { renderInvalidMessage } from './slack-message.js';
import { SlackClient } from './slack.js';

export interface ProcessorDependencies {
  firestore?: Firestore;
  fetch?: FetchLike;
  logger?: Logger;
}

export type SyncEventProcessor = (event: CloudEvent<unknown>) => Promise<void>;

/**
 * The processor: decode the message, validate the SyncEvent, record it, plan its actions
 * from the routing file, run each once. Returns (acknowledging the message) when all is
 * done or failed for good; throws a TransientError when a redelivery could still succeed.
 */
export function createSyncEventProcessor(config: ProcessorConfig, deps: ProcessorDependencies = {}): SyncEventProcessor {
  const log = deps.logger ?? defaultLogger;
  const store = new AuditStore(deps.firestore ?? createFirestore(config.projectId), {
    auditCollection: config.auditCollection,
    connectorsCollection: config.connectorsCollection,
    retentionDays: config.retentionDays,
    leaseMs: config.leaseMs,
    timeoutMs: config.firestoreTimeoutMs,
  });
  const http = { policy: config.retry, ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  const dbt = config.dbt ? new DbtCloudClient({ settings: config.dbt, ...http }) : undefined;
  const slack = new SlackClient(http);

  // The outbound budget starts when the actions do: Firestore calls have their own timeout.
  const contextFor = (eventLog: Logger, deliveryId: string = randomUUID()): ActionContext => ({
    store,
    dbt,
    slack,
    slackWebhooks: config.slackWebhooks,
    deliveryId,
    deadline: deadlineIn(config.outboundBudgetMs),
    log: eventLog,
  });

  async function processEvent(event: SyncEvent, message: PubSubMessage, eventLog: Logger): Promise<void> {
    const plan = planFor(event, config.routing);
    const deliveryId = randomUUID();
    await store.recordDelivery(event, { id: deliveryId, messageId: message.messageId, routes: plan.routes });
    await store.updateConnector(event);
    const outcome = await runActions(event, plan, contextFor(eventLog, deliveryId));
    await store.finish(event.id, outcome.status);
    if (outcome.status === 'retrying') {
      throw new TransientError(`event ${event.id} is not done yet: ${outcome.retryReason}`, { system: 'postload' });
    }
    eventLog.info({ status: outcome.status, routes: plan.routes, dbtJobs: outcome.dbt.map((j) => j.jobId) }, `event ${outcome.status}`);
  }

  async function dropInvalid(message: PubSubMessage, error: InvalidSyncEventError): Promise<void> {
    const docId = `invalid-${message.messageId.replace(/\//g, '_')}`;
    const messageLog = log.child({ messageId: message.messageId });
    await store.recordInvalid(docId, {
      messageId: message.messageId,
      problems: error.problems,
      data: message.data?.toString('utf8') ?? '',
      attributes: message.attributes,
    });
    messageLog.error({ problems: error.problems }, `${error.message}; recorded and acknowledged`);
    const webhook = config.routing.config.slack?.webhook ?? DEFAULT_WEBHOOK;
    const result = await sendSlack(docId, { actionId: slackActionId(webhook), webhook }, renderInvalidMessage(message.messageId, error.problems), contextFor(messageLog));
    if (result.state === 'retry' || result.state === 'busy') {
      throw new TransientError(`the alert about invalid message ${message.messageId} is not sent yet`, { system: 'Slack' });
    }
    await store.finish(docId, 'invalid');
  }

  return async function processSyncEvent(cloudEvent: CloudEvent<unknown>): Promise<void> {
    const message = readPubSubMessage(cloudEvent);
    let eventLog = log.child({ messageId: message.messageId });
    try {
      let event: SyncEvent;
      try {
        if (!message.data) throw new InvalidSyncEventError([{ field: '', message: 'is missing: the Pub/Sub message has no data' }]);
        event = decodeSyncEvent(message.data);
      } catch (error) {
        if (error instanceof InvalidSyncEventError) return await dropInvalid(message, error);
        throw error;
      }
      eventLog = eventLog.child({ eventId: event.id, source: event.source, type: event.type, connectorId: event.connector.id });
      await processEvent(event, message, eventLog);
    } catch (error) {
      if (classifyError(error) === 'transient') {
        eventLog.warn({ err: describeError(error) }, 'transient failure; throwing so that Pub/Sub redelivers');
        throw error;
      }
      eventLog.error({ err: describeError(error) }, 'permanent failure; acknowledged');
    }
  };
}
