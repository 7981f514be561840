import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

type Middleware = (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: (error?: unknown) => void) => void;
type Factory = (options?: unknown) => Middleware;
type BodyParser = Record<'json' | 'text' | 'urlencoded' | 'raw', Factory> & { __postload?: true };

/**
 * Reads one request's body in place of the framework's parsers. It must never reject:
 * it records any refusal on the request for the function to answer, so every answer,
 * refusals included, is the function's own JSON.
 */
export type BodyReader = (req: IncomingMessage) => Promise<void>;

let reader: BodyReader | undefined;
const READ = Symbol('postload.bodyRead');

/** Makes `read` the only thing that touches request bodies in this process (the ingest function). */
export function readBodiesWith(read: BodyReader): void {
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
  read(req).then(() => next(), next);
}
