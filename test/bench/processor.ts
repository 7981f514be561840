import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signFivetranPayload } from '../../functions/ingest/fivetran/signature.js';
import { table } from '../../functions/local/console-output.js';
import { freePort, startEmulator } from '../../functions/local/emulators.js';
import { fakeDbtCloud, triggerRequests } from '../../functions/local/fake-dbt-cloud.js';
import { fakeSlack } from '../../functions/local/fake-slack.js';
import { startFunction } from '../../functions/local/function-process.js';
import { EmulatorAdmin } from '../../functions/local/pubsub-admin.js';
import { RecordingServer } from '../../functions/local/recording-server.js';
import { readProcessorConfig } from '../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../functions/processor/process-sync-event.js';
import { GrpcStreamCounter } from '../support/grpc-stream-counter.js';
import { emulatorFirestore, quietLogger, standInEnv } from '../support/processor-harness.js';
import { failedSync, pubSubCloudEvent, syncEvent, TEST_SIGNING_KEY } from '../support/sync-event-fixtures.js';

// The processor's part of `npm run bench`: Firestore RPCs per event, counted on the wire
// (the same counter as test/integration/processor/firestore-rpcs.test.ts), and the
// latency from a signed Fivetran webhook to the dbt Cloud stand-in receiving the trigger,
// through ingest, the Pub/Sub emulator's push subscription, the processor and Firestore.
const PROJECT = 'postload-bench';
const LATENCY_SAMPLES = 20;

const ROUTING = {
  routes: [
    { name: 'one-job', match: { source: 'fivetran', connectorId: { glob: 'one*' } }, dbtJobs: [{ jobId: 11 }], slack: { notify: [] } },
    { name: 'three-jobs', match: { source: 'fivetran', connectorId: 'three' }, dbtJobs: [{ jobId: 31 }, { jobId: 32 }, { jobId: 33 }], slack: { notify: ['sync.succeeded'] } },
    { name: 'coalescing', match: { source: 'fivetran', connectorId: 'coalesce' }, dbtJobs: [{ jobId: 41 }], slack: { notify: [] } },
    { name: 'skipping', match: { source: 'fivetran', connectorId: 'skip' }, dbtJobs: [{ jobId: 42, onBusy: 'skip' }], slack: { notify: [] } },
    { name: 'queued', match: { source: 'fivetran', connectorId: 'queue' }, dbtJobs: [{ jobId: 43, onBusy: 'queue' }], slack: { notify: [] } },
  ],
};

export interface PipelineFigures {
  firestoreRpcs: Record<string, number>;
  /** Signed webhook sent → dbt Cloud stand-in receives the trigger. */
  webhookToDbtTrigger: Percentiles;
  /** The emulator alone: a publish (REST) sent → its push delivered to a bare HTTP server. */
  emulatorPublishToPush: Percentiles;
}

interface Percentiles {
  samples: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
}

function percentiles(latencies: number[]): Percentiles {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { samples: sorted.length, p50Ms: at(0.5), p90Ms: at(0.9), maxMs: at(1) };
}

