import { fileURLToPath } from 'node:url';
import { ConfigError, integer, optionalString } from '../shared/settings.js';

type Env = Record<string, string | undefined>;

/** The routing file `npm start` uses unless ROUTING_CONFIG is set (the same path from functions/local and dist/local). */
export const DEFAULT_ROUTING_FILE = fileURLToPath(new URL('../../functions/local/routing.local.json', import.meta.url));

/**
 * Development-only secrets: fine on a laptop, never for a deployment (they are public). Each
 * is at least SHORT_SECRET_CHARS long, so the functions' short-secret warning, meant for a
 * deployment's values, says nothing about the values `npm start` sets itself.
 */
export const DEVELOPMENT_SECRETS = {
  FIVETRAN_WEBHOOK_SECRET: 'local-fivetran-secret-for-development',
  AIRBYTE_WEBHOOK_TOKEN: 'local-airbyte-token-for-development',
  DBT_CLOUD_WEBHOOK_SECRET: 'local-dbt-cloud-secret-for-development',
  DBT_CLOUD_API_TOKEN: 'local-dbt-cloud-token-for-development',
  SYNC_EVENT_SIGNING_KEY: 'local-sync-event-signing-key-for-development-only',
  SLACK_SIGNING_SECRET: 'local-slack-signing-secret-for-development',
} as const;

/** The Slack user the local stack allows to press postload's buttons (the stand-in's workspace has no one else who may). */
export const LOCAL_SLACK_OPERATOR = 'U0LOCALOPS';

export const LOCAL_PROJECT_ID = 'postload-local';

/** A port setting: a number, or 0 for one the OS picks. */
export interface LocalPorts {
  ingest: number;
  processor: number;
  dbt: number;
  slack: number;
  pubsub: number;
  firestore: number;
  /** The status page (`postload ui`) that `npm start` serves. */
  ui: number;
}

/** Everything the local stack needs to know, read once from the environment. */
export interface LocalSettings {
  projectId: string;
  topic: string;
  ports: LocalPorts;
  /** host:port of running emulators to use instead of starting them. */
  pubsubEmulatorHost: string | undefined;
  firestoreEmulatorHost: string | undefined;
  /** Set: the real (or another) dbt Cloud / Slack is used and no stand-in starts. */
  dbtCloudBaseUrl: string | undefined;
  slackWebhookUrl: string | undefined;
  /** Set: that Fivetran / Airbyte API is used (with the credentials in the environment) and no stand-in starts. */
  fivetranApiBaseUrl: string | undefined;
  airbyteApiBaseUrl: string | undefined;
  /** Seconds between the local sweep's ticks (0: none). */
  sweepTickSeconds: number;
  /** ROUTING_CONFIG as given: a path or inline JSON. */
  routing: string;
  fivetranSecret: string;
  airbyteToken: string;
  dbtCloudWebhookSecret: string;
  dbtAccountId: string;
  dbtApiToken: string;
  /** The key both functions sign and verify SyncEvents with. */
  syncEventSigningKey: string;
  /** The Slack app's signing secret the stand-in signs button presses with (docs/slack-app.md). */
  slackSigningSecret: string;
}

/** The table docs/development.md shows, kept next to the code that reads the settings. */
export const PORT_SETTINGS: ReadonlyArray<{ variable: string; port: keyof LocalPorts; fallback: number }> = [
  { variable: 'INGEST_PORT', port: 'ingest', fallback: 8080 },
  { variable: 'PROCESSOR_PORT', port: 'processor', fallback: 8081 },
  { variable: 'DBT_PORT', port: 'dbt', fallback: 8082 },
  { variable: 'SLACK_PORT', port: 'slack', fallback: 8083 },
  { variable: 'PUBSUB_PORT', port: 'pubsub', fallback: 8085 },
  { variable: 'FIRESTORE_PORT', port: 'firestore', fallback: 8086 },
  { variable: 'UI_PORT', port: 'ui', fallback: 8089 },
];

/**
 * Reads the local stack's settings. `anyFreePort` makes every port the user did not set
 * one the OS picks (the demo and the tests use it so they never collide with `npm start`).
 */
export function readLocalSettings(env: Env = process.env, { anyFreePort = false } = {}): LocalSettings {
  const ports = Object.fromEntries(
    PORT_SETTINGS.map(({ variable, port, fallback }) => [port, integer(env, variable, anyFreePort ? 0 : fallback, { min: 0, max: 65_535 })]),
  ) as unknown as LocalPorts;
  return {
    projectId: optionalString(env, 'GOOGLE_CLOUD_PROJECT') ?? LOCAL_PROJECT_ID,
    topic: optionalString(env, 'SYNC_EVENTS_TOPIC') ?? 'sync-events',
    ports,
    pubsubEmulatorHost: emulatorHost(env, 'PUBSUB_EMULATOR_HOST'),
    firestoreEmulatorHost: emulatorHost(env, 'FIRESTORE_EMULATOR_HOST'),
    dbtCloudBaseUrl: optionalString(env, 'DBT_CLOUD_BASE_URL'),
    slackWebhookUrl: optionalString(env, 'SLACK_WEBHOOK_URL'),
    fivetranApiBaseUrl: optionalString(env, 'FIVETRAN_API_BASE_URL'),
    airbyteApiBaseUrl: optionalString(env, 'AIRBYTE_API_BASE_URL'),
    sweepTickSeconds: integer(env, 'SWEEP_TICK_SECONDS', 15, { min: 0, max: 3600 }),
    routing: optionalString(env, 'ROUTING_CONFIG') ?? DEFAULT_ROUTING_FILE,
    fivetranSecret: optionalString(env, 'FIVETRAN_WEBHOOK_SECRET') ?? DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET,
    airbyteToken: optionalString(env, 'AIRBYTE_WEBHOOK_TOKEN') ?? DEVELOPMENT_SECRETS.AIRBYTE_WEBHOOK_TOKEN,
    dbtCloudWebhookSecret: optionalString(env, 'DBT_CLOUD_WEBHOOK_SECRET') ?? DEVELOPMENT_SECRETS.DBT_CLOUD_WEBHOOK_SECRET,
    dbtAccountId: optionalString(env, 'DBT_CLOUD_ACCOUNT_ID') ?? '1',
    dbtApiToken: optionalString(env, 'DBT_CLOUD_API_TOKEN') ?? DEVELOPMENT_SECRETS.DBT_CLOUD_API_TOKEN,
    syncEventSigningKey: optionalString(env, 'SYNC_EVENT_SIGNING_KEY') ?? DEVELOPMENT_SECRETS.SYNC_EVENT_SIGNING_KEY,
    slackSigningSecret: optionalString(env, 'SLACK_SIGNING_SECRET') ?? DEVELOPMENT_SECRETS.SLACK_SIGNING_SECRET,
  };
}

function emulatorHost(env: Env, name: string): string | undefined {
  const value = optionalString(env, name);
  if (value !== undefined && !/^[\w.-]+:\d+$/.test(value)) throw new ConfigError(name, `must be host:port, got "${value}"`);
  return value;
}
