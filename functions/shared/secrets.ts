import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { logger } from './logger.js';
import { ConfigError, integer } from './settings.js';
import { secretManagerClient } from './secret-manager-client.js';

/** The two Secret Manager calls postload makes; a sinon stub or the real client. */
export type SecretManagerLike = Pick<SecretManagerServiceClient, 'listSecretVersions' | 'accessSecretVersion'>;

/** A secret setting with no value: postload refuses to work rather than run unauthenticated. */
export class MissingSecretError extends Error {
  override readonly name = 'MissingSecretError';
  constructor(readonly setting: string) {
    super(
      `${setting} is not set: set it to the secret's value, or to a Secret Manager reference ` +
        `such as sm://projects/PROJECT/secrets/NAME (every enabled version accepted) ` +
        `or sm://projects/PROJECT/secrets/NAME/versions/N`,
    );
  }
}

/** Secret Manager could not be read and no earlier value is cached. */
export class SecretUnavailableError extends Error {
  override readonly name: string = 'SecretUnavailableError';
  constructor(
    readonly setting: string,
    cause: unknown,
  ) {
    super(`${setting}: Secret Manager could not be read (${describe(cause)})`, { cause });
  }
}

/**
 * Secret Manager said the values must not be used: the secret or version is gone,
 * disabled, or no longer readable by this identity. Cached values are dropped at once.
 */
export class SecretRevokedError extends SecretUnavailableError {
  override readonly name = 'SecretRevokedError';
}

export interface SecretOptions {
  /** How long fetched values are trusted before Secret Manager is asked again. */
  ttlMs?: number;
  /** The least time between two refreshes forced by a failed verification. */
  minRefreshMs?: number;
  /** How many of the newest enabled versions are accepted at once. */
  maxVersions?: number;
  /** How long past ttlMs the last good values are served while Secret Manager cannot be reached. */
  maxStaleMs?: number;
  /** Deadline of one Secret Manager call; the client library's own retries are turned off. */
  callTimeoutMs?: number;
  /** Calls per refresh before it counts as failed (authoritative answers end it at once). */
  attempts?: number;
  /** Values shorter than this many characters are logged as a warning (once per value). */
  warnShorterThan?: number;
  /** Project for short references (sm://NAME). */
  projectId?: string;
  client?: () => Promise<SecretManagerLike>;
  now?: () => number;
}

/**
 * Both functions warn about secrets shorter than this: a webhook secret or token this short
 * is guessable (nothing rate-limits guesses), an API token or webhook URL this short is a placeholder.
 */
export const SHORT_SECRET_CHARS = 32;

/**
 * SECRET_CACHE_TTL_SECONDS, read the same way by both functions: how long values fetched
 * from Secret Manager are trusted (a revoked version stops working within it).
 */
export function secretCacheTtlMs(env: Record<string, string | undefined>): number {
  return integer(env, 'SECRET_CACHE_TTL_SECONDS', 300, { min: 0, max: 86_400 }) * 1000;
}

/** The gRPC codes by which Secret Manager says "these values are not yours to use". */
const AUTHORITATIVE_CODES = new Set([5 /* NOT_FOUND */, 7 /* PERMISSION_DENIED */, 9 /* FAILED_PRECONDITION */]);
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

const REFERENCE = /^sm:\/\/(?:projects\/([^/]+)\/secrets\/)?([A-Za-z0-9_-]+)(?:\/versions\/([^/]+))?$/;

interface Reference {
  secret: string;
  version: string | undefined;
}

/**
 * One secret setting: a literal value (local use) or a Secret Manager reference.
 * A reference without a version accepts every enabled version, newest first, so an
 * operator can add a new version, move the senders over, then disable the old one
 * without a single rejected delivery.
 *
 * Lifecycle of fetched values:
 * - fresh for ttlMs; from half of it on, a request starts a refresh in the background;
 * - an authoritative answer (no enabled version, NOT_FOUND, PERMISSION_DENIED,
 *   FAILED_PRECONDITION) drops the values at once: a revoked version stops working
 *   within ttlMs, however Secret Manager fails meanwhile;
 * - a transient failure (timeout, UNAVAILABLE, ...) keeps the last good values, served
 *   without waiting, for at most ttlMs + maxStaleMs after they were fetched; refreshes
 *   are retried in the background with a backoff (1 s doubling to 60 s);
 * - each call has a short explicit deadline and a bounded number of attempts, so a
 *   request never waits for the client library's default retries (minutes). Only a
 *   request that finds no usable values (cold start, or values past their staleness
 *   limit) waits for Secret Manager, at most attempts × callTimeoutMs.
 */