export async function benchProcessor(pubsubHost: string): Promise<PipelineFigures> {
  const firestore = await startEmulator('firestore');
  const dbt = fakeDbtCloud();
  const slack = fakeSlack();
  await Promise.all([dbt.start(), slack.start()]);
  const env = {
    ROUTING_CONFIG: JSON.stringify(ROUTING),
    ...standInEnv(dbt, slack, { token: 'dbtc_bench', webhookPath: '/services/T/B/bench' }, PROJECT),
    METADATA_SERVER_DETECTION: 'none',
  };
  try {
    console.log('\nProcessor: Firestore RPCs per event (counted on the wire against the emulator; budget: 3 routed in every onBusy mode, 2 duplicate)\n');
    const counter = new GrpcStreamCounter(firestore.host);
    const proxied = await counter.start();
    const db = emulatorFirestore(proxied, PROJECT);
    const run = createSyncEventProcessor(readProcessorConfig(env), { firestore: db, logger: quietLogger() });
    await db.collection('warm-up').doc('x').get();
    const count = async (work: () => Promise<void>) => {
      counter.count = 0;
      await work();
      return String(counter.count);
    };
    const duplicate = syncEvent({ connector: { id: 'one-dup', name: 'one-dup' } });
    const load = (connector: string) => pubSubCloudEvent(syncEvent({ connector: { id: connector, name: connector } }));
    // A second instance with its own counted connection: an event covered by another's open batch, counted alone.
    const otherCounter = new GrpcStreamCounter(firestore.host);
    const otherDb = emulatorFirestore(await otherCounter.start(), PROJECT);
    const other = createSyncEventProcessor(readProcessorConfig(env), { firestore: otherDb, logger: quietLogger() });
    await otherDb.collection('warm-up').doc('x').get();
    const rows: [string, string][] = [
      ['routed success, one dbt job', await count(() => run(pubSubCloudEvent(syncEvent({ connector: { id: 'one', name: 'one' } }))))],
      ['failure, one Slack alert', await count(() => run(pubSubCloudEvent(failedSync({ connector: { id: 'unrouted', name: 'unrouted' } }))))],
      ['three dbt jobs and a Slack message', await count(() => run(pubSubCloudEvent(syncEvent({ connector: { id: 'three', name: 'three' } }))))],
      ['duplicate of a finished event', await (async () => {
        await run(pubSubCloudEvent(duplicate, 'first'));
        return count(() => run(pubSubCloudEvent(duplicate, 'second')));
      })()],
      // Issue 26: every onBusy mode, every part an event plays in a batch.
      ['coalesce, idle job: holds its batch, starts the run', await count(() => run(load('coalesce')))],
      ['coalesce, batch merged into a waiting run', await count(() => run(load('coalesce')))],
      ["coalesce, covered by another event's open batch", await (async () => {
        const holding = run(load('coalesce'));
        await new Promise((resolve) => setTimeout(resolve, 300));
        otherCounter.count = 0;
        await other(load('coalesce'));
        const rpcs = String(otherCounter.count);
        await holding;
        return rpcs;
      })()],
      ['skip, batch skipped for a running run', await (async () => {
        await run(load('skip'));
        dbt.setStatus(dbt.runs.at(-1)!.id, 3);
        return count(() => run(load('skip')));
      })()],
      ['queue', await count(() => run(load('queue')))],
    ];
    await otherDb.terminate();
    await otherCounter.stop();
    console.log(table(['event', 'Firestore RPCs'], rows));
    const firestoreRpcs = Object.fromEntries(rows.map(([event, count]) => [event, Number(count)]));
    await db.terminate();
    await counter.stop();

    const emulatorPublishToPush = await publishToPush(pubsubHost);

    console.log(`\nWebhook → dbt Cloud stand-in (${LATENCY_SAMPLES} signed Fivetran sync_end, one at a time, through ingest, Pub/Sub push, the processor and Firestore)\n`);
    const dir = mkdtempSync(join(tmpdir(), 'postload-bench-'));
    const routing = join(dir, 'routing.json');
    // queue: every sample must start its own run (coalesce would merge them into the first, still queued).
    writeFileSync(routing, JSON.stringify({ routes: [{ name: 'all', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 11, onBusy: 'queue' }], slack: { notify: [] } }] }));
    const topic = `bench-latency-${process.pid}`;
    const admin = new EmulatorAdmin(pubsubHost, PROJECT);
    await admin.ensureTopic(topic);
    await admin.ensureTopic(`${topic}-dead-letter`);
    const processor = await startFunction({
      target: 'processSyncEvent',
      port: await freePort(),
      env: { ...env, ROUTING_CONFIG: routing, FIRESTORE_EMULATOR_HOST: firestore.host, LOG_LEVEL: 'warn' },
    });
    const ingest = await startFunction({
      target: 'ingestWebhook',
      port: await freePort(),
      env: { PUBSUB_EMULATOR_HOST: pubsubHost, GOOGLE_CLOUD_PROJECT: PROJECT, SYNC_EVENTS_TOPIC: topic, FIVETRAN_WEBHOOK_SECRET: 'bench-secret', AIRBYTE_WEBHOOK_TOKEN: 'bench-airbyte', SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY, METADATA_SERVER_DETECTION: 'none', LOG_LEVEL: 'warn' },
    });
    try {
      await admin.ensurePushSubscription(`${topic}-processor`, { topic, endpoint: `${processor.url}/projects/${PROJECT}/topics/${topic}`, deadLetterTopic: `${topic}-dead-letter` });
      const latencies: number[] = [];
      for (let i = 0; i < LATENCY_SAMPLES + 2; i++) {
        const syncId = randomUUID();
        const body = JSON.stringify({ event: 'sync_end', created: new Date().toISOString(), connector_type: 'postgres', connector_id: `bench_${i}`, connector_name: `bench_${i}`, sync_id: syncId, destination_group_id: 'bench', data: { status: 'SUCCESSFUL' } });
        const started = performance.now();
        const response = await fetch(`${ingest.url}/fivetran`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fivetran-signature-256': signFivetranPayload(body, 'bench-secret') }, body });
        await response.arrayBuffer();
        await dbt.waitFor(1, { timeoutMs: 30_000, filter: (r) => r.method === 'POST' && (r.json as { cause?: string } | undefined)?.cause?.includes(syncId) === true });
        if (i >= 2) latencies.push(performance.now() - started); // the first two warm both functions up
      }
      const webhookToDbtTrigger = percentiles(latencies);
      const show = ({ samples, p50Ms, p90Ms, maxMs }: Percentiles) => [String(samples), `${p50Ms} ms`, `${p90Ms} ms`, `${maxMs} ms`];
      console.log(
        table(
          ['path', 'samples', 'p50', 'p90', 'max'],
          [
            ['webhook → ingest → Pub/Sub push → processor → dbt Cloud trigger', ...show(webhookToDbtTrigger)],
            ['the emulator alone: publish → push delivered', ...show(emulatorPublishToPush)],
          ],
        ),
      );
      console.log(`dbt runs started: ${triggerRequests(dbt).length}`);
      return { firestoreRpcs, webhookToDbtTrigger, emulatorPublishToPush };
    } finally {
      await ingest.stop();
      await processor.stop();
    }
  } finally {
    await Promise.all([dbt.stop(), slack.stop()]);
    await firestore.stop();
  }
}

