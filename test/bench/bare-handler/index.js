// @ts-check
// The bare handler `npm run bench` measures postload's ingest against: the fastest thing a
// team could deploy instead, a Functions Framework HTTP function that publishes the request
// body to the topic (no authentication, validation or normalisation) and answers 202 once
// Pub/Sub has it. Plain JavaScript so nothing stands between the framework and it; served
// from this folder with `--source`. It batches exactly as postload's publisher does
// (functions/ingest/publisher.ts), so the comparison measures the handlers, not the batching.
// Exported under postload's target name so both start the same way.
//
// BARE_MESSAGE=sync-event-shaped (a reference the bench also measures): the same bare
// handler, but the message has the size and attributes of the one postload publishes for
// the bench's body (a SyncEvent envelope around the payload, about 3× the body, and nine
// attributes for subscription filters), so the bench can tell the cost of the message
// postload's contract publishes from the cost of postload's checks.
import * as functions from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';

const topic = new PubSub({ projectId: process.env.GOOGLE_CLOUD_PROJECT }).topic(process.env.SYNC_EVENTS_TOPIC ?? 'sync-events', {
  batching: { maxMessages: 100, maxMilliseconds: 5 },
});
const shaped = process.env.BARE_MESSAGE === 'sync-event-shaped';

functions.http('ingestWebhook', async (req, res) => {
  const body = req.rawBody ?? Buffer.from(JSON.stringify(req.body));
  const id = await topic.publishMessage(shaped ? syncEventShaped(body) : { data: body });
  res.status(202).json({ id });
});

/** @param {Buffer} body */
function syncEventShaped(body) {
  const now = new Date().toISOString();
  const id = 'x'.repeat(32);
  const envelope = `{"schemaVersion":"1","id":"${id}","source":"fivetran","type":"sync.succeeded","vendorEvent":"sync_end","occurredAt":"${now}","receivedAt":"${now}","connector":{"id":"bench_connector_1","name":"bench_pg_1","type":"google_cloud_postgresql"},"destination":{"id":"bench_destination","name":null},"sync":{"id":"${'y'.repeat(36)}","status":"succeeded","vendorStatus":"SUCCESSFUL","startedAt":null,"finishedAt":"${now}","rescheduledAt":null},"metrics":null,"error":null,"summary":"Fivetran bench_pg_1: sync succeeded","payload":`;
  return {
    data: Buffer.concat([Buffer.from(envelope), body, Buffer.from('}')]),
    attributes: {
      eventId: id,
      schemaVersion: '1',
      source: 'fivetran',
      type: 'sync.succeeded',
      vendorEvent: 'sync_end',
      connectorId: 'bench_connector_1',
      connectorName: 'bench_pg_1',
      destinationId: 'bench_destination',
      status: 'succeeded',
    },
  };
}
