// @ts-check
// The bare handler `npm run bench` measures postload's ingest against: the fastest thing a
// team could deploy instead, a Functions Framework HTTP function that publishes the request
// body to the topic (no authentication, validation or normalisation) and answers 202 once
// Pub/Sub has it. Plain JavaScript so nothing stands between the framework and it; served
// from this folder with `--source`. It batches exactly as postload's publisher does
// (functions/ingest/publisher.ts), so the comparison measures the handlers, not the batching.
// Exported under postload's target name so both start the same way.
import * as functions from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';

const topic = new PubSub({ projectId: process.env.GOOGLE_CLOUD_PROJECT }).topic(process.env.SYNC_EVENTS_TOPIC ?? 'sync-events', {
  batching: { maxMessages: 100, maxMilliseconds: 5 },
});

functions.http('ingestWebhook', async (req, res) => {
  const id = await topic.publishMessage({ data: req.rawBody ?? Buffer.from(JSON.stringify(req.body)) });
  res.status(202).json({ id });
});
