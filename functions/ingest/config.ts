import { secretSetting, type Secret } from '../shared/secrets.js';
import { integer, optionalString, projectId } from '../shared/settings.js';

export interface IngestConfig {
  projectId: string | undefined;
  /** Topic the SyncEvents are published to (a name, or a full projects/P/topics/T). */
  topic: string;
  maxBodyBytes: number;
  publishTimeoutMs: number;
  fivetranSecret: Secret;
  airbyteToken: Secret;
  dbtCloudSecret: Secret;
}

/** The ingest function's settings; the only place it reads the environment. */
export function loadIngestConfig(env: Record<string, string | undefined> = process.env): IngestConfig {
  const project = projectId(env);
  const secretOptions = {
    ttlMs: integer(env, 'SECRET_CACHE_TTL_SECONDS', 300, { min: 0, max: 86_400 }) * 1000,
    ...(project ? { projectId: project } : {}),
  };
  return {
    projectId: project,
    topic: optionalString(env, 'SYNC_EVENTS_TOPIC') ?? 'sync-events',
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 1024 * 1024, { min: 1024, max: 32 * 1024 * 1024 }),
    // Fivetran gives up after ~10 s; answer before it does.
    publishTimeoutMs: integer(env, 'PUBLISH_TIMEOUT_MS', 8000, { min: 100, max: 60_000 }),
    fivetranSecret: secretSetting(env, 'FIVETRAN_WEBHOOK_SECRET', secretOptions),
    airbyteToken: secretSetting(env, 'AIRBYTE_WEBHOOK_TOKEN', secretOptions),
    dbtCloudSecret: secretSetting(env, 'DBT_CLOUD_WEBHOOK_SECRET', secretOptions),
  };
}
