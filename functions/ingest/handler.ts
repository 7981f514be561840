import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { Logger } from 'pino';
import { answerJson } from '../shared/json-response.js';
import { traceFields } from '../shared/logger.js';
import type { IngestConfig } from './config.js';
import { HttpError } from './http-error.js';
import { outboundMessage } from './outbound-message.js';
import { PublishError, type SyncEventPublisher } from './publisher.js';
import { readRequest } from './read-request.js';
import { signingKeyFor } from './signing-key.js';
import type { SlackActionsDependencies, SlackActionsRoute } from './slack-actions/route.js';
import { SOURCES } from './sources.js';

export interface IngestDependencies {
  config: IngestConfig;
  publisher: SyncEventPublisher;
  logger: Logger;
  /** For the accepted-webhook line only, whose fields the handler computes (shared/logger.ts fixedFieldsLogger); `logger` by default. */
  acceptedLogger?: Logger;
  now?: () => Date;
  /**
   * What the Slack actions route uses instead of its defaults (tests: a Firestore client, a
   * clock, and the route module itself, imported statically: under tsx a dynamic import is a
   * second copy of every module, whose error classes instanceof does not recognise).
   */
  slack?: Omit<SlackActionsDependencies, 'logger'> & { load?: () => Promise<typeof import('./slack-actions/route.js')> };
}

/** How much of a request's path a log line repeats. */
const LOGGED_PATH_CHARS = 256;

/**
 * The ingest flow. The body reader (read-request.ts) has already routed the request,
 * checked its address and read at most MAX_BODY_BYTES of it; here it is authenticated
 * over the raw bytes, interpreted (or quarantined), signed, checked to fit Pub/Sub, published,
 * and only then answered 202. Anything refused gets a 4xx and a JSON body naming the
 * problem; a 503 means "not stored, send it again".
 */
export function createIngestHandler({ config, publisher, logger, acceptedLogger = logger, now = () => new Date(), slack }: IngestDependencies): HttpFunction {
  let slackRoute: Promise<SlackActionsRoute> | undefined;
  const slackActions = async (req: Request, res: Response, raw: Buffer, where: Record<string, unknown>) => {
    slackRoute ??= (slack?.load ?? (() => import('./slack-actions/route.js')))().then(({ createSlackActionsRoute }) => createSlackActionsRoute(config, { logger, ...slack }));
    await (await slackRoute)(req, res, raw, where);
  };
  return async (req, res) => {
    const receivedAt = now();
    // Fields every line about this request carries, copied into each line's fields (a child
    // logger per request would cost more than the one or two lines it writes). Object.assign,
    // not spread syntax: V8 builds `{ ...a, ...b }` or `{ ...a, more }` on a slow path, 0.5–3 µs
    // each in the bench.
    const where = Object.assign({ path: req.path.slice(0, LOGGED_PATH_CHARS) }, traceFields(req.headers, config.projectId));
    let source: string | undefined;
    try {
      const request = readRequest(req);
      // Slack's button presses: their code is loaded on the first one, never for a webhook.
      if (request.route === 'slack-actions') return await slackActions(req, res, request.raw, where);
      source = request.route;
      const authenticating = SOURCES[request.route].authenticate(req, request.raw, config);
      if (authenticating) await authenticating;
      const key = signingKeyFor(config.signingKey);
      const message = outboundMessage(request.route, request.raw, receivedAt, { signingKey: Buffer.isBuffer(key) ? key : await key, staleAfterMs: config.staleAfterMs });
      const { event } = message;
      const context = Object.assign({ eventId: event.id, source, type: event.type, connectorId: event.connector.id }, event.stale ? { stale: true } : {});
      let messageId: string;
      try {
        messageId = await publisher.publish(message);
      } catch (error) {
        if (!(error instanceof PublishError)) throw error;
        logger.error(Object.assign({}, where, context, { err: error, status: 503 }), 'webhook not stored: publishing failed, the sender must retry');
        answerJson(res, 503, { error: 'publish_failed', message: 'the event could not be stored; retry later', id: event.id }, { 'retry-after': '10' });
        return;
      }
      const problems = event.quarantine?.problems;
      const outcome = Object.assign({}, where, context, { messageId, status: 202, latencyMs: Date.now() - receivedAt.getTime() });
      if (problems) {
        logger.warn(Object.assign(outcome, { problems }), 'webhook quarantined: authenticated but not understood, published as type quarantined');
        answerJson(res, 202, { id: event.id, type: event.type, quarantined: true, message: 'stored, but postload could not interpret it', problems });
        return;
      }
      acceptedLogger.info(outcome, 'webhook published');
      answerJson(res, 202, { id: event.id, type: event.type });
    } catch (error) {
      refuse(error, req, res, logger, Object.assign({}, where, { source }));
    }
  };
}

function refuse(error: unknown, req: Request, res: Parameters<HttpFunction>[1], log: Logger, where: Record<string, unknown>): void {
  if (!(error instanceof HttpError)) {
    log.error(Object.assign({}, where, { err: error, status: 500 }), 'webhook failed unexpectedly');
    answerJson(res, 500, { error: 'internal', message: 'unexpected error; retry later' });
    return;
  }
  const fields = Object.assign({}, where, { status: error.status, error: error.code, method: req.method }, error.logFields);
  if (error.status >= 500) log.error(Object.assign(fields, { cause: describeCause(error.cause) }), error.message);
  else log.warn(fields, `webhook refused: ${error.message}`);
  answerJson(res, error.status, error.body(), error.headers);
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? cause.message : undefined;
}
