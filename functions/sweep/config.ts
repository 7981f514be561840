import type { RetryPolicy } from '../processor/clients/http-retry.js';
import { readSlackWebhookOrigins } from '../processor/config.js';
import { appTargetOf, DEFAULT_BOT_TOKEN, DEFAULT_WEBHOOK, loadRoutingConfig, type LoadedRouting } from '../processor/planning/routing.js';
import { SLACK_API_BASE_URL } from '../shared/vendor-hosts.js';
import { JOIN_STATE_COLLECTION } from '../processor/planning/join-state.js';
import { TARGET_STATE_COLLECTION } from '../processor/planning/target-state.js';
import { FOLLOWED_RUNS_COLLECTION } from '../processor/store/followed-run.js';
import { readTargetSettings, type TargetSettings } from '../processor/targets/settings.js';
import { Secret, secretCacheTtlMs, secretSetting, SHORT_SECRET_CHARS, type SecretOptions } from '../shared/secrets.js';
import { signingKeySetting } from '../shared/sync-event-signature.js';
import { baseUrlSetting, ConfigError, firestoreId, integer, optionalString, projectId, requiredString, SettingsProblems } from '../shared/settings.js';
import { AIRBYTE_API_BASE_URL } from '../vendors/airbyte.js';
import { FIVETRAN_API_BASE_URL } from '../vendors/fivetran.js';
import { compileFreshness, type FreshnessSettings } from './freshness/rules.js';

type Env = Record<string, string | undefined>;

export interface FivetranApiSettings {
  baseUrl: string;
  apiKey: Secret;
  apiSecret: Secret;
  /** Only this destination group's connections (FIVETRAN_GROUP_ID); all the key sees when unset. */
  groupId: string | undefined;
}

export interface AirbyteApiSettings {
  baseUrl: string;
  clientId: Secret;
  clientSecret: Secret;
  /** AIRBYTE_WORKSPACE_IDS; every workspace the application may read when empty. */
  workspaceIds: string[];
}

export interface SweepConfig {
  projectId: string | undefined;
  routing: LoadedRouting;
  freshness: FreshnessSettings;
  /** Where freshness alerts go; undefined when no webhook is set (alerts are then only logged). */
  slackWebhook: Secret | undefined;
  /** Or the Slack app: its channel and bot token (an incident is one message, threaded). */
  slackApp: { channel: string; token: Secret } | undefined;
  /** With the app: the webhook told when Slack refuses it for good (the routing file's slack.fallbackWebhook), when set. */
  slackFallbackWebhook: Secret | undefined;
  /** The Web API (SLACK_API_BASE_URL), and the status page for the alert's button (SLACK_STATUS_PAGE_URL). */
  slackApiBaseUrl: string;
  statusPageUrl: string | undefined;
  /** Origins that webhook may point to (SLACK_WEBHOOK_HOSTS, as for the processor). */
  slackWebhookOrigins: string[];
  connectorsCollection: string;
  freshnessCollection: string;
  /** sweep/state and the vendor snapshots. */
  sweepCollection: string;
  auditCollection: string;
  joinsCollection: string;
  /** The run logs of the targets (JOB_STATE_COLLECTION, as the processor's): a run the sweep saw end, or started for a deferred batch. */
  jobStateCollection: string;
  /** The runs the sweep follows to their end (FOLLOWED_RUNS_COLLECTION, as the processor's; issue 28). */
  followedRunsCollection: string;
  /** The Cloud Run jobs and Airflow DAGs of the routing file (their API addresses and credentials), to follow their runs. */
  targets: TargetSettings;
  /** A route's webhook by its reference (env:VARIABLE or sm://…): where a followed run's failure is alerted; undefined when not set. */
  webhookOf: (reference: string) => Secret | undefined;
  /** Where recovered SyncEvents are published (the ingest function's topic). */
  topic: string;
  /** The key recovered SyncEvents are signed with, as ingest signs (SYNC_EVENT_SIGNING_KEY): the processor acts on nothing else. */
  signingKey: Secret;
  /** Present when both credentials are set: reconciliation and vendor schedules for that vendor. */
  fivetran: FivetranApiSettings | undefined;
  airbyte: AirbyteApiSettings | undefined;
  /** Time for one tick, all of it (keep it under the function's timeout). */
  budgetMs: number;
  vendorTimeoutMs: number;
  /** A vendor's sync is recovered only once it ended this long ago without its webhook (the webhook's own retries come first). */
  reconcileAfterMs: number;
  /** Syncs that ended longer ago than this are never recovered (an old sync has no dbt run left to start). */
  reconcileLookbackMs: number;
  /** How long a sweep holds a Slack message it is sending; another sweep may send it after that. */
  leaseMs: number;
  firestoreTimeoutMs: number;
  retentionDays: number;
  retry: RetryPolicy;
}

