import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { freePort } from '../../../functions/local/emulators.js';
import { fakeDbtCloud, mulberry32, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { deliveredMessages, fakeSlack } from '../../../functions/local/fake-slack.js';
import { startFunction, type FunctionProcess } from '../../../functions/local/function-process.js';
import { pollUntil } from '../../../functions/local/poll.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { coveringRunId } from '../../support/coverage.js';
import { emulator, PROJECT_ID } from '../../support/global-hooks.js';
import { emulatorFirestore, standInEnv } from '../../support/processor-harness.js';
import { failedSync, signedMessage, syncEvent } from '../../support/sync-event-fixtures.js';

// Exactly-once under faults, through the real push path: Pub/Sub emulator → push
// subscription → two built processors under the Functions Framework (Pub/Sub pushes to
// both, as to two instances) → Firestore emulator, with dbt Cloud and Slack stand-ins that
// answer 429 with Retry-After, 5xx, and (dbt Cloud) "run queued but the answer lost" (a
// dropped connection, or a 502 after queuing). Vendor duplicates are published as separate
// messages, some at the same moment. Once per onBusy mode (issue 26):
// - queue: exactly one run per successful event;
// - coalesce: every successful event is covered by a run (the one it started, the one its
//   batch merged into, or its batch holder's) that began executing after the event was
//   accepted: runs move from queued to running (after 1 s) and finish (5 s later) on their
//   own while events keep arriving, so merging into a run that already read its data
//   would show;
// - skip: every successful event started a run, or is covered by one that was active;
// and in every mode one Slack message per notified event, no run started twice for one
// event, every event processed.
// CHAOS_EVENTS sets the size of the queue round (CI: 200; `npm run chaos`: 1000); the
// batching modes take half as many.
const EVENTS = Number(process.env.CHAOS_EVENTS ?? 200);
const DUPLICATE_SHARE = 0.3;
const SEED = Number(process.env.CHAOS_SEED ?? 20261129);
const JOB = 4242;

for (const mode of ['queue', 'coalesce', 'skip'] as const) {
  const events = mode === 'queue' ? EVENTS : Math.ceil(EVENTS / 2);
  describe(`chaos (${mode}): ${events} events with vendor duplicates and faulty dbt Cloud and Slack, through the push path to two instances`, function () {
    this.timeout(Math.max(150_000, events * 700));
    let dbt: FakeDbtCloud;
    let slack: RecordingServer;
    const served: FunctionProcess[] = [];
    let db: Firestore;
    let pubsub: PubSub;
    const collection = `chaos-${mode}-${process.pid}`;

    before(async function () {
      if (!existsSync('dist/index.js')) throw new Error('dist/ is not built: run `npm run build` (npm test does it first)');
      const pubsubHost = await emulator('pubsub', this);
      const firestoreHost = await emulator('firestore', this);
      // Under coalesce and skip few events trigger (a batch's holder): its look at the runs fails too.
      dbt = fakeDbtCloud({ chaos: { seed: SEED, rate: 0.25, lists: mode !== 'queue', faults: [{ status: 429, headers: { 'retry-after': '1' }, body: { status: { code: 429 } } }, { status: 500, body: 'error' }, 'lost', 'started-then-502'] } });
      // Under coalesce and skip, runs start and finish on their own, as dbt Cloud's do.
      if (mode !== 'queue') dbt.progressRuns(1000, 5000);
      slack = fakeSlack({ chaos: { seed: SEED + 1, rate: 0.2, faults: [{ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }, { status: 500, body: 'rollup_error' }] } });
      await Promise.all([dbt.start(), slack.start()]);
      const dir = mkdtempSync(join(tmpdir(), 'postload-chaos-'));
      const routing = join(dir, 'routing.json');
      writeFileSync(routing, JSON.stringify({ routes: [{ name: 'all', match: { source: 'fivetran', connectorId: { glob: 'chaos-*' } }, dbtJobs: [{ jobId: JOB, onBusy: mode }], slack: { notify: ['sync.succeeded', 'sync.failed'] } }] }));
      for (let i = 0; i < 2; i++) {
        served.push(
          await startFunction({
            target: 'processSyncEvent',
            port: await freePort(),
            env: {
              ROUTING_CONFIG: routing,
              ...standInEnv(dbt, slack, { token: 'dbtc_chaos', webhookPath: '/services/T/B/chaos' }),
              FIRESTORE_EMULATOR_HOST: firestoreHost,
              AUDIT_COLLECTION: collection,
              CONNECTORS_COLLECTION: `chaos-connectors-${mode}-${process.pid}`,
              JOB_STATE_COLLECTION: `chaos-jobs-${mode}-${process.pid}`,
              OUTBOUND_BUDGET_MS: '6000',
              OUTBOUND_TIMEOUT_MS: '1500',
              OUTBOUND_RETRY_MIN_DELAY_MS: '20',
              OUTBOUND_RETRY_MAX_DELAY_MS: '200',
              OUTBOUND_MAX_ATTEMPTS: '3',
              ACTION_LEASE_SECONDS: '8',
              COALESCE_WINDOW_MS: '300',
              LOG_LEVEL: 'warn',
            },
          }),
        );
      }
      db = emulatorFirestore(firestoreHost);
      pubsub = new PubSub({ projectId: PROJECT_ID, apiEndpoint: pubsubHost, emulatorMode: true });
    });

    after(async () => {
      await Promise.all(served.map((fn) => fn.stop()));
      await Promise.all([dbt?.stop(), slack?.stop()]);
      await db?.terminate();
      await pubsub?.close();
    });

    it('every event ends processed; runs, coverage and Slack messages are exact', async () => {
      const random = mulberry32(SEED + 2);
      const all: SyncEvent[] = Array.from({ length: events }, (_, i) => {
        const connector = { id: `chaos-${i % 17}`, name: `chaos-${i % 17}` };
        return random() < 0.8 ? syncEvent({ connector, sync: { id: `sync-${SEED}-${i}` } }) : failedSync({ connector, sync: { id: `sync-${SEED}-${i}` } });
      });
      const topic = (await pubsub.createTopic(`chaos-${mode}-${process.pid}`))[0];
      // Two push subscriptions to two instances would deliver every event twice: one
      // subscription per instance, each event published to one of them (Pub/Sub's load
      // balancing), duplicates to either.
      const topics: Topic[] = [topic, (await pubsub.createTopic(`chaos-${mode}-b-${process.pid}`))[0]];
      for (const [i, fn] of served.entries()) await topics[i]!.createSubscription(`chaos-push-${mode}-${i}-${process.pid}`, { pushConfig: { pushEndpoint: `${fn.url}/` }, ackDeadlineSeconds: 30 });

      const accepted = new Map<string, number>();
      const publish = (event: SyncEvent) => {
        if (!accepted.has(event.id)) accepted.set(event.id, Date.now());
        return topics[random() < 0.5 ? 0 : 1]!.publishMessage(signedMessage(event));
      };
      const duplicates = all.filter(() => random() < DUPLICATE_SHARE);
      // In waves a second apart (runs start 1 s after they are queued and run for 5 s, so
      // later waves arrive while earlier runs execute); some duplicates right beside their original
      // (concurrent), the rest after a while.
      const waves = mode === 'queue' ? 3 : 12;
      for (let wave = 0; wave < waves; wave++) {
        const slice = all.filter((_, i) => i % waves === wave);
        await Promise.all(slice.map((event) => publish(event)));
        await Promise.all(duplicates.filter((d) => slice.includes(d)).slice(0, Math.ceil(slice.length * DUPLICATE_SHARE / 2)).map((event) => publish(event)));
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      await Promise.all(duplicates.map((event) => publish(event)));

      const audits = db.collection(collection);
      await pollUntil(
        async () => {
          const done = await audits.where('status', '==', 'processed').count().get();
          return done.data().count === events ? true : undefined;
        },
        { timeoutMs: this.timeout() - 20_000, everyMs: 1000, failure: () => `not every event was processed (${dbt.runs.length} runs so far)` },
      );
      // Let stragglers (redeliveries of duplicates) land before counting.
      await new Promise((resolve) => setTimeout(resolve, 3000));

      const messages = deliveredMessages(slack);
      const problems: string[] = [];
      for (const event of all) {
        const started = dbt.runsFor(event.id).length;
        const succeeded = event.type === 'sync.succeeded';
        if (mode === 'queue' && started !== (succeeded ? 1 : 0)) problems.push(`${event.id} (${event.type}): ${started} dbt runs`);
        if (started > 1) problems.push(`${event.id}: started ${started} runs`);
        if (succeeded && mode !== 'queue') {
          const runId = await coveringRunId(db, collection, event.id, `dbt-job-${JOB}`);
          const run = dbt.runs.find((r) => r.id === runId);
          if (!run) problems.push(`${event.id}: covered by no run postload started (${String(runId)})`);
          else if (mode === 'coalesce' && run.startedAt && Date.parse(run.startedAt) <= accepted.get(event.id)!) {
            problems.push(`${event.id}: covered by run ${run.id}, which began at ${run.startedAt}, before the event was accepted at ${new Date(accepted.get(event.id)!).toISOString()}`);
          }
        }
        const sent = messages.filter((m) => JSON.stringify(m).includes(event.id)).length;
        if (sent !== 1) problems.push(`${event.id} (${event.type}): ${sent} Slack messages`);
      }
      const faults = [...dbt.replies, ...slack.replies].filter((r) => r === 'drop' || (typeof r === 'object' && r.status >= 429)).length;
      assert.ok(faults > events / 10, `the stand-ins injected only ${faults} faults`);
      assert.deepEqual(problems, [], `${problems.length} violations`);
      if (mode !== 'queue') assert.ok(dbt.runs.length < all.filter((e) => e.type === 'sync.succeeded').length, `${dbt.runs.length} runs: the loads were coalesced`);
    });
  });
}
