import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';

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
  override readonly name = 'SecretUnavailableError';
  constructor(
    readonly setting: string,
    cause: unknown,
  ) {
    super(`${setting}: Secret Manager could not be read (${describe(cause)})`, { cause });
  }
}

export interface SecretOptions {
  /** How long fetched values are trusted before Secret Manager is asked again. */
  ttlMs?: number;
  /** The least time between two refreshes forced by a failed verification. */
  minRefreshMs?: number;
  /** How many of the newest enabled versions are accepted at once. */
  maxVersions?: number;
  /** Project for short references (sm://NAME). */
  projectId?: string;
  client?: () => Promise<SecretManagerLike>;
  now?: () => number;
}

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
 */
export class Secret {
  private readonly literal: Buffer | undefined;
  private readonly reference: Reference | undefined;
  private cached: { values: Buffer[]; fetchedAt: number } | undefined;
  private inFlight: Promise<Buffer[]> | undefined;
  private readonly ttlMs: number;
  private readonly minRefreshMs: number;
  private readonly maxVersions: number;
  private readonly client: () => Promise<SecretManagerLike>;
  private readonly now: () => number;

  constructor(
    readonly setting: string,
    raw: string | undefined,
    options: SecretOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.minRefreshMs = options.minRefreshMs ?? 30_000;
    this.maxVersions = options.maxVersions ?? 5;
    this.client = options.client ?? defaultClient;
    this.now = options.now ?? Date.now;
    const value = raw?.trim() ? raw : undefined;
    if (value === undefined) return;
    if (!value.startsWith('sm://')) {
      this.literal = Buffer.from(value, 'utf8');
      return;
    }
    const match = REFERENCE.exec(value);
    const project = match?.[1] ?? options.projectId;
    if (!match || !project) {
      throw new Error(
        `${setting}: "${value}" is not a Secret Manager reference; use sm://projects/PROJECT/secrets/NAME[/versions/N]` +
          (match ? ' or set GOOGLE_CLOUD_PROJECT for sm://NAME' : ''),
      );
    }
    this.reference = { secret: `projects/${project}/secrets/${match[2]}`, version: match[3] };
  }

  get configured(): boolean {
    return this.literal !== undefined || this.reference !== undefined;
  }

  /** Every value an inbound request may be authenticated with: all enabled versions. */
  async acceptedValues(): Promise<Buffer[]> {
    if (this.literal) return [this.literal];
    if (!this.reference) throw new MissingSecretError(this.setting);
    if (this.cached && this.now() - this.cached.fetchedAt < this.ttlMs) return this.cached.values;
    return this.fetch();
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
    if (this.now() - this.cached.fetchedAt < this.minRefreshMs) return false;
    const before = this.cached.values;
    const after = await this.fetch();
    return after.length !== before.length || after.some((value, i) => !value.equals(before[i]!));
  }

  private fetch(): Promise<Buffer[]> {
    // Concurrent cold requests share one round trip to Secret Manager.
    this.inFlight ??= this.load()
      .then((values) => {
        this.cached = { values, fetchedAt: this.now() };
        return values;
      })
      .catch((error: unknown) => {
        // Keep serving the last good values through a Secret Manager outage.
        if (this.cached) return this.cached.values;
        throw new SecretUnavailableError(this.setting, error);
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async load(): Promise<Buffer[]> {
    const { secret, version } = this.reference!;
    const client = await this.client();
    const names = version
      ? [`${secret}/versions/${version}`]
      : await enabledVersions(client, secret, this.maxVersions);
    if (names.length === 0) throw new MissingSecretError(`${this.setting} (${secret} has no enabled version)`);
    return Promise.all(
      names.map(async (name) => {
        const [response] = await client.accessSecretVersion({ name });
        const data = response.payload?.data;
        if (data === undefined || data === null) throw new Error(`${name} has no payload`);
        return stripTrailingNewline(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
      }),
    );
  }
}

async function enabledVersions(client: SecretManagerLike, secret: string, max: number): Promise<string[]> {
  const [versions] = await client.listSecretVersions({ parent: secret, filter: 'state:ENABLED' });
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

let sharedClient: Promise<SecretManagerLike> | undefined;

// Imported on first use: a deployment with literal values never loads the client.
function defaultClient(): Promise<SecretManagerLike> {
  sharedClient ??= import('@google-cloud/secret-manager').then(
    ({ SecretManagerServiceClient }) => new SecretManagerServiceClient(),
  );
  return sharedClient;
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
  return new Secret(name, env[name], options);
}