export class Secret {
  private readonly literal: Buffer | undefined;
  private readonly reference: Reference | undefined;
  private cached: { values: Buffer[]; fetchedAt: number } | undefined;
  private revoked: SecretRevokedError | undefined;
  private lastFailure: unknown;
  private failures = 0;
  private nextAttemptAt = 0;
  private inFlight: Promise<void> | undefined;
  private readonly ttlMs: number;
  private readonly minRefreshMs: number;
  private readonly maxVersions: number;
  private readonly maxStaleMs: number;
  private readonly callTimeoutMs: number;
  private readonly attempts: number;
  private readonly client: () => Promise<SecretManagerLike>;
  private readonly now: () => number;
  /** Values shorter than this are logged as guessable (0: never). */
  readonly warnShorterThan: number;
  private readonly warned = new Set<string>();

  constructor(
    readonly setting: string,
    raw: string | undefined,
    options: SecretOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.minRefreshMs = options.minRefreshMs ?? 30_000;
    this.maxVersions = options.maxVersions ?? 5;
    this.maxStaleMs = options.maxStaleMs ?? 3_600_000;
    this.callTimeoutMs = options.callTimeoutMs ?? 2_000;
    this.attempts = options.attempts ?? 2;
    this.client = options.client ?? defaultClient;
    this.now = options.now ?? Date.now;
    this.warnShorterThan = options.warnShorterThan ?? 0;
    // Trimmed before it is classified: " sm://..." is a reference, not a literal secret
    // equal to the reference's text; an empty or blank value is no value.
    const value = raw?.trim() || undefined;
    if (value === undefined) return;
    if (!value.startsWith('sm://')) {
      this.literal = Buffer.from(value, 'utf8');
      this.warnIfShort([this.literal], 'the value');
      return;
    }
    const match = REFERENCE.exec(value);
    if (!match) throw new ConfigError(setting, `"${value}" is not a Secret Manager reference; use sm://projects/PROJECT/secrets/NAME[/versions/N] or sm://NAME`);
    const project = match[1] ?? options.projectId;
    if (!project) {
      throw new ConfigError(setting, `"${value}" names no project: set GOOGLE_CLOUD_PROJECT (as Terraform does for the functions; --project for postload check), or write sm://projects/PROJECT/secrets/${match[2]}${match[3] ? `/versions/${match[3]}` : ''}`);
    }
    this.reference = { secret: `projects/${project}/secrets/${match[2]}`, version: match[3] };
  }

  get configured(): boolean {
    return this.literal !== undefined || this.reference !== undefined;
  }

  /**
   * Since when the accepted values are known to include every version enabled then: the
   * time they were fetched; Infinity for a literal or a version pinned by number (its value
   * never changes; `latest` does); undefined before the first fetch. A verifier uses it to tell "signed with a
   * key I have not read yet" from "not signed with any key" (shared/sync-event-signature.ts).
   */
  knownAsOf(): number | undefined {
    if (this.literal || (this.reference?.version && this.reference.version !== 'latest')) return Number.POSITIVE_INFINITY;
    return this.cached?.fetchedAt;
  }

  /** Every value an inbound request may be authenticated with: all enabled versions. */
  async acceptedValues(): Promise<Buffer[]> {
    const ready = this.valuesAtHand();
    if (ready) return ready;
    if (this.revoked && this.now() < this.nextAttemptAt) throw this.revoked;
    await this.refresh();
    if (this.revoked) throw this.revoked;
    if (this.cached && this.now() - this.cached.fetchedAt < this.ttlMs + this.maxStaleMs) return this.cached.values;
    throw new SecretUnavailableError(this.setting, this.lastFailure);
  }

  /**
   * The accepted values when they can be had without waiting (a literal, or cached values
   * still usable), else undefined: acceptedValues() then asks Secret Manager. Lets a
   * request be authenticated without a promise in the common case.
   */
  valuesAtHand(): Buffer[] | undefined {
    if (this.literal) return [this.literal];
    if (!this.reference) throw new MissingSecretError(this.setting);
    const age = this.cached ? this.now() - this.cached.fetchedAt : Infinity;
    if (this.cached && age < this.ttlMs) {
      if (age >= this.ttlMs / 2) this.refreshInBackground();
      return this.cached.values;
    }
    if (this.cached && age < this.ttlMs + this.maxStaleMs && (this.failures > 0 || this.inFlight)) {
      // Secret Manager is known to be failing (or already being asked): serve the last
      // good values now rather than make the sender wait for it.
      this.refreshInBackground();
      return this.cached.values;
    }
    return undefined;
  }

  /** The value to send outbound: the newest enabled version (or the pinned one). */
  async currentValue(): Promise<string> {
    const [newest] = await this.acceptedValues();
    if (!newest) throw new MissingSecretError(this.setting);
    return newest.toString('utf8');
  }

  /**
   * Asks Secret Manager again when a request failed verification and the cache is older
   * than minRefreshMs: a version added a moment ago works at once, and a flood of bad
   * requests costs at most one refresh per interval. True when new values were fetched.
   */
  async refreshIfStale(): Promise<boolean> {
    if (!this.reference || !this.cached) return false;
    if (this.now() - this.cached.fetchedAt < this.minRefreshMs || this.now() < this.nextAttemptAt) return false;
    const before = this.cached.values;
    await this.refresh();
    const after = this.cached?.values ?? [];
    return after.length !== before.length || after.some((value, i) => !value.equals(before[i]!));
  }

