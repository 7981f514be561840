import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { Logger } from 'pino';
import { deadlineIn, type FetchLike } from '../processor/clients/http-retry.js';
import { SlackClient } from '../processor/clients/slack.js';
import { SlackApiClient } from '../processor/clients/slack-api.js';
import { describeError } from '../processor/errors.js';
import { createFirestore } from '../processor/store/event-store.js';
import { logger as defaultLogger } from '../shared/logger.js';
import { PubSubPublisher, type SyncEventPublisher } from '../ingest/publisher.js';
import { AirbyteClient } from '../vendors/airbyte.js';
import { FivetranClient } from '../vendors/fivetran.js';
import type { Vendor } from '../vendors/vendor-error.js';
import { createReconcileTask } from './reconcile/task.js';
import type { SweepConfig } from './config.js';
import { appSender, webhookSender, withFallback } from './freshness/slack-sender.js';
import { FreshnessStore } from './freshness/store.js';
import { createFreshnessTask } from './freshness/task.js';
import { RunsStore } from './runs/store.js';
import { createRunsTask } from './runs/task.js';
import { targetClients } from '../processor/targets/clients.js';
import type { SweepTask, TickContext } from './task.js';

export interface SweepDependencies {
  firestore?: Firestore;
  fetch?: FetchLike;
  logger?: Logger;
  now?: () => number;
  /** Where recovered SyncEvents go (default: the topic, through Pub/Sub). */
  publisher?: SyncEventPublisher;
}

export interface TickReport {
  tickId: string;
  at: string;
  blindVendors: Vendor[];
  tasks: Record<string, Record<string, number>>;
  ms: number;
}

export interface Sweep {
  tick(trigger?: { messageId?: string }): Promise<TickReport>;
  firestore: Firestore;
}

/**
 * The scheduled sweep: each tick runs its tasks in order against the clock and what they
 * read. Ticks may overlap, repeat or come late: every task is idempotent (decisions are
 * pure, writes guarded by what was read, messages claimed before they are sent), so
 * whatever ran twice changes nothing the second time.
 */
export function createSweep(config: SweepConfig, deps: SweepDependencies = {}): Sweep {
  const log = deps.logger ?? defaultLogger;
  const now = deps.now ?? Date.now;
  const firestore = deps.firestore ?? createFirestore(config.projectId);
  const http = { policy: config.retry, ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  const webhooks = new SlackClient({ ...http, allowedOrigins: config.slackWebhookOrigins });
  const fallback = config.slackFallbackWebhook && { slack: webhooks, webhook: config.slackFallbackWebhook };
  const slack = config.slackApp
    ? withFallback(appSender(new SlackApiClient({ ...http, token: config.slackApp.token, baseUrl: config.slackApiBaseUrl }), config.slackApp.channel, config.statusPageUrl), config.slackApp.channel, fallback)
    : config.slackWebhook
      ? webhookSender(webhooks, config.slackWebhook)
      : undefined;
  const store = new FreshnessStore(firestore, { connectorsCollection: config.connectorsCollection, freshnessCollection: config.freshnessCollection, timeoutMs: config.firestoreTimeoutMs });
  const configuredClients = {
    fivetran: config.fivetran && new FivetranClient({ ...config.fivetran, timeoutMs: config.vendorTimeoutMs, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
    airbyte: config.airbyte && new AirbyteClient({ ...config.airbyte, timeoutMs: config.vendorTimeoutMs, now, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
  };
  // Reconciliation runs first: what the vendors say (or that they cannot be read) is news for freshness.
  const before: SweepTask[] =
    configuredClients.fivetran || configuredClients.airbyte
      ? [createReconcileTask({ config, db: firestore, publisher: deps.publisher ?? new PubSubPublisher(config.topic, 10_000, config.projectId), ...configuredClients })]
      : [];
  const freshness = createFreshnessTask({ config, store, slack });
  // Runs of kinds that report nothing by themselves (Cloud Run executions, Airflow DAG runs): followed when the routing file names one.
  const followed = config.targets.cloudRunBaseUrl !== undefined || config.targets.airflow.size > 0;
  const runs = followed
    ? createRunsTask({
        store: new RunsStore(firestore, { followedRunsCollection: config.followedRunsCollection, auditCollection: config.auditCollection, jobStateCollection: config.jobStateCollection, timeoutMs: config.firestoreTimeoutMs, retentionMs: config.retentionDays * 86_400_000 }),
        targets: targetClients({ targets: { ...config.targets, http: new Map() } }, { policy: config.retry, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
        // Failed runs are alerted through webhooks (webhookOfRoute: an app route's through its fallback).
        slack: webhooks,
        webhook: config.webhookOf,
        linkOrigins: runLinkOrigins(config),
        leaseMs: config.leaseMs,
      })
    : undefined;
  const configured: Vendor[] = [...(config.fivetran ? (['fivetran'] as const) : []), ...(config.airbyte ? (['airbyte'] as const) : [])];

  async function tick(trigger: { messageId?: string } = {}): Promise<TickReport> {
    const started = performance.now();
    const tickId = randomUUID();
    const ctx: TickContext = {
      tickId,
      nowMs: now(),
      deadline: deadlineIn(config.budgetMs),
      log: log.child({ tickId, ...(trigger.messageId ? { messageId: trigger.messageId } : {}) }),
      blindVendors: new Set(),
      vendorFacts: new Map(),
      afterFreshness: [],
    };
    const tasks: Record<string, Record<string, number>> = {};
    for (const task of before) {
      try {
        tasks[task.name] = await task.run(ctx);
      } catch (error) {
        // Whatever the vendors would have told this tick is unknown: nobody of theirs gets a worse state now.
        for (const vendor of configured) ctx.blindVendors.add(vendor);
        ctx.log.error({ task: task.name, err: describeError(error), blindVendors: configured }, 'sweep task failed; its vendors are skipped this tick');
      }
    }
    tasks[freshness.name] = await freshness.run(ctx);
    for (const after of ctx.afterFreshness) await after();
    // Independent of freshness: a failure here is logged and the next tick picks the same runs up (each change is guarded).
    if (runs) {
      try {
        tasks[runs.name] = await runs.run(ctx);
      } catch (error) {
        ctx.log.error({ task: runs.name, err: describeError(error) }, 'sweep task failed; the next tick follows the same runs');
      }
    }
    const report = { tickId, at: new Date(ctx.nowMs).toISOString(), blindVendors: [...ctx.blindVendors], tasks, ms: Math.round(performance.now() - started) };
    ctx.log.info(report, 'sweep tick done');
    return report;
  }

  return { tick, firestore };
}

/** Links a run-failure alert may carry: the Cloud Run console and each Airflow's own web server. */
function runLinkOrigins(config: SweepConfig): string[] {
  const origins = new Set<string>(['https://console.cloud.google.com']);
  for (const target of config.targets.airflow.values()) origins.add(new URL(target.api).origin);
  return [...origins];
}
