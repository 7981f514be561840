import type { IncomingMessage } from 'node:http';
import type { Request } from '@google-cloud/functions-framework';
import getRawBody from 'raw-body';
import type { BodyReader } from '../shared/body-parsing.js';
import type { IngestConfig } from './config.js';
import { HttpError } from './http-error.js';
import { clientAddress } from './source-ranges.js';

export type Source = 'fivetran' | 'airbyte' | 'dbt-cloud';

/** Where a request goes: a vendor's webhook endpoint, or Slack's interactivity callbacks (the Slack app's buttons). */
export type Route = Source | 'slack-actions';

const ROUTES: Record<string, Route> = { '/fivetran': 'fivetran', '/airbyte': 'airbyte', '/dbt-cloud': 'dbt-cloud', '/slack/actions': 'slack-actions' };

/** How much of an unknown path a 404 repeats. */
const PATH_ECHO_CHARS = 64;

/** A request that passed the front door: where it goes and the exact bytes of its body. */
export interface ReadRequest {
  route: Route;
  raw: Buffer;
}

const RESULT = Symbol('postload.readRequest');
type Carrier = IncomingMessage & { [RESULT]?: ReadRequest | HttpError; rawBody?: Buffer };

/**
 * What the ingest function does before any body byte is buffered: route by path and
 * method, refuse addresses outside the source's ranges (403), refuse what it could
 * never accept (a compressed or non-JSON body: 415; a declared length over the limit:
 * 413), then read at most maxBodyBytes, never inflated. Runs inside the framework's body
 * parsing (see shared/body-parsing.ts); the outcome waits on the request for the handler.
 */
export function createBodyReader(config: Pick<IngestConfig, 'maxBodyBytes' | 'sourceRanges' | 'trustedProxyHops'>): BodyReader {
  return (incoming, done) => {
    const req = incoming as Request & Carrier;
    const refuse = (error: unknown) => {
      req[RESULT] = error instanceof HttpError ? error : new HttpError(400, 'unreadable_body', 'the body could not be read');
      done();
    };
    let route: Route;
    let length: number | undefined;
    try {
      route = routeOf(req.path, req.method);
      if (route === 'slack-actions') checkSlackContentHeaders(req);
      else {
        checkSourceAddress(req, route, config);
        checkContentHeaders(req);
      }
      const declared = req.headers['content-length'];
      length = declared === undefined ? undefined : Number(declared);
      if (length !== undefined && length > config.maxBodyBytes) throw tooLarge(config.maxBodyBytes);
    } catch (error) {
      return refuse(error);
    }
    readBounded(req, length, config.maxBodyBytes, (error, raw) => {
      if (error) return refuse(error);
      req.rawBody = raw;
      req[RESULT] = { route, raw: raw! };
      done();
    });
  };
}

/** The front door's verdict on this request: its body, or the refusal to answer. */
export function readRequest(req: Request): ReadRequest {
  const result = (req as Request & Carrier)[RESULT];
  if (result instanceof HttpError) throw result;
  // Fail closed: the body reader must have seen every request the handler serves.
  if (!result) throw new Error('the body reader did not run: call installBodyParsing() and readBodiesWith() before the server starts');
  return result;
}

/** The route named by the path (`/fivetran`, `/airbyte`, `/slack/actions`, trailing slashes allowed). */
export function routeOf(rawPath: string, method: string): Route {
  const path = trimTrailingSlashes(rawPath);
  const source = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  if (!source) {
    const shown = path.length > PATH_ECHO_CHARS ? `${path.slice(0, PATH_ECHO_CHARS)}…` : path;
    throw new HttpError(404, 'unknown_path', `no webhook at ${shown}; POST to ${Object.keys(ROUTES).join(' or ')}`, {}, CLOSE);
  }
  if (method !== 'POST') {
    throw new HttpError(405, 'method_not_allowed', `${method} is not allowed; webhooks are POSTed`, {}, { allow: 'POST', ...CLOSE });
  }
  return source;
}

/** Linear in the path's length, whatever it holds (a regular expression such as /\/+$/ is not). */
function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

function checkSourceAddress(req: Request, source: Source, config: Pick<IngestConfig, 'sourceRanges' | 'trustedProxyHops'>): void {
  const ranges = config.sourceRanges[source];
  if (!ranges) return;
  const forwardedFor = req.headers['x-forwarded-for'];
  const chain = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const address = clientAddress(chain, req.socket.remoteAddress, config.trustedProxyHops);
  if (ranges.includes(address)) return;
  throw new HttpError(
    403,
    'forbidden_address',
    `requests to this endpoint must come from the networks in ${ranges.setting}`,
    {},
    CLOSE,
    { source, clientAddress: address ?? null, forwardedFor: chain?.slice(0, 512) ?? null },
  );
}

function checkContentHeaders(req: Request): void {
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new HttpError(415, 'unsupported_encoding', `Content-Encoding ${encoding.slice(0, 32)} is not accepted; send the body uncompressed`, {}, CLOSE);
  }
  const contentType = req.headers['content-type'] ?? '';
  // What the vendors send, accepted without taking the header apart.
  if (contentType === 'application/json' || contentType === 'application/json; charset=utf-8') return;
  const [type = '', ...parameters] = contentType.split(';');
  const mediaType = type.trim().toLowerCase();
  if (!(mediaType === 'application/json' || mediaType.endsWith('+json'))) {
    throw new HttpError(415, 'unsupported_media_type', `expected Content-Type application/json, got ${mediaType.slice(0, 64) || 'none'}`, {}, CLOSE);
  }
  const charset = parameters.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'unsupported_charset', `charset ${charset.slice(0, 32)} is not accepted; JSON is UTF-8`, {}, CLOSE);
  }
}

/**
 * Slack posts interactivity payloads as `application/x-www-form-urlencoded` with a `payload`
 * field (docs.slack.dev/interactivity/handling-user-interaction); Slack publishes no stable
 * address ranges, so the signature alone authenticates them (slack-actions/route.ts).
 */
function checkSlackContentHeaders(req: Request): void {
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new HttpError(415, 'unsupported_encoding', `Content-Encoding ${encoding.slice(0, 32)} is not accepted; send the body uncompressed`, {}, CLOSE);
  }
  const [type = '', ...parameters] = (req.headers['content-type'] ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, 'unsupported_media_type', `expected Content-Type application/x-www-form-urlencoded, as Slack sends interactivity payloads, got ${type.trim().slice(0, 64) || 'none'}`, {}, CLOSE);
  }
  const charset = parameters.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'unsupported_charset', `charset ${charset.slice(0, 32)} is not accepted; Slack sends UTF-8`, {}, CLOSE);
  }
}

function readBounded(req: Request, length: number | undefined, limit: number, done: (error: HttpError | undefined, raw?: Buffer) => void): void {
  // raw-body's callback form: its promise form would add promises to every request.
  getRawBody(req, { limit, ...(length !== undefined && Number.isFinite(length) ? { length } : {}) }, (error, raw) => {
    if (!error) return done(undefined, raw);
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') return done(tooLarge(limit));
    done(new HttpError(400, 'unreadable_body', type === 'request.aborted' ? 'the request was aborted' : 'the body does not match its Content-Length', {}, CLOSE));
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the body is larger than the ${limit}-byte limit`, { limitBytes: limit }, CLOSE);
}

// A refusal made before the body was read leaves the rest of it unread on the connection;
// closing it is cheaper than draining an attacker's gigabyte.
const CLOSE = { connection: 'close' };
