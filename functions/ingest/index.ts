import { readBodiesWith } from '../shared/body-parsing.js';
import { logger } from '../shared/logger.js';
import { validator } from '../shared/schemas.js';
import { loadIngestConfig } from './config.js';
import { createIngestHandler } from './handler.js';
import { PubSubPublisher } from './publisher.js';
import { createBodyReader } from './read-request.js';

/** Shorter secrets are guessable enough to be worth a warning (a token has no rate limit). */
const MIN_SECRET_CHARS = 32;

// Built once per instance: settings read, schemas compiled, one Pub/Sub client.
const config = loadIngestConfig();
for (const secret of [config.fivetranSecret, config.airbyteToken]) {
  if (!secret.configured) {
    logger.warn({ setting: secret.setting }, `${secret.setting} is not set: its endpoint refuses every request (503) until it is`);
  } else if (secret.literalLength !== undefined && secret.literalLength < MIN_SECRET_CHARS) {
    logger.warn({ setting: secret.setting, length: secret.literalLength }, `${secret.setting} is shorter than ${MIN_SECRET_CHARS} characters: use a long random value`);
  }
}
for (const [source, ranges] of Object.entries(config.sourceRanges)) {
  logger.info({ source, setting: ranges.setting }, `${source} requests are accepted only from the networks in ${ranges.setting}`);
}

validator('fivetran-webhook');
validator('airbyte-webhook');

readBodiesWith(createBodyReader(config));

export const ingestWebhook = createIngestHandler({
  config,
  publisher: new PubSubPublisher(config.topic, config.publishTimeoutMs, config.projectId),
  logger,
});

export { signFivetranPayload } from './fivetran/signature.js';
