import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

// A stand-in for Secret Manager's REST API v1 (Google ships no emulator), for the calls
// postload makes: the functions read secrets, `postload connect` writes them. The
// @google-cloud/secret-manager client speaks to it over HTTP/JSON when
// SECRET_MANAGER_EMULATOR_HOST names it (functions/shared/secret-manager-client.ts), so the
// code under test is the real client library. Shapes from Google's REST reference
// (cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets and
// projects.secrets.versions):
// - GET  /v1/projects/P/secrets/S → Secret {name, replication, createTime, etag};
// - POST /v1/projects/P/secrets/S:addVersion {payload: {data: base64}} → SecretVersion
//   {name: …/versions/N, createTime, state: ENABLED, etag}; versions are numbered from 1;
//   a payload over 64 KiB is INVALID_ARGUMENT (cloud.google.com/secret-manager/quotas);
// - GET  /v1/projects/P/secrets/S/versions?filter=&pageSize=&pageToken= → {versions
//   (newest first, "sorted in reverse by create_time"), nextPageToken, totalSize}; pageSize 0
//   or absent lets the server choose, more than 25000 is capped; the filter is the
//   List-operation filtering syntax, of which this stand-in knows `state:X` only (what
//   postload sends) and refuses anything else rather than ignore it;
// - GET  /v1/projects/P/secrets/S/versions/V:access → {name, payload: {data}}; V is a number
//   or `latest` (the newest version); a disabled or destroyed version is FAILED_PRECONDITION;
// - POST …/versions/V:disable, …/versions/V:enable → the SecretVersion (what an operator's
//   `gcloud secrets versions disable` does);
// - errors are Google's JSON error {error: {code, message, status}} with the HTTP status of
//   the canonical code (NOT_FOUND 404, INVALID_ARGUMENT and FAILED_PRECONDITION 400,
//   PERMISSION_DENIED 403), which the client library turns into gRPC codes 5, 3, 9, 7;
// - enums as numbers when the request asks `$alt=json;enum-encoding=int` (as the Node client
//   does), else as names (cloud.google.com/apis/docs/system-parameters).
// Authentication is not checked: the client sends none in emulator mode.
// Not modelled: dataCrc32c (postload neither sends nor checks it), etags, aliases, regions.

const SECRET = /^\/v1\/(projects\/[^/]+\/secrets\/[A-Za-z0-9_-]+)$/;
const ADD_VERSION = /^\/v1\/(projects\/[^/]+\/secrets\/[A-Za-z0-9_-]+):addVersion$/;
const VERSIONS = /^\/v1\/(projects\/[^/]+\/secrets\/[A-Za-z0-9_-]+)\/versions$/;
const VERSION_ACTION = /^\/v1\/(projects\/[^/]+\/secrets\/[A-Za-z0-9_-]+)\/versions\/([^/:]+):(access|disable|enable)$/;
const STATE_FILTER = /^state\s*[:=]\s*(ENABLED|DISABLED|DESTROYED)$/i;
export const MAX_PAYLOAD_BYTES = 65_536;
const SERVER_PAGE_SIZE = 25_000;
const STATES = { ENABLED: 1, DISABLED: 2, DESTROYED: 3 } as const;
type State = keyof typeof STATES;

export interface FakeSecretVersion {
  number: number;
  data: Buffer;
  state: State;
  createTime: string;
}

interface FakeSecret {
  createTime: string;
  versions: FakeSecretVersion[];
}

const HTTP_STATUS = { NOT_FOUND: 404, INVALID_ARGUMENT: 400, FAILED_PRECONDITION: 400, PERMISSION_DENIED: 403 } as const;

export class FakeSecretManager extends RecordingServer {
  private readonly secrets = new Map<string, FakeSecret>();
  private readonly denied = new Set<string>();

  constructor() {
    super('Secret Manager', (request, server) => (server as FakeSecretManager).answer(request));
  }

