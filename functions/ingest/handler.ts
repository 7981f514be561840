import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import type { Logger } from 'pino';
import { traceFields } from '../shared/logger.js';
import type { IngestConfig } from './config.js';
import { HttpError } from './http-error.js';
import { PublishError, type SyncEventPublisher } from './publisher.js';
import { parseJson, rawJsonBody, routeOf } from './read-request.js';
import { SOURCES, validatePayload } from './sources.js';

export interface IngestDependencies {
  config: IngestConfig;
  publisher: SyncEventPublisher;
  logger: Logger;
  now?: () => Date;
}

/**
 * The ingest flow: route, bound the body, authenticate over the raw bytes, parse,
 * validate, normalise, publish, and only then answer 202. Anything refused gets a 4xx
 * and a JSON body naming the problem; a 503 means "not stored, send it again".
 */
export function createIngestHandler({ config, publisher, logger, now = () => new Date() }: IngestDependencies): HttpFunction {
  return async (req, res) => {
    const receivedAt = now();
    const log = logger.child({ path: req.path, ...traceFields(req.headers, config.projectId) });
    let source: string | undefined;
    try {
      const route = routeOf(req);
      source = route;
      const raw = rawJsonBody(req, config.maxBodyBytes);
      await SOURCES[route].authenticate(req, raw, config);
      const event = SOURCES[route].normalise(validatePayload(route, parseJson(raw)), receivedAt);
      const context = { eventId: event.id, source, type: event.type, connectorId: event.connector.id };
      let messageId: string;
      try {
        messageId = await publisher.publish(event);
      } catch (error) {
        if (!(error instanceof PublishError)) throw error;
        log.error({ ...context, err: error, status: 503 }, 'webhook not stored: publishing failed, the sender must retry');
        res.status(503).set('retry-after', '10').json({ error: 'publish_failed', message: 'the event could not be stored; retry later', id: event.id });
        return;
      }
      log.info({ ...context, messageId, status: 202, latencyMs: Date.now() - receivedAt.getTime() }, 'webhook published');
      res.status(202).json({ id: event.id, type: event.type });
    } catch (error) {
      refuse(error, req, res, log.child({ source }));
    }
  };
}

function refuse(error: unknown, req: Request, res: Parameters<HttpFunction>[1], log: Logger): void {
  if (!(error instanceof HttpError)) {
    log.error({ err: error, status: 500 }, 'webhook failed unexpectedly');
    res.status(500).json({ error: 'internal', message: 'unexpected error; retry later' });
    return;
  }
  const fields = { status: error.status, error: error.code, method: req.method, ...problems(error) };
  if (error.status >= 500) log.error({ ...fields, cause: describeCause(error.cause) }, error.message);
  else log.warn(fields, `webhook refused: ${error.message}`);
  res.status(error.status).set(error.headers).json(error.body());
}

function problems(error: HttpError): Record<string, unknown> {
  return error.details.problems ? { problems: error.details.problems } : {};
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? cause.message : undefined;
}
