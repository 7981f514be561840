import { readBodiesWith } from '../shared/body-parsing.js';
import { fixedFieldsLogger, logger } from '../shared/logger.js';
import { loadIngestConfig } from './config.js';
import { createIngestHandler } from './handler.js';
import { PubSubPublisher } from './publisher.js';
import { createBodyReader } from './read-request.js';

// Built once per instance: settings read, one Pub/Sub client. The webhook validators were
// compiled at build time (webhook-validators.ts).
const config = loadIngestConfig();
for (const secret of [config.fivetranSecret, config.airbyteToken, config.dbtCloudSecret]) {
  if (!secret.configured) {
    logger.warn({ setting: secret.setting }, `${secret.setting} is not set: its endpoint refuses every request (503) until it is`);
  }
}
if (!config.signingKey.configured) {
  logger.error({ setting: config.signingKey.setting }, `${config.signingKey.setting} is not set: every endpoint refuses every request (503) until it is, since nothing is published unsigned`);
} else {
  // Read now, while the instance starts, so the first webhook does not wait for Secret Manager.
  config.signingKey.acceptedValues().catch(() => {});
}
if (config.slack.signingSecret.configured && !config.slack.allowedUsers.length && !config.slack.allowedGroups.length) {
  logger.warn({ setting: 'SLACK_ACTION_USERS' }, 'the Slack app is set up (SLACK_SIGNING_SECRET) but nobody may press its buttons: set SLACK_ACTION_USERS or SLACK_ACTION_GROUPS');
}
for (const [source, ranges] of Object.entries(config.sourceRanges)) {
  logger.info({ source, setting: ranges.setting }, `${source} requests are accepted only from the networks in ${ranges.setting}`);
}

readBodiesWith(createBodyReader(config));

export const ingestWebhook = createIngestHandler({
  config,
  publisher: new PubSubPublisher(config.topic, config.publishTimeoutMs, config.projectId),
  logger,
  acceptedLogger: fixedFieldsLogger,
});

export { signFivetranPayload } from './fivetran/signature.js';
export { signDbtCloudPayload } from './dbt-cloud/signature.js';
