import { createRequire } from 'node:module';

type Middleware = (req: { body?: unknown }, res: unknown, next: (error?: unknown) => void) => void;
interface BodyParser {
  json: (options?: unknown) => Middleware;
  __postloadPassthrough?: true;
}

/**
 * The Functions Framework parses JSON bodies itself, and on malformed JSON its Express
 * default handler answers an HTML page (with a stack trace outside production) before any
 * function runs (functions-framework-nodejs#686). This wraps body-parser's JSON parser so
 * that a parse failure passes through with `req.rawBody` kept; the function then parses
 * the raw bytes itself and answers a JSON 400 that names the problem. It must run before
 * the framework builds its server, i.e. when the function module is loaded.
 * test/integration/ingest covers it through the real framework, so an upgrade that breaks
 * it fails the tests.
 */
export function passMalformedJsonToFunction(): void {
  const frameworkRequire = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
  const bodyParser = frameworkRequire('body-parser') as BodyParser;
  if (bodyParser.__postloadPassthrough) return;
  const json = bodyParser.json;
  bodyParser.json = (options) => {
    const parse = json(options);
    return (req, res, next) =>
      parse(req, res, (error?: unknown) => {
        if ((error as { type?: string } | undefined)?.type !== 'entity.parse.failed') return next(error);
        req.body = undefined;
        next();
      });
  };
  bodyParser.__postloadPassthrough = true;
}