/**
 * The floor under the pipeline figure: the Pub/Sub emulator's own publish → push delivery,
 * measured the same way (one message at a time) to an HTTP server that only answers 204.
 */
async function publishToPush(pubsubHost: string): Promise<Percentiles> {
  const receiver = new RecordingServer('push receiver', () => ({ status: 204 }));
  const url = await receiver.start();
  const admin = new EmulatorAdmin(pubsubHost, PROJECT);
  const topic = `bench-push-${process.pid}`;
  await admin.ensureTopic(topic);
  await admin.ensureTopic(`${topic}-dead-letter`);
  await admin.ensurePushSubscription(`${topic}-receiver`, { topic, endpoint: `${url}/push`, deadLetterTopic: `${topic}-dead-letter` });
  try {
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES + 2; i++) {
      const marker = randomUUID();
      const started = performance.now();
      const response = await fetch(`http://${pubsubHost}/v1/projects/${PROJECT}/topics/${topic}:publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ data: Buffer.from(marker).toString('base64') }] }),
      });
      if (!response.ok) throw new Error(`publish to the emulator failed: ${response.status} ${await response.text()}`);
      await receiver.waitFor(1, { timeoutMs: 30_000, filter: (r) => r.body.includes(Buffer.from(marker).toString('base64')) });
      if (i >= 2) latencies.push(performance.now() - started);
    }
    return percentiles(latencies);
  } finally {
    await receiver.stop();
  }
}
