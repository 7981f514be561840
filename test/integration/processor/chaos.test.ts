import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { freePort } from '../../../functions/local/emulators.js';
import { fakeDbtCloud, mulberry32, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { deliveredMessages, fakeSlack } from '../../../functions/local/fake-slack.js';
import { startFunction, type FunctionProcess } from '../../../functions/local/function-process.js';
import { pollUntil } from '../../../functions/local/poll.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { emulator, PROJECT_ID } from '../../support/global-hooks.js';
import { emulatorFirestore, standInEnv } from '../../support/processor-harness.js';
import { failedSync, signedMessage, syncEvent } from '../../support/sync-event-fixtures.js';

// Exactly-once under faults, through the real push path: Pub/Sub emulator → push
// subscription → the built processor under the Functions Framework → Firestore emulator,
// with dbt Cloud and Slack stand-ins that answer 429 with Retry-After, 5xx, and (dbt
// Cloud) "run queued but the answer lost" (a dropped connection, or a 502 after queuing).
// Vendor duplicates are published as separate messages, some at the same moment.
// The job is `queue` (one run per event): this is about exactly-once triggering, not coalescing.
// CHAOS_EVENTS sets the size (CI: 200; `npm run chaos`: 1000).
const EVENTS = Number(process.env.CHAOS_EVENTS ?? 200);
const DUPLICATE_SHARE = 0.3;
const SEED = Number(process.env.CHAOS_SEED ?? 20261129);

describe(`chaos: ${EVENTS} events with vendor duplicates and faulty dbt Cloud and Slack, through the push path`, function () {
  this.timeout(Math.max(120_000, EVENTS * 600));
  let dbt: FakeDbtCloud;
  let slack: RecordingServer;
  let served: FunctionProcess | undefined;
  let db: Firestore;
  let pubsub: PubSub;

  before(async function () {
    if (!existsSync('dist/index.js')) throw new Error('dist/ is not built: run `npm run build` (npm test does it first)');
    const pubsubHost = await emulator('pubsub', this);
    const firestoreHost = await emulator('firestore', this);
    dbt = fakeDbtCloud({ chaos: { seed: SEED, rate: 0.25, faults: [{ status: 429, headers: { 'retry-after': '1' }, body: { status: { code: 429 } } }, { status: 500, body: 'error' }, 'lost', 'started-then-502'] } });
    slack = fakeSlack({ chaos: { seed: SEED + 1, rate: 0.2, faults: [{ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }, { status: 500, body: 'rollup_error' }] } });
    await Promise.all([dbt.start(), slack.start()]);
    const dir = mkdtempSync(join(tmpdir(), 'postload-chaos-'));
    const routing = join(dir, 'routing.json');
    writeFileSync(routing, JSON.stringify({ routes: [{ name: 'all', match: { source: 'fivetran', connectorId: { glob: 'chaos-*' } }, dbtJobs: [{ jobId: 4242, onBusy: 'queue' }], slack: { notify: ['sync.succeeded', 'sync.failed'] } }] }));
    const collection = `chaos-${process.pid}`;
    served = await startFunction({
      target: 'processSyncEvent',
      port: await freePort(),
      env: {
        ROUTING_CONFIG: routing,
        ...standInEnv(dbt, slack, { token: 'dbtc_chaos', webhookPath: '/services/T/B/chaos' }),
        FIRESTORE_EMULATOR_HOST: firestoreHost,
        AUDIT_COLLECTION: collection,
        CONNECTORS_COLLECTION: `chaos-connectors-${process.pid}`,
        JOB_STATE_COLLECTION: `chaos-jobs-${process.pid}`,
        OUTBOUND_BUDGET_MS: '6000',
        OUTBOUND_TIMEOUT_MS: '1500',
        OUTBOUND_RETRY_MIN_DELAY_MS: '20',
        OUTBOUND_RETRY_MAX_DELAY_MS: '200',
        OUTBOUND_MAX_ATTEMPTS: '3',
        ACTION_LEASE_SECONDS: '8',
        LOG_LEVEL: 'warn',
      },
    });
    db = emulatorFirestore(firestoreHost);
    pubsub = new PubSub({ projectId: PROJECT_ID, apiEndpoint: pubsubHost, emulatorMode: true });
  });

  after(async () => {
    await served?.stop();
    await Promise.all([dbt?.stop(), slack?.stop()]);
    await db?.terminate();
    await pubsub?.close();
  });

  it('every event ends processed, with exactly one dbt run per (event, job) and one Slack message per notified event', async () => {
    const random = mulberry32(SEED + 2);
    const events: SyncEvent[] = Array.from({ length: EVENTS }, (_, i) => {
      const connector = { id: `chaos-${i % 17}`, name: `chaos-${i % 17}` };
      return random() < 0.8 ? syncEvent({ connector, sync: { id: `sync-${SEED}-${i}` } }) : failedSync({ connector, sync: { id: `sync-${SEED}-${i}` } });
    });
    const topic = (await pubsub.createTopic(`chaos-${process.pid}`))[0];
    await topic.createSubscription(`chaos-push-${process.pid}`, { pushConfig: { pushEndpoint: `${served!.url}/` }, ackDeadlineSeconds: 30 });

    const publish = (event: SyncEvent) => topic.publishMessage(signedMessage(event));
    const duplicates = events.filter(() => random() < DUPLICATE_SHARE);
    // Some duplicates right beside their original (concurrent), the rest after a while.
    await Promise.all(events.map((event) => publish(event)));
    await Promise.all(duplicates.slice(0, Math.ceil(duplicates.length / 2)).map((event) => publish(event)));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await Promise.all(duplicates.slice(Math.ceil(duplicates.length / 2)).map((event) => publish(event)));

    const collection = db.collection(`chaos-${process.pid}`);
    await pollUntil(
      async () => {
        const done = await collection.where('status', '==', 'processed').count().get();
        return done.data().count === EVENTS ? true : undefined;
      },
      { timeoutMs: this.timeout() - 20_000, everyMs: 1000, failure: () => `not every event was processed (${dbt.runs.length} runs so far)` },
    );
    // Let stragglers (redeliveries of duplicates) land before counting.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    const messages = deliveredMessages(slack);
    const problems: string[] = [];
    for (const event of events) {
      const runs = dbt.runsFor(event.id).length;
      const expectedRuns = event.type === 'sync.succeeded' ? 1 : 0;
      if (runs !== expectedRuns) problems.push(`${event.id} (${event.type}): ${runs} dbt runs`);
      const sent = messages.filter((m) => JSON.stringify(m).includes(event.id)).length;
      if (sent !== 1) problems.push(`${event.id} (${event.type}): ${sent} Slack messages`);
    }
    const faults = dbt.replies.filter((r) => r === 'drop' || (typeof r === 'object' && r.status >= 429)).length;
    assert.ok(faults > EVENTS / 10, `the stand-ins injected only ${faults} faults`);
    assert.deepEqual(problems, [], `${problems.length} violations`);
  });
});
