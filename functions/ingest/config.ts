import { logLevel } from '../shared/logger.js';
import { Secret, secretCacheTtlMs, secretSetting, SHORT_SECRET_CHARS, type SecretOptions } from '../shared/secrets.js';
import { DBT_CLOUD_BASE_URL, SLACK_API_BASE_URL, SLACK_WEBHOOK_ORIGIN } from '../shared/vendor-hosts.js';
import { signingKeySetting } from '../shared/sync-event-signature.js';
import { auditRetentionDays, baseUrlSetting, ConfigError, firestoreId, integer, optionalString, projectId, readSlackWebhookOrigins, SettingsProblems, slackIdList } from '../shared/settings.js';
import type { Source } from './read-request.js';
import { SourceRanges } from './source-ranges.js';

export interface IngestConfig {
  projectId: string | undefined;
  /** Topic the SyncEvents are published to (a name, or a full projects/P/topics/T). */
  topic: string;
  maxBodyBytes: number;
  publishTimeoutMs: number;
  fivetranSecret: Secret;
  airbyteToken: Secret;
  dbtCloudSecret: Secret;
  /** The key every published SyncEvent is signed with (shared/sync-event-signature.ts): the newest enabled version. */
  signingKey: Secret;
  /** Networks each source's requests must come from; a source without an entry accepts any. */
  sourceRanges: Partial<Record<Source, SourceRanges>>;
  /** Proxies of the deployment's own between Google's front end and the function. */
  trustedProxyHops: number;
  /** An event received more than this long after it happened is published marked stale (the processor acts on none). */
  staleAfterMs: number;
  /** The Slack app's buttons (/slack/actions): who may press them and what they act through. */
  slack: SlackActionsSettings;
}

/** What the /slack/actions route reads (its code is loaded on the first button press only). */
export interface SlackActionsSettings {
  /** The Slack app's signing secret: every callback is verified with it (fail closed when unset). */
  signingSecret: Secret;
  /** The app's bot token: group membership, and the note in the message's thread. Optional unless groups are named. */
  botToken: Secret;
  apiBaseUrl: string;
  /** Slack user ids (U…/W…) and user group ids (S…) allowed to press postload's buttons; nobody when both are empty. */
  allowedUsers: string[];
  allowedGroups: string[];
  /** Origins a payload's response_url may point to: hooks.slack.com and SLACK_WEBHOOK_HOSTS. */
  responseOrigins: string[];
  /** The audit collection: each button action is recorded there with who pressed it, kept as long as events. */
  auditCollection: string;
  retentionDays: number;
  /** The sweep's freshness documents, where "snooze this connector" sets the pause (as `postload freshness pause` does). */
  freshnessCollection: string;
  /** dbt Cloud, for "retry this dbt run" (the processor's settings, the same values). */
  dbt: { baseUrl: string; accountId: string; token: Secret } | undefined;
}

type Env = Record<string, string | undefined>;

/**
 * The largest MAX_BODY_BYTES: a body of this size always fits one Pub/Sub message
 * (10 MB data + attributes) in the worst case, a quarantined body kept as JSON text, where
 * escaping can make each byte six (a control character becomes \u0001), plus the event's
 * own fields and attributes (under 64 KiB).
 */
export const MAX_BODY_BYTES_LIMIT = 1_600_000;

/** One line per source: the setting naming the networks its webhooks come from. */
const SOURCE_RANGE_SETTINGS: Record<Source | 'dbt-cloud', (env: Env) => SourceRanges | undefined> = {
  fivetran: (env) => sourceRanges(env, 'FIVETRAN_SOURCE_RANGES'),
  airbyte: (env) => sourceRanges(env, 'AIRBYTE_SOURCE_RANGES'),
  'dbt-cloud': (env) => sourceRanges(env, 'DBT_CLOUD_SOURCE_RANGES'),
};

/**
 * The ingest function's settings; the only place it reads the environment. Every bad
 * setting is reported, together (a ConfigErrors when there are several).
 */
export function loadIngestConfig(env: Env = process.env): IngestConfig {
  const problems = new SettingsProblems();
  // Read by the logger; checked here too, so that start-up and `postload check` name a bad value.
  problems.take(() => logLevel(env), undefined);
  const project = projectId(env);
  const secretOptions = {
    ttlMs: problems.take(() => secretCacheTtlMs(env), 300_000),
    warnShorterThan: SHORT_SECRET_CHARS,
    ...(project ? { projectId: project } : {}),
  };
  const ranges: Partial<Record<string, SourceRanges>> = {};
  for (const [source, read] of Object.entries(SOURCE_RANGE_SETTINGS)) {
    const parsed = problems.take(() => read(env), undefined);
    if (parsed) ranges[source] = parsed;
  }
  const unset = (name: string) => new Secret(name, undefined);
  const config: IngestConfig = {
    projectId: project,
    topic: optionalString(env, 'SYNC_EVENTS_TOPIC') ?? 'sync-events',
    maxBodyBytes: problems.take(() => integer(env, 'MAX_BODY_BYTES', 1024 * 1024, { min: 1024, max: MAX_BODY_BYTES_LIMIT }), 1024 * 1024),
    // Fivetran gives up after ~10 s; answer before it does.
    publishTimeoutMs: problems.take(() => integer(env, 'PUBLISH_TIMEOUT_MS', 8000, { min: 100, max: 60_000 }), 8000),
    fivetranSecret: problems.take(() => secretSetting(env, 'FIVETRAN_WEBHOOK_SECRET', secretOptions), unset('FIVETRAN_WEBHOOK_SECRET')),
    airbyteToken: problems.take(() => secretSetting(env, 'AIRBYTE_WEBHOOK_TOKEN', secretOptions), unset('AIRBYTE_WEBHOOK_TOKEN')),
    dbtCloudSecret: problems.take(() => secretSetting(env, 'DBT_CLOUD_WEBHOOK_SECRET', secretOptions), unset('DBT_CLOUD_WEBHOOK_SECRET')),
    signingKey: problems.take(() => signingKeySetting(env, secretOptions), unset('SYNC_EVENT_SIGNING_KEY')),
    sourceRanges: ranges,
    trustedProxyHops: problems.take(() => integer(env, 'TRUSTED_PROXY_HOPS', 0, { min: 0, max: 10 }), 0),
    staleAfterMs: problems.take(() => staleAge(env), 48) * HOUR_MS,
    slack: slackActionsSettings(env, secretOptions, problems),
  };
  problems.throwIfAny();
  return config;
}

