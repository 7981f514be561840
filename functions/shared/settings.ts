import { SLACK_WEBHOOK_ORIGIN } from './vendor-hosts.js';

/** A setting that is missing or malformed. Names the environment variable to fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

/** Every settings problem found at once (start-up names them all; `postload check` lists each). */
export class ConfigErrors extends ConfigError {
  constructor(readonly problems: ConfigError[]) {
    super(problems[0]!.variable, '');
    this.message = problems.map((p) => p.message).join('; ');
  }
}

/**
 * Reads settings without stopping at the first bad one: `take` returns what a reader
 * returns, or keeps its ConfigError and returns the fallback, so the next settings are still
 * read; `throwIfAny` then throws them together. A configuration is fixed in one round.
 */
export class SettingsProblems {
  readonly found: ConfigError[] = [];

  take<T>(read: () => T, fallback: T): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error instanceof ConfigErrors ? error.problems : [error]) this.add(problem);
      return fallback;
    }
  }

  /** A problem found; one already found (a setting two readers share) is not repeated. */
  add(error: ConfigError): void {
    if (!this.found.some((found) => found.message === error.message)) this.found.push(error);
  }

  throwIfAny(): void {
    if (this.found.length === 1) throw this.found[0]!;
    if (this.found.length > 1) throw new ConfigErrors(this.found);
  }
}

type Env = Record<string, string | undefined>;

export function optionalString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function requiredString(env: Env, name: string, hint: string): string {
  const value = optionalString(env, name);
  if (value === undefined) throw new ConfigError(name, `is not set; ${hint}`);
  return value;
}

export function integer(
  env: Env,
  name: string,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** An http(s) base URL from a setting (no query, fragment or credentials), without a trailing slash. */
export function baseUrlSetting(env: Env, name: string, fallback: string): string {
  const raw = optionalString(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a URL: "${raw}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(name, `must be an http(s) URL with no query or credentials, such as ${fallback}`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The project every Google Cloud client uses: GOOGLE_CLOUD_PROJECT (or GCLOUD_PROJECT). */
export function projectId(env: Env): string | undefined {
  return optionalString(env, 'GOOGLE_CLOUD_PROJECT') ?? optionalString(env, 'GCLOUD_PROJECT');
}

/**
 * A Firestore collection or document id from a setting (Firestore's rules,
 * cloud.google.com/firestore/quotas#limits, and docs/limits.md: at most 1,500 bytes, no '/', not '.' or '..', not '__…__'). Checked at
 * start-up: Firestore would refuse it on every event, and each would be redelivered.
 */
export function firestoreId(env: Env, name: string, fallback: string): string {
  const value = optionalString(env, name) ?? fallback;
  if (value.includes('/') || value === '.' || value === '..' || /^__.*__$/s.test(value) || Buffer.byteLength(value) > 1500 || !value.isWellFormed()) {
    throw new ConfigError(name, `is not a Firestore collection id: at most 1,500 bytes, no "/", not "." or "..", not "__…__"`);
  }
  return value;
}

/**
 * AUDIT_RETENTION_DAYS: how long the processor keeps an event's audit record, and so how
 * long it recognises a duplicate. Both functions read it: the processor to keep records,
 * the ingest function to keep its stale age inside it.
 */
export function auditRetentionDays(env: Env): number {
  return integer(env, 'AUDIT_RETENTION_DAYS', 90, { min: 1, max: 3650 });
}

/**
 * A comma-separated list of origins (`https://host`, `http://127.0.0.1:8083`), checked at
 * start-up; with `bareHosts`, a bare host stands for https on it and its subdomains.
 */
export function originsSetting(env: Env, name: string, { bareHosts = false } = {}): string[] {
  const raw = optionalString(env, name);
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      if (bareHosts && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(entry)) return entry.toLowerCase();
      let url: URL | undefined;
      try {
        url = new URL(entry);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== entry.replace(/\/+$/, '')) {
        throw new ConfigError(name, `"${entry}" is not an origin such as https://host or http://127.0.0.1:8083${bareHosts ? ', nor a host name' : ''}`);
      }
      return url.origin;
    });
}

/**
 * Origins Slack webhook URLs (and interactivity response URLs) may point to:
 * https://hooks.slack.com and what SLACK_WEBHOOK_HOSTS adds. Read alike by the processor,
 * the sweep (freshness messages) and the ingest function (button answers).
 */
export function readSlackWebhookOrigins(env: Env, setting: string): string[] {
  return [SLACK_WEBHOOK_ORIGIN, ...originsSetting(env, setting, { bareHosts: true }).map((o) => (o.includes('://') ? o : `https://${o}`))];
}

/**
 * A comma-separated list of Slack ids (users U…/W…, user groups S…), checked at start-up:
 * `prefixes` are the letters an id of that kind starts with.
 */
export function slackIdList(env: Env, name: string, prefixes: string, what: string): string[] {
  const raw = optionalString(env, name);
  if (raw === undefined) return [];
  const ids = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const id of ids) {
    if (!new RegExp(`^[${prefixes}][A-Z0-9]{2,40}$`).test(id)) throw new ConfigError(name, `"${id.slice(0, 60)}" is not a Slack ${what} id (${prefixes.split('').join('…, ')}… in capitals, as Slack shows it in a profile's "Copy member ID")`);
  }
  return [...new Set(ids)];
}
