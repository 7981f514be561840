import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { answerJson } from './json-response.js';
import { logger } from './logger.js';

type Middleware = (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: (error?: unknown) => void) => void;
type Factory = (options?: unknown) => Middleware;
type BodyParser = Record<'json' | 'text' | 'urlencoded' | 'raw', Factory> & { __postload?: true };
type Done = (error?: unknown) => void;
interface ExpressModule {
  application: { handle: (req: IncomingMessage, res: ServerResponse, callback?: Done) => void; __postload?: true };
}

/**
 * Reads one request's body in place of the framework's parsers, then calls `done` once. It
 * must never throw: it records any refusal on the request for the function to answer, so
 * every answer, refusals included, is the function's own JSON. A callback, not a promise:
 * this runs for every request, and each promise costs async-hook work in the framework.
 */
export type BodyReader = (req: IncomingMessage, done: () => void) => void;

let reader: BodyReader | undefined;
const READ = Symbol('postload.bodyRead');

/**
 * Makes `read` the only thing that touches request bodies in this process (the ingest
 * function). Undefined gives them back to the framework's parsers, as in the processor's
 * process (for a test that serves the processor's kind of function after the ingest's).
 */
export function readBodiesWith(read: BodyReader | undefined): void {
  reader = read;
}

/**
 * The Functions Framework reads, inflates and parses every body before the function runs,
 * with a 1 GB limit and gzip/deflate inflated, and answers its own refusals with Express's
 * HTML page. It offers no option to change that, so this replaces body-parser's factories
 * in the framework's own copy (the framework calls them when it builds its server, after
 * the function module is loaded):
 *
 * - with a reader registered (the ingest function), the first parser middleware hands the
 *   request to it and the others step aside: the body is bounded, never inflated, never
 *   parsed by the framework;
 * - without one (the processor, which receives Pub/Sub pushes), the framework's parsers
 *   run as before, except that malformed JSON passes through to the function with
 *   `rawBody` kept instead of an HTML 400 (functions-framework-nodejs#686).
 *
 * test/integration/ingest/front-door.test.ts drives it through the real framework, so a
 * framework upgrade that changes how it parses fails the tests.
 */
export function installBodyParsing(): void {
  const frameworkRequire = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
  answerUnhandledAsJson(frameworkRequire('express') as ExpressModule);
  const bodyParser = frameworkRequire('body-parser') as BodyParser;
  if (bodyParser.__postload) return;
  for (const name of ['json', 'text', 'urlencoded', 'raw'] as const) {
    const original = bodyParser[name];
    bodyParser[name] = (options) => {
      const parse = original(options);
      return (req, res, next) => {
        if (reader) return readOnce(reader, req, next);
        if (name !== 'json') return parse(req, res, next);
        parse(req, res, (error?: unknown) => {
          if ((error as { type?: string } | undefined)?.type !== 'entity.parse.failed') return next(error);
          req.body = undefined;
          next();
        });
      };
    };
  }
  bodyParser.__postload = true;
}

function readOnce(read: BodyReader, req: IncomingMessage & { [READ]?: true }, next: (error?: unknown) => void): void {
  if (req[READ]) return next();
  req[READ] = true;
  read(req, () => next());
}

/**
 * What Express answers itself when no function does: a path it cannot decode (`/%`
 * throws in routing, before any middleware of ours) and any error a middleware passes on.
 * Its default final handler writes an HTML page; this one writes postload's JSON error
 * body and a structured log line. Express uses the callback given to app.handle instead
 * of its own final handler, so the framework's app is wrapped there.
 */
function answerUnhandledAsJson(express: ExpressModule): void {
  const app = express.application;
  if (app.__postload) return;
  const handle = app.handle;
  app.handle = function (this: unknown, req, res, callback) {
    handle.call(this, req, res, callback ?? ((error?: unknown) => answerUnhandled(req, res, error)));
  };
  app.__postload = true;
}

function answerUnhandled(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  const declared = (error as { status?: unknown; statusCode?: unknown } | undefined)?.status ?? (error as { statusCode?: unknown } | undefined)?.statusCode;
  const status = error === undefined ? 404 : typeof declared === 'number' && declared >= 400 && declared < 600 ? declared : error instanceof URIError ? 400 : 500;
  const code = status === 404 ? 'unknown_path' : status === 400 ? 'bad_request' : status < 500 ? 'refused' : 'internal';
  const message = status === 400 && error instanceof URIError ? 'the path is not valid percent-encoding' : status < 500 ? 'the request was refused' : 'unexpected error; retry later';
  // The path only: a query string can hold a credential (Airbyte's ?token=), and no log keeps one.
  const path = (req.url ?? '').split('?', 1)[0]!.slice(0, 256);
  const fields = { status, error: code, method: req.method, path, cause: error instanceof Error ? error.message.slice(0, 200) : undefined };
  if (status >= 500) logger.error(fields, `request failed before the function ran: ${message}`);
  else logger.warn(fields, `request refused before the function ran: ${message}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  answerJson(res, status, { error: code, message }, { connection: 'close' });
}
