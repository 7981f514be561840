import { logLevel } from '../shared/logger.js';
import { secretManagerClient } from '../shared/secret-manager-client.js';
import { Secret, secretCacheTtlMs, secretSetting, SHORT_SECRET_CHARS, type SecretOptions } from '../shared/secrets.js';
import { auditRetentionDays, baseUrlSetting, ConfigError, firestoreId, integer, optionalString, originsSetting, projectId, readSlackWebhookOrigins, requiredString, SettingsProblems } from '../shared/settings.js';
import { SLACK_API_BASE_URL } from '../shared/vendor-hosts.js';
import { signingKeySetting } from '../shared/sync-event-signature.js';
import { DBT_CLOUD_BASE_URL } from '../vendors/dbt-cloud.js';
import type { RetryPolicy } from './clients/http-retry.js';
import { linkPolicy, type LinkPolicy } from './clients/slack-message.js';
import { SLACK_WEBHOOK_ORIGIN, webhookProblem } from './clients/slack.js';
import { allWebhooks, appTargetOf, DEFAULT_BOT_TOKEN, DEFAULT_WEBHOOK, loadRoutingConfig, namesDbtJobs, notifyingWebhooks, type LoadedRouting } from './planning/routing.js';
import { TARGET_STATE_COLLECTION } from './planning/target-state.js';
import { JOIN_STATE_COLLECTION } from './planning/join-state.js';
import { FOLLOWED_RUNS_COLLECTION } from './store/followed-run.js';
import { noTargets, readTargetSettings, type TargetSettings } from './targets/settings.js';

type Env = Record<string, string | undefined>;

export interface DbtCloudSettings {
  /** e.g. https://cloud.getdbt.com or https://ab123.us1.dbt.com, without a trailing slash. */
  baseUrl: string;
  accountId: string;
  token: Secret;
}

/** One Slack app target: where its messages go and the bot token they are posted with. */
export interface SlackAppSettings {
  channel: string;
  token: Secret;
}

export interface ProcessorConfig {
  projectId: string | undefined;
  /** The key SyncEvents are signed with: a message no enabled version verifies is refused (shared/sync-event-signature.ts). */
  signingKey: Secret;
  routing: LoadedRouting;
  /** Present when the routing file names dbt jobs. */
  dbt: DbtCloudSettings | undefined;
  /** Slack webhooks by their routing reference (env:VARIABLE or sm://...); only those that are set. */
  slackWebhooks: Map<string, Secret>;
  /** Slack app targets by their routing reference (slack-app:<channel>): the channel and its bot token; only those whose token is set. */
  slackApps: Map<string, SlackAppSettings>;
  /** The Web API's base URL (SLACK_API_BASE_URL: https://slack.com/api, or the local stand-in). */
  slackApiBaseUrl: string;
  /** The webhook told when the Slack app cannot post at all (the routing file's slack.fallbackWebhook), when set. */
  slackFallbackWebhook: string | undefined;
  /** The operator's status page (SLACK_STATUS_PAGE_URL): app messages get an "open in the status page" button. */
  statusPageUrl: string | undefined;
  /** dbt Cloud's account and token are set (whether or not routes start jobs): a failed run's app message offers "retry this dbt run". */
  dbtRetry: boolean;
  /** Where links in Slack messages may point (the dbt Cloud origin, each vendor's own hosts). */
  slackLinks: LinkPolicy;
  /** Origins Slack webhook URLs may point to: https://hooks.slack.com and those SLACK_WEBHOOK_HOSTS adds. */
  slackWebhookOrigins: string[];
  auditCollection: string;
  connectorsCollection: string;
  /** Run targets' state for coalescing (`<collection>/<kind>-<id>` and its run log `…#runs`, issue 26). */
  jobStateCollection: string;
  /** How far apart one target's batches close (COALESCE_WINDOW_MS): the write rate its state documents take under a burst. */
  coalesceWindowMs: number;
  /** One document per join (`<collection>/<join name>`, issue 12). */
  joinsCollection: string;
  /** Runs the sweep follows to their end (`<collection>/<event id>.<action id>`, issue 28). */
  followedRunsCollection: string;
  /** What the Cloud Run jobs, Airflow DAGs and HTTP calls of the routing file need (issue 28). */
  targets: TargetSettings;
  retentionDays: number;
  /** Per-call timeout and backoff of every dbt Cloud and Slack request. */
  retry: RetryPolicy;
  /** Time for all outbound calls of one invocation; keep it under the function's timeout. */
  outboundBudgetMs: number;
  /** How long a claimed action is reserved for the delivery that claimed it. */
  leaseMs: number;
  /** Each Firestore operation is given up (as transient) after this long. */
  firestoreTimeoutMs: number;
  /** The subscription's max_delivery_attempts: the delivery that reaches it sends the final alert. */
  maxDeliveryAttempts: number;
}

