import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { answerJson } from '../shared/json-response.js';
import type { Logger } from 'pino';
import { logger as defaultLogger } from '../shared/logger.js';

type Request = IncomingMessage & { body?: unknown; path?: string };
type Middleware = (req: Request, res: ServerResponse, next: (error?: unknown) => void) => void;
interface PubSubMiddlewareModule {
  legacyPubSubEventMiddleware: Middleware & { __postload?: true };
}

/** What the processor answers to anything that is not a Pub/Sub push (or a CloudEvent). */
export const NOT_A_PUSH = {
  error: 'not_a_pubsub_push',
  message:
    "this is postload's processor: it takes only Pub/Sub push deliveries of SyncEvents from its subscription. " +
    'Webhooks go to the ingest function: POST /fivetran, /airbyte or /dbt-cloud on its URL (npm start prints it; on Google Cloud, `terraform output ingest_url`)',
} as const;

/**
 * A Pub/Sub push (`{"message": {...}, "subscription": "..."}`), a CloudEvent (binary: ce-*
 * headers; structured: application/cloudevents+json) or a background event (`{context, data}`):
 * what the Functions Framework turns into the processor's CloudEvent. Anything else (a
 * webhook sent to the wrong URL, `{}`) would reach the processor as a message without data
 * and be recorded and alerted as an invalid SyncEvent.
 */
export function isEventDelivery(req: Pick<IncomingMessage, 'headers'> & { body?: unknown }): boolean {
  if (typeof req.headers['ce-specversion'] === 'string') return true;
  if (/^application\/cloudevents\+json\b/i.test(req.headers['content-type'] ?? '')) return true;
  const body = req.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const { message, subscription, context } = body as Record<string, unknown>;
  if (message && typeof message === 'object' && typeof subscription === 'string') return true;
  return Boolean(context && typeof context === 'object' && 'data' in body);
}

/**
 * Puts the check in front of the framework's Pub/Sub middleware, which the framework mounts
 * for CloudEvent functions only (never for the ingest function's HTTP one), after the body
 * is parsed. The framework offers no hook there, so its module's export is wrapped, as
 * shared/body-parsing.ts wraps its body parsers; test/integration/processor/push-only.test.ts
 * drives the real framework, so an upgrade that moves it fails the tests.
 */
export function acceptOnlyPushes(log: Logger = defaultLogger): void {
  const frameworkRequire = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
  const module = frameworkRequire('./pubsub_middleware.js') as PubSubMiddlewareModule;
  const original = module.legacyPubSubEventMiddleware;
  if (original.__postload) return;
  const guarded: Middleware & { __postload?: true } = (req, res, next) => {
    if (isEventDelivery(req)) return original(req, res, next);
    log.warn({ status: 400, error: NOT_A_PUSH.error, method: req.method, path: (req.path ?? req.url ?? '').slice(0, 256) }, 'request refused: not a Pub/Sub push');
    answerJson(res, 400, NOT_A_PUSH);
  };
  guarded.__postload = true;
  module.legacyPubSubEventMiddleware = guarded;
}