  private warnIfShort(values: Buffer[], where: string): void {
    values.forEach((value, i) => {
      const length = value.toString('utf8').length;
      const key = `${where}#${i}:${length}`;
      if (length >= this.warnShorterThan || this.warned.has(key)) return;
      this.warned.add(key);
      logger.warn({ setting: this.setting, length }, `${this.setting} is shorter than ${this.warnShorterThan} characters (${where}): use a long random value`);
    });
  }

  private refreshInBackground(): void {
    if (this.inFlight || this.now() < this.nextAttemptAt) return;
    void this.refresh();
  }

  /** One refresh at a time; concurrent cold requests share its round trips. Never rejects. */
  private refresh(): Promise<void> {
    this.inFlight ??= this.loadWithRetries()
      .then(
        (values) => {
          this.warnIfShort(values, this.reference!.secret);
          this.cached = { values, fetchedAt: this.now() };
          this.revoked = undefined;
          this.failures = 0;
          this.nextAttemptAt = 0;
        },
        (error: unknown) => {
          this.failures++;
          this.lastFailure = error;
          this.nextAttemptAt = this.now() + Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (this.failures - 1));
          if (error instanceof SecretRevokedError) {
            this.revoked = error;
            this.cached = undefined;
          }
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async loadWithRetries(): Promise<Buffer[]> {
    let failure: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      try {
        return await this.load();
      } catch (error) {
        if (isAuthoritative(error)) throw new SecretRevokedError(this.setting, error);
        failure = error;
      }
    }
    throw failure;
  }

  private async load(): Promise<Buffer[]> {
    const { secret, version } = this.reference!;
    const client = await this.client();
    // `retry: null` is how google-gax turns its retries off; adding `maxRetries` beside it
    // makes gax dereference the null (CallSettings.merge): every call threw a TypeError.
    const call = { timeout: this.callTimeoutMs, retry: null };
    const names = version ? [`${secret}/versions/${version}`] : await this.withDeadline(enabledVersions(client, secret, this.maxVersions, call));
    if (names.length === 0) throw new NoEnabledVersionError(secret);
    return Promise.all(
      names.map(async (name) => {
        const [response] = await this.withDeadline(client.accessSecretVersion({ name }, call));
        const data = response.payload?.data;
        if (data === undefined || data === null) throw new Error(`${name} has no payload`);
        return stripTrailingNewline(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
      }),
    );
  }

  // The call option is the client's own deadline; this one also holds for a client (or
  // a stub) that ignores it.
  private async withDeadline<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Secret Manager did not answer within ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
    });
    try {
      return await Promise.race([call, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * True when Secret Manager answered that the secret holds no value to use: it is not set,
 * does not exist, or has no enabled version. (PERMISSION_DENIED or a disabled pinned version
 * is a misconfiguration to fix, not an absence.) An optional secret, such as the Slack
 * webhook, then counts as not configured rather than as an outage to retry.
 */
export function isWithoutValue(error: unknown): boolean {
  if (error instanceof MissingSecretError) return true;
  if (!(error instanceof SecretRevokedError)) return false;
  const cause = error.cause;
  return cause instanceof NoEnabledVersionError || (cause as { code?: unknown } | null)?.code === 5;
}

class NoEnabledVersionError extends Error {
  constructor(secret: string) {
    super(`${secret} has no enabled version`);
  }
}

function isAuthoritative(error: unknown): boolean {
  return error instanceof NoEnabledVersionError || AUTHORITATIVE_CODES.has((error as { code?: unknown } | null)?.code as number);
}

type CallOptions = { timeout: number; retry: null };

async function enabledVersions(client: SecretManagerLike, secret: string, max: number, call: CallOptions): Promise<string[]> {
  const [versions] = await client.listSecretVersions({ parent: secret, filter: 'state:ENABLED' }, call);
  return versions
    .flatMap((v) => (v.name ? [v.name] : []))
    .sort((a, b) => versionNumber(b) - versionNumber(a))
    .slice(0, max);
}

function versionNumber(name: string): number {
  return Number(name.slice(name.lastIndexOf('/') + 1)) || 0;
}

// `echo value | gcloud secrets versions add --data-file=-` stores a trailing newline that
// no sender includes; dropping it spares operators a baffling 401.
function stripTrailingNewline(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return bytes.subarray(0, end);
}

// Imported on first use: a deployment with literal values never loads the client.
function defaultClient(): Promise<SecretManagerLike> {
  return secretManagerClient(process.env);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A secret setting read from the environment under its own name (FIVETRAN_WEBHOOK_SECRET, ...). */
export function secretSetting(
  env: Record<string, string | undefined>,
  name: string,
  options: SecretOptions = {},
): Secret {
  return new Secret(name, env[name], { client: () => secretManagerClient(env), ...options });
}