/**
 * Reads and checks every processor setting. Throws a ConfigError naming the variable (or
 * the routing file's field) when something is missing or malformed, every such problem at
 * once (a ConfigErrors when there are several): the function then fails at start-up
 * instead of on every event, and one round of fixes is enough.
 */
export function readProcessorConfig(env: Env = process.env): ProcessorConfig {
  const problems = new SettingsProblems();
  // Read by the logger; checked here too, so that start-up and `postload check` name a bad value.
  problems.take(() => logLevel(env), undefined);
  const project = projectId(env);
  const routing = problems.take(
    () => loadRoutingConfig(requiredString(env, 'ROUTING_CONFIG', 'set it to the path of a routing file or to inline JSON (see schemas/routing-config.schema.json)')),
    undefined,
  );

  const outboundBudgetMs = problems.take(() => integer(env, 'OUTBOUND_BUDGET_MS', 45_000, { min: 100, max: 3_600_000 }), 45_000);
  const leaseMs = problems.take(() => integer(env, 'ACTION_LEASE_SECONDS', 120, { min: 1, max: 86_400 }), 120) * 1000;
  if (leaseMs <= outboundBudgetMs) {
    problems.add(new ConfigError('ACTION_LEASE_SECONDS', `must be longer than OUTBOUND_BUDGET_MS (${outboundBudgetMs} ms), or a delivery still working could lose its claim`));
  }

  const coalesceWindowMs = problems.take(() => integer(env, 'COALESCE_WINDOW_MS', 1000, { min: 50, max: 3000 }), 1000);
  if (coalesceWindowMs * 2 > outboundBudgetMs) {
    problems.add(new ConfigError('COALESCE_WINDOW_MS', `must be at most half of OUTBOUND_BUDGET_MS (${outboundBudgetMs} ms): a batch's holder waits for its batch to close before it starts the run`));
  }

  // Both functions' secrets: cached as SECRET_CACHE_TTL_SECONDS says, warned about when short.
  const secrets: SecretOptions = {
    warnShorterThan: SHORT_SECRET_CHARS,
    ttlMs: problems.take(() => secretCacheTtlMs(env), 300_000),
    client: () => secretManagerClient(env),
    ...(project ? { projectId: project } : {}),
  };
  const signingKey = problems.take(() => signingKeySetting(env, secrets), undefined);
  const slackWebhookOrigins = problems.take(() => readSlackWebhookOrigins(env, 'SLACK_WEBHOOK_HOSTS'), [SLACK_WEBHOOK_ORIGIN]);
  if (signingKey && !signingKey.configured) {
    problems.add(
      new ConfigError(
        signingKey.setting,
        'is not set; set it to the key the ingest function signs SyncEvents with (the same value, or the same sm:// Secret Manager secret): the processor acts on no message without it',
      ),
    );
  }
  const config = {
    projectId: project,
    // The settings that depend on the routing file are read only when it could be.
    dbt: routing && namesDbtJobs(routing) ? problems.take(() => readDbtCloud(env, secrets), undefined) : undefined,
    ...(routing ? readSlackTargets(env, routing, secrets, slackWebhookOrigins, problems) : { slackWebhooks: new Map<string, Secret>(), slackApps: new Map<string, SlackAppSettings>() }),
    slackApiBaseUrl: problems.take(() => baseUrlSetting(env, 'SLACK_API_BASE_URL', SLACK_API_BASE_URL), SLACK_API_BASE_URL),
    slackFallbackWebhook: routing?.config.slack?.fallbackWebhook,
    statusPageUrl: problems.take(() => optionalBaseUrl(env, 'SLACK_STATUS_PAGE_URL'), undefined),
    dbtRetry: optionalString(env, 'DBT_CLOUD_ACCOUNT_ID') !== undefined && optionalString(env, 'DBT_CLOUD_API_TOKEN') !== undefined,
    slackWebhookOrigins,
    slackLinks: problems.take(() => linkPolicy(baseUrlSetting(env, 'DBT_CLOUD_BASE_URL', DBT_CLOUD_BASE_URL), originsSetting(env, 'SLACK_LINK_HOSTS', { bareHosts: true })), undefined),
    auditCollection: problems.take(() => firestoreId(env, 'AUDIT_COLLECTION', 'syncEvents'), 'syncEvents'),
    connectorsCollection: problems.take(() => firestoreId(env, 'CONNECTORS_COLLECTION', 'connectors'), 'connectors'),
    jobStateCollection: problems.take(() => firestoreId(env, 'JOB_STATE_COLLECTION', TARGET_STATE_COLLECTION), TARGET_STATE_COLLECTION),
    coalesceWindowMs,
    joinsCollection: problems.take(() => firestoreId(env, 'JOINS_COLLECTION', JOIN_STATE_COLLECTION), JOIN_STATE_COLLECTION),
    followedRunsCollection: problems.take(() => firestoreId(env, 'FOLLOWED_RUNS_COLLECTION', FOLLOWED_RUNS_COLLECTION), FOLLOWED_RUNS_COLLECTION),
    targets: routing ? readTargetSettings(env, routing.config, secrets, problems) : noTargets(),
    retentionDays: problems.take(() => auditRetentionDays(env), 90),
    retry: {
      callTimeoutMs: problems.take(() => integer(env, 'OUTBOUND_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }), 10_000),
      minDelayMs: problems.take(() => integer(env, 'OUTBOUND_RETRY_MIN_DELAY_MS', 500, { min: 0, max: 60_000 }), 500),
      maxDelayMs: problems.take(() => integer(env, 'OUTBOUND_RETRY_MAX_DELAY_MS', 8_000, { min: 0, max: 600_000 }), 8_000),
      maxAttempts: problems.take(() => integer(env, 'OUTBOUND_MAX_ATTEMPTS', 5, { min: 1, max: 20 }), 5),
    },
    outboundBudgetMs,
    leaseMs,
    firestoreTimeoutMs: problems.take(() => integer(env, 'FIRESTORE_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }), 10_000),
    // Pub/Sub allows 5 to 100; Terraform passes the subscription's value.
    maxDeliveryAttempts: problems.take(() => integer(env, 'MAX_DELIVERY_ATTEMPTS', 10, { min: 5, max: 100 }), 10),
  };
  problems.throwIfAny();
  // No problem found: what a problem would have left undefined is set.
  return { ...config, routing: routing!, signingKey: signingKey!, slackLinks: config.slackLinks! };
}

function readDbtCloud(env: Env, options: SecretOptions): DbtCloudSettings {
  const problems = new SettingsProblems();
  const hint = 'the routing file names dbt Cloud jobs';
  const accountId = problems.take(() => requiredString(env, 'DBT_CLOUD_ACCOUNT_ID', `${hint}; set it to the number in your dbt Cloud URLs (/deploy/ACCOUNT/...)`), '');
  if (accountId && !/^\d+$/.test(accountId)) problems.add(new ConfigError('DBT_CLOUD_ACCOUNT_ID', `must be a number, got "${accountId}"`));
  const token = problems.take(() => secretSetting(env, 'DBT_CLOUD_API_TOKEN', options), undefined);
  if (token && !token.configured) {
    problems.add(new ConfigError('DBT_CLOUD_API_TOKEN', `is not set; ${hint}: set it to a service token or to an sm:// Secret Manager reference`));
  }
  // The Slack link policy reads DBT_CLOUD_BASE_URL too: a bad one is reported once (SettingsProblems.add).
  const url = problems.take(() => baseUrlSetting(env, 'DBT_CLOUD_BASE_URL', DBT_CLOUD_BASE_URL), '');
  problems.throwIfAny();
  return { baseUrl: url, accountId, token: token! };
}

export { readSlackWebhookOrigins };

/**
 * The Slack targets the routing file refers to: webhooks, and Slack app targets with their
 * bot tokens. Slack is optional: with no SLACK_WEBHOOK_URL (the default webhook) no message
 * goes to Slack, and each is logged instead. A webhook or bot token the routing file names
 * itself (env:OTHER, sm://..., or an app target) and notifies through must be set: naming it
 * is asking for it, and a deployment that does not provide it is misconfigured. Every
 * problem goes to `problems`.
 */
function readSlackTargets(
  env: Env,
  routing: LoadedRouting,
  options: SecretOptions,
  allowedOrigins: readonly string[],
  problems: SettingsProblems,
): { slackWebhooks: Map<string, Secret>; slackApps: Map<string, SlackAppSettings> } {
  const required = notifyingWebhooks(routing);
  required.delete(DEFAULT_WEBHOOK);
  const webhooks = new Map<string, Secret>();
  const apps = new Map<string, SlackAppSettings>();
  for (const reference of allWebhooks(routing)) {
    const app = appTargetOf(reference);
    if (app) {
      const token = problems.take(() => botToken(env, app.token, options), undefined);
      if (!token) continue;
      const literal = token.configured ? token.valuesAtHand()?.[0]?.toString('utf8') : undefined;
      if (literal !== undefined && !literal.startsWith('xoxb-')) problems.add(new ConfigError(token.setting, 'is not a bot token: use the Slack app\'s Bot User OAuth Token (xoxb-…, OAuth & Permissions page) or an sm:// reference'));
      else if (token.configured) apps.set(reference, { channel: app.channel, token });
      else if (required.has(reference)) {
        problems.add(new ConfigError(token.setting, `is not set; the routing file (${routing.source}) posts to Slack channel ${app.channel} through the Slack app: set it to the app's Bot User OAuth Token (xoxb-…) or to an sm:// Secret Manager reference (docs/slack-app.md)`));
      }
      continue;
    }
    const secret = problems.take(
      () =>
        reference === DEFAULT_WEBHOOK
          ? secretSetting(env, 'SLACK_WEBHOOK_URL', options)
          : reference.startsWith('env:')
            ? secretSetting(env, reference.slice('env:'.length), options)
            : new Secret(`routing webhook ${reference}`, reference, options),
      undefined,
    );
    if (!secret) continue;
    if (secret.configured) {
      // A literal value is checked now; one read from Secret Manager when it is sent (clients/slack.ts).
      const literal = secret.valuesAtHand()?.[0]?.toString('utf8');
      const problem = literal === undefined ? undefined : webhookProblem(literal, allowedOrigins);
      if (problem) problems.add(new ConfigError(secret.setting, problem));
      else webhooks.set(reference, secret);
    } else if (required.has(reference)) {
      problems.add(
        new ConfigError(
          secret.setting,
          `is not set; the routing file (${routing.source}) sends Slack messages to it: set it to the webhook URL or to an sm:// Secret Manager reference, or set "notify": [] for those routes`,
        ),
      );
    }
  }
  return { slackWebhooks: webhooks, slackApps: apps };
}

/** A Slack app target's bot token: SLACK_BOT_TOKEN by default, another variable, or a Secret Manager reference. */
function botToken(env: Env, reference: string, options: SecretOptions): Secret {
  if (reference === DEFAULT_BOT_TOKEN) return secretSetting(env, 'SLACK_BOT_TOKEN', options);
  if (reference.startsWith('env:')) return secretSetting(env, reference.slice('env:'.length), options);
  return new Secret(`routing bot token ${reference}`, reference, options);
}

/** An optional http(s) base URL (no query or credentials), without a trailing slash. */
function optionalBaseUrl(env: Env, name: string): string | undefined {
  return optionalString(env, name) === undefined ? undefined : baseUrlSetting(env, name, '');
}
