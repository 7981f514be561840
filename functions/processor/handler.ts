import type { CloudEvent } from '@google-cloud/functions-framework';
import { readProcessorConfig } from './config.js';
import { createSyncEventProcessor } from './process-sync-event.js';

// Read at import: a missing setting or a bad routing file stops the instance at start-up
// (failing the deploy) with an error naming the variable or the field, instead of failing
// every event. One processor, and so one Firestore client, per instance.
const processor = createSyncEventProcessor(readProcessorConfig(process.env));

export async function processSyncEvent(event: CloudEvent<unknown>): Promise<void> {
  await processor(event);
}