const HOUR_MS = 3_600_000;

/**
 * STALE_EVENT_AGE_HOURS, which must be shorter than AUDIT_RETENTION_DAYS: Fivetran's and
 * dbt Cloud's signatures carry no time, so a captured webhook sent again is recognised as a
 * duplicate only while the processor still keeps its record. Anything older than the stale
 * age is published as stale and acted on by no one; inside it, the record still exists.
 */
function staleAge(env: Env): number {
  const retentionHours = auditRetentionDays(env) * 24;
  const hours = integer(env, 'STALE_EVENT_AGE_HOURS', Math.min(48, retentionHours - 1), { min: 1, max: 3650 * 24 - 1 });
  if (hours >= retentionHours) {
    throw new ConfigError('STALE_EVENT_AGE_HOURS', `must be shorter than AUDIT_RETENTION_DAYS (${retentionHours / 24} days, ${retentionHours} hours): an event older than the retention could be a replay that no audit record remembers; got ${hours}`);
  }
  return hours;
}

function sourceRanges(env: Env, name: string): SourceRanges | undefined {
  const value = optionalString(env, name);
  return value === undefined ? undefined : SourceRanges.parse(name, value);
}

/**
 * The Slack app's side of the ingest function. Every value is checked at start-up (cheap
 * string checks); the route's code, Firestore and dbt Cloud clients load with the first press.
 */
function slackActionsSettings(env: Env, secretOptions: SecretOptions, problems: SettingsProblems): SlackActionsSettings {
  const unset = (name: string) => new Secret(name, undefined);
  const settings: SlackActionsSettings = {
    signingSecret: problems.take(() => secretSetting(env, 'SLACK_SIGNING_SECRET', secretOptions), unset('SLACK_SIGNING_SECRET')),
    botToken: problems.take(() => secretSetting(env, 'SLACK_BOT_TOKEN', secretOptions), unset('SLACK_BOT_TOKEN')),
    apiBaseUrl: problems.take(() => baseUrlSetting(env, 'SLACK_API_BASE_URL', SLACK_API_BASE_URL), SLACK_API_BASE_URL),
    allowedUsers: problems.take(() => slackIdList(env, 'SLACK_ACTION_USERS', 'UW', 'user'), []),
    allowedGroups: problems.take(() => slackIdList(env, 'SLACK_ACTION_GROUPS', 'S', 'user group'), []),
    responseOrigins: problems.take(() => readSlackWebhookOrigins(env, 'SLACK_WEBHOOK_HOSTS'), [SLACK_WEBHOOK_ORIGIN]),
    auditCollection: problems.take(() => firestoreId(env, 'AUDIT_COLLECTION', 'syncEvents'), 'syncEvents'),
    retentionDays: problems.take(() => auditRetentionDays(env), 90),
    freshnessCollection: problems.take(() => firestoreId(env, 'FRESHNESS_COLLECTION', 'freshness'), 'freshness'),
    dbt: undefined,
  };
  if (settings.allowedGroups.length && settings.signingSecret.configured && !settings.botToken.configured) {
    problems.add(new ConfigError('SLACK_BOT_TOKEN', 'is not set, but SLACK_ACTION_GROUPS names user groups: their members are read with the bot token (usergroups:read)'));
  }
  const token = problems.take(() => secretSetting(env, 'DBT_CLOUD_API_TOKEN', secretOptions), unset('DBT_CLOUD_API_TOKEN'));
  const accountId = optionalString(env, 'DBT_CLOUD_ACCOUNT_ID');
  if (accountId !== undefined && !/^\d+$/.test(accountId)) problems.add(new ConfigError('DBT_CLOUD_ACCOUNT_ID', `must be a number, got "${accountId}"`));
  const baseUrl = problems.take(() => baseUrlSetting(env, 'DBT_CLOUD_BASE_URL', DBT_CLOUD_BASE_URL), DBT_CLOUD_BASE_URL);
  if (token.configured && accountId !== undefined) settings.dbt = { baseUrl, accountId, token };
  return settings;
}