/**
 * The sweep's settings, every one checked: a malformed freshness section or setting throws
 * a ConfigError naming the field or variable, so the function refuses to start (and
 * `postload check` reports it) instead of failing on every tick.
 */
export function readSweepConfig(env: Env = process.env): SweepConfig {
  const project = projectId(env);
  const routing = loadRoutingConfig(requiredString(env, 'ROUTING_CONFIG', 'set it to the path of a routing file or to inline JSON (see schemas/routing-config.schema.json)'));
  const freshness = compileFreshness(routing);
  const ttlMs = secretCacheTtlMs(env);
  const options: SecretOptions = { warnShorterThan: SHORT_SECRET_CHARS, ttlMs, ...(project ? { projectId: project } : {}) };
  // Vendor API credentials are the vendor's to choose (a Fivetran API key is 16 characters): no length warning.
  const vendorOptions: SecretOptions = { ttlMs, ...(project ? { projectId: project } : {}) };
  const budgetMs = integer(env, 'SWEEP_BUDGET_MS', 240_000, { min: 1_000, max: 3_600_000 });
  const signingKey = signingKeySetting(env, options);
  const reconcileAfterMs = integer(env, 'RECONCILE_AFTER_SECONDS', 900, { min: 60, max: 3_600 }) * 1000;
  const reconcileLookbackMs = integer(env, 'RECONCILE_LOOKBACK_HOURS', 24, { min: 2, max: 168 }) * 3_600_000;
  const fivetran = vendorPair(secretSetting(env, 'FIVETRAN_API_KEY', vendorOptions), secretSetting(env, 'FIVETRAN_API_SECRET', vendorOptions), (apiKey, apiSecret) => ({
    baseUrl: baseUrlSetting(env, 'FIVETRAN_API_BASE_URL', FIVETRAN_API_BASE_URL),
    apiKey,
    apiSecret,
    groupId: optionalString(env, 'FIVETRAN_GROUP_ID'),
  }));
  const airbyte = vendorPair(secretSetting(env, 'AIRBYTE_API_CLIENT_ID', vendorOptions), secretSetting(env, 'AIRBYTE_API_CLIENT_SECRET', vendorOptions), (clientId, clientSecret) => ({
    baseUrl: baseUrlSetting(env, 'AIRBYTE_API_BASE_URL', AIRBYTE_API_BASE_URL),
    clientId,
    clientSecret,
    workspaceIds: workspaceIds(env),
  }));
  if ((fivetran || airbyte) && !signingKey.configured) {
    throw new ConfigError('SYNC_EVENT_SIGNING_KEY', 'is not set: reconciliation publishes the syncs whose webhooks never arrived, signed as ingest signs them; set it to the same key (or sm:// reference) as the ingest function');
  }
  const problems = new SettingsProblems();
  const targets = readTargetSettings(env, routing.config, options, problems);
  problems.throwIfAny();
  return {
    projectId: project,
    routing,
    freshness,
    slackWebhook: appTargetOf(freshness.webhook) ? undefined : slackWebhook(env, freshness.webhook, options),
    slackApp: slackApp(env, freshness.webhook, options),
    slackFallbackWebhook: appTargetOf(freshness.webhook) && routing.config.slack?.fallbackWebhook ? slackWebhook(env, routing.config.slack.fallbackWebhook, options) : undefined,
    slackApiBaseUrl: baseUrlSetting(env, 'SLACK_API_BASE_URL', SLACK_API_BASE_URL),
    statusPageUrl: optionalString(env, 'SLACK_STATUS_PAGE_URL') === undefined ? undefined : baseUrlSetting(env, 'SLACK_STATUS_PAGE_URL', 'http://127.0.0.1:8089'),
    slackWebhookOrigins: readSlackWebhookOrigins(env, 'SLACK_WEBHOOK_HOSTS'),
    connectorsCollection: firestoreId(env, 'CONNECTORS_COLLECTION', 'connectors'),
    freshnessCollection: firestoreId(env, 'FRESHNESS_COLLECTION', 'freshness'),
    sweepCollection: firestoreId(env, 'SWEEP_COLLECTION', 'sweep'),
    auditCollection: firestoreId(env, 'AUDIT_COLLECTION', 'syncEvents'),
    joinsCollection: firestoreId(env, 'JOINS_COLLECTION', JOIN_STATE_COLLECTION),
    jobStateCollection: firestoreId(env, 'JOB_STATE_COLLECTION', TARGET_STATE_COLLECTION),
    followedRunsCollection: firestoreId(env, 'FOLLOWED_RUNS_COLLECTION', FOLLOWED_RUNS_COLLECTION),
    targets,
    webhookOf: (reference) => slackWebhook(env, reference, options),
    topic: optionalString(env, 'SYNC_EVENTS_TOPIC') ?? 'sync-events',
    signingKey,
    fivetran,
    airbyte,
    budgetMs,
    vendorTimeoutMs: integer(env, 'VENDOR_API_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    reconcileAfterMs,
    reconcileLookbackMs,
    leaseMs: Math.max(60_000, budgetMs),
    firestoreTimeoutMs: integer(env, 'FIRESTORE_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    retentionDays: integer(env, 'AUDIT_RETENTION_DAYS', 90, { min: 1, max: 3650 }),
    retry: {
      callTimeoutMs: integer(env, 'OUTBOUND_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
      minDelayMs: integer(env, 'OUTBOUND_RETRY_MIN_DELAY_MS', 500, { min: 0, max: 60_000 }),
      maxDelayMs: integer(env, 'OUTBOUND_RETRY_MAX_DELAY_MS', 8_000, { min: 0, max: 600_000 }),
      // A Slack message the sweep could not send is retried by the next tick, not in a loop here.
      maxAttempts: integer(env, 'OUTBOUND_MAX_ATTEMPTS', 2, { min: 1, max: 20 }),
    },
  };
}

/** The freshness webhook as the processor reads webhooks: env:VARIABLE (SLACK_WEBHOOK_URL by default) or an sm:// reference. */
function slackWebhook(env: Env, reference: string, options: SecretOptions): Secret | undefined {
  const secret =
    reference === DEFAULT_WEBHOOK
      ? secretSetting(env, 'SLACK_WEBHOOK_URL', options)
      : reference.startsWith('env:')
        ? secretSetting(env, reference.slice('env:'.length), options)
        : new Secret(`routing webhook ${reference}`, reference, options);
  return secret.configured ? secret : undefined;
}

/** The freshness target when it is the Slack app: its channel and bot token, which must be set (naming the app is asking for it). */
function slackApp(env: Env, reference: string, options: SecretOptions): { channel: string; token: Secret } | undefined {
  const app = appTargetOf(reference);
  if (!app) return undefined;
  const token =
    app.token === DEFAULT_BOT_TOKEN
      ? secretSetting(env, 'SLACK_BOT_TOKEN', options)
      : app.token.startsWith('env:')
        ? secretSetting(env, app.token.slice('env:'.length), options)
        : new Secret(`routing bot token ${app.token}`, app.token, options);
  if (!token.configured) throw new ConfigError(token.setting, `is not set; freshness alerts go to Slack channel ${app.channel} through the Slack app: set it to the app's Bot User OAuth Token (xoxb-…) or an sm:// reference`);
  return { channel: app.channel, token };
}

/** Both credentials of a vendor API, or neither: one without the other is a mistake worth refusing. */
function vendorPair<T>(a: Secret, b: Secret, build: (a: Secret, b: Secret) => T): T | undefined {
  if (!a.configured && !b.configured) return undefined;
  if (!a.configured || !b.configured) {
    const [missing, set] = a.configured ? [b.setting, a.setting] : [a.setting, b.setting];
    throw new ConfigError(missing, `is not set, but ${set} is: set both (the API's credentials, values or sm:// references) or neither`);
  }
  return build(a, b);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function workspaceIds(env: Env): string[] {
  const ids = (optionalString(env, 'AIRBYTE_WORKSPACE_IDS') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ids.find((id) => !UUID.test(id));
  if (bad) throw new ConfigError('AIRBYTE_WORKSPACE_IDS', `"${bad}" is not a workspace id (a UUID); give a comma-separated list`);
  return ids;
}