  /** `host:port`, the value of SECRET_MANAGER_EMULATOR_HOST. */
  get host(): string {
    return this.url.replace(/^http:\/\//, '');
  }

  /** Creates a secret with no version, as Terraform does (`projects/P/secrets/S`). */
  createSecret(name: string): this {
    if (!this.secrets.has(name)) this.secrets.set(name, { createTime: new Date().toISOString(), versions: [] });
    return this;
  }

  /** Adds a version as an operator would (gcloud secrets versions add); returns its number. */
  addVersion(name: string, value: string): number {
    const secret = this.secrets.get(name);
    if (!secret) throw new Error(`no secret ${name}`);
    const number = secret.versions.length + 1;
    secret.versions.push({ number, data: Buffer.from(value, 'utf8'), state: 'ENABLED', createTime: new Date().toISOString() });
    return number;
  }

  setState(name: string, number: number, state: State): void {
    const version = this.secrets.get(name)?.versions.find((v) => v.number === number);
    if (!version) throw new Error(`no version ${number} of ${name}`);
    version.state = state;
  }

  /** Every version of the secret, oldest first (empty when the secret does not exist). */
  versions(name: string): FakeSecretVersion[] {
    return [...(this.secrets.get(name)?.versions ?? [])];
  }

  /** The values of the enabled versions, newest first. */
  enabledValues(name: string): string[] {
    return this.versions(name)
      .filter((v) => v.state === 'ENABLED')
      .reverse()
      .map((v) => v.data.toString('utf8'));
  }

  /** From now on, every call on this secret is PERMISSION_DENIED (an identity without the role). */
  deny(name: string): this {
    this.denied.add(name);
    return this;
  }

  override reset(): void {
    super.reset();
    this.secrets.clear();
    this.denied.clear();
  }

  private answer(request: RecordedRequest): Reply {
    const url = new URL(request.url, 'http://secretmanager.local');
    const path = decodeURIComponent(url.pathname);
    const numericEnums = (url.searchParams.get('$alt') ?? '').includes('enum-encoding=int');
    const route =
      (request.method === 'GET' && match(SECRET, path, (name) => this.getSecret(name))) ||
      (request.method === 'POST' && match(ADD_VERSION, path, (name) => this.addVersionRequest(name, request, numericEnums))) ||
      (request.method === 'GET' && match(VERSIONS, path, (name) => this.list(name, url.searchParams, numericEnums))) ||
      (() => {
        const action = VERSION_ACTION.exec(path);
        if (!action) return undefined;
        const [, name, version, verb] = action as unknown as [string, string, string, 'access' | 'disable' | 'enable'];
        if (verb === 'access' ? request.method !== 'GET' : request.method !== 'POST') return undefined;
        return this.versionAction(name, version, verb, numericEnums);
      })();
    return route ?? googleError('NOT_FOUND', `Method not found: ${request.method} ${path}`);
  }

  private secretOrError(name: string): FakeSecret | Reply {
    if (this.denied.has(name)) return googleError('PERMISSION_DENIED', `Permission denied on resource ${name} (or it may not exist).`);
    return this.secrets.get(name) ?? googleError('NOT_FOUND', `Secret [${name}] not found or has no versions.`);
  }

  private getSecret(name: string): Reply {
    const secret = this.secretOrError(name);
    if (!isSecret(secret)) return secret;
    return ok({ name, replication: { automatic: {} }, createTime: secret.createTime, etag: `"${secret.versions.length}"` });
  }

  private addVersionRequest(name: string, request: RecordedRequest, numericEnums: boolean): Reply {
    const secret = this.secretOrError(name);
    if (!isSecret(secret)) return secret;
    const payload = (request.json as { payload?: { data?: unknown } } | undefined)?.payload;
    if (typeof payload?.data !== 'string') return googleError('INVALID_ARGUMENT', 'payload.data is required.');
    const data = Buffer.from(payload.data, 'base64');
    if (data.length > MAX_PAYLOAD_BYTES) return googleError('INVALID_ARGUMENT', `Secret payload must be no larger than ${MAX_PAYLOAD_BYTES} bytes.`);
    const number = secret.versions.length + 1;
    const version: FakeSecretVersion = { number, data, state: 'ENABLED', createTime: new Date().toISOString() };
    secret.versions.push(version);
    return ok(versionView(name, version, numericEnums));
  }

  private list(name: string, query: URLSearchParams, numericEnums: boolean): Reply {
    const secret = this.secretOrError(name);
    if (!isSecret(secret)) return secret;
    const filter = query.get('filter')?.trim() ?? '';
    const wanted = filter === '' ? undefined : STATE_FILTER.exec(filter)?.[1]?.toUpperCase();
    if (filter !== '' && !wanted) return googleError('INVALID_ARGUMENT', `The stand-in knows only state:X filters, not "${filter}".`);
    const requested = Number(query.get('pageSize') ?? 0);
    if (!Number.isInteger(requested) || requested < 0) return googleError('INVALID_ARGUMENT', 'pageSize must be a non-negative integer.');
    const size = requested === 0 ? SERVER_PAGE_SIZE : Math.min(requested, SERVER_PAGE_SIZE);
    const offset = query.get('pageToken') ? Number(Buffer.from(query.get('pageToken')!, 'base64url').toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0) return googleError('INVALID_ARGUMENT', 'Invalid page token.');
    const all = [...secret.versions].reverse().filter((v) => wanted === undefined || v.state === wanted);
    const page = all.slice(offset, offset + size);
    const more = offset + size < all.length;
    return ok({
      versions: page.map((v) => versionView(name, v, numericEnums)),
      ...(more ? { nextPageToken: Buffer.from(String(offset + size)).toString('base64url') } : {}),
      totalSize: all.length,
    });
  }

  private versionAction(name: string, id: string, verb: 'access' | 'disable' | 'enable', numericEnums: boolean): Reply {
    const secret = this.secretOrError(name);
    if (!isSecret(secret)) return secret;
    const version = id === 'latest' ? secret.versions.at(-1) : secret.versions.find((v) => String(v.number) === id);
    if (!version) return googleError('NOT_FOUND', `Secret Version [${name}/versions/${id}] not found.`);
    const versionName = `${name}/versions/${version.number}`;
    if (verb === 'access') {
      if (version.state !== 'ENABLED') return googleError('FAILED_PRECONDITION', `${versionName} is in ${version.state} state.`);
      return ok({ name: versionName, payload: { data: version.data.toString('base64') } });
    }
    if (version.state === 'DESTROYED') return googleError('FAILED_PRECONDITION', `${versionName} is in DESTROYED state.`);
    version.state = verb === 'disable' ? 'DISABLED' : 'ENABLED';
    return ok(versionView(name, version, numericEnums));
  }
}

export function fakeSecretManager(): FakeSecretManager {
  return new FakeSecretManager();
}

function match(pattern: RegExp, path: string, answer: (name: string) => Reply): Reply | undefined {
  const found = pattern.exec(path);
  return found ? answer(found[1]!) : undefined;
}

function isSecret(value: FakeSecret | Reply): value is FakeSecret {
  return typeof value === 'object' && 'versions' in value;
}

function versionView(secret: string, version: FakeSecretVersion, numericEnums: boolean): Record<string, unknown> {
  return {
    name: `${secret}/versions/${version.number}`,
    createTime: version.createTime,
    state: numericEnums ? STATES[version.state] : version.state,
    etag: `"${version.number}-${version.state}"`,
    clientSpecifiedPayloadChecksum: false,
  };
}

function ok(body: object): Reply {
  return { status: 200, body };
}

function googleError(status: keyof typeof HTTP_STATUS, message: string): Reply {
  return { status: HTTP_STATUS[status], body: { error: { code: HTTP_STATUS[status], message, status } } };
}
