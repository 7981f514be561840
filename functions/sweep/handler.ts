import type { CloudEvent } from '@google-cloud/functions-framework';
import { classifyError, describeError } from '../processor/errors.js';
import { readPubSubMessage } from '../processor/pubsub-message.js';
import { logger } from '../shared/logger.js';
import { readSweepConfig } from './config.js';
import { createSweep } from './sweep.js';

// Read at import: a malformed freshness section or setting stops the instance at start-up
// (failing the deploy), naming the field, instead of failing every tick.
const sweep = createSweep(readSweepConfig(process.env));

/**
 * One tick from Cloud Scheduler, through Pub/Sub (terraform/sweep.tf). Its content does
 * not matter: the sweep works from the clock and what it reads, so a tick that is late,
 * repeated or overlapping another does the same as one on time. A transient failure is
 * thrown (Pub/Sub delivers the tick again, until it expires: the next tick does the work anyway).
 */
export async function runSweep(event: CloudEvent<unknown>): Promise<void> {
  const { messageId } = readPubSubMessage(event);
  try {
    await sweep.tick({ messageId });
  } catch (error) {
    if (classifyError(error) === 'transient') {
      logger.warn({ messageId, err: describeError(error) }, 'sweep tick failed; throwing so that Pub/Sub delivers it again');
      throw error;
    }
    logger.error({ messageId, err: describeError(error) }, 'sweep tick failed permanently; acknowledged');
  }
}
