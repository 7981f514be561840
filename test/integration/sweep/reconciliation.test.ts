import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Firestore } from '@google-cloud/firestore';
import type { AirbyteWebhook } from '../../../functions/generated/airbyte-webhook.schema.js';
import type { FivetranWebhook } from '../../../functions/generated/fivetran-webhook.schema.js';
import { normaliseAirbyte } from '../../../functions/ingest/airbyte/normalise.js';
import { normaliseFivetran } from '../../../functions/ingest/fivetran/normalise.js';
import { PubSubPublisher } from '../../../functions/ingest/publisher.js';
import { fakeAirbyte, type FakeAirbyte } from '../../../functions/local/fake-airbyte.js';
import { fakeDbtCloud, triggerRequests, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { fakeFivetran, type FakeFivetran } from '../../../functions/local/fake-fivetran.js';
import { deliveredMessages, fakeSlack } from '../../../functions/local/fake-slack.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import { createLogger } from '../../../functions/shared/logger.js';
import { decodeSyncEvent, type SyncEvent } from '../../../functions/shared/sync-event.js';
import { readSweepConfig } from '../../../functions/sweep/config.js';
import { createSweep } from '../../../functions/sweep/sweep.js';
import { emulator, PROJECT_ID } from '../../support/global-hooks.js';
import { emulatorFirestore } from '../../support/processor-harness.js';
import { EmulatorPubSub } from '../../support/pubsub-emulator.js';
import { pubSubCloudEvent, TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

process.env.METADATA_SERVER_DETECTION ??= 'none';

// Issue 27's reconciliation on the emulators, with the Fivetran and Airbyte API stand-ins and
// a fake clock: a webhook dropped on purpose is recovered by the sweep and its dbt job runs
// once; the late webhook afterwards starts nothing. A vendor API that is down or rate-limited
// is skipped with a log line, and never causes an "overdue".

const MIN = 60_000;
const T0 = Date.parse('2026-06-01T08:00:00Z');
const AIRBYTE_ID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const ROUTING = {
  routes: [
    { name: 'orders', match: { source: 'fivetran', connectorId: 'orders' }, dbtJobs: [{ jobId: 101 }], slack: { notify: [] } },
    { name: 'finance', match: { source: 'airbyte', connectorId: AIRBYTE_ID }, dbtJobs: [{ jobId: 102 }], slack: { notify: [] } },
  ],
  freshness: { realert: 'off' },
};

describe('reconciliation on the emulators: dropped webhooks are recovered, late ones start nothing', function () {
  this.timeout(120_000);
  let db: Firestore;
  let pubsub: EmulatorPubSub;
  let dbt: FakeDbtCloud;
  let slack: RecordingServer;
  let fivetran: FakeFivetran;
  let airbyte: FakeAirbyte;
  let topic: string;
  let subscription: string;
  let clock = T0;
  let env: Record<string, string>;
  let n = 0;
  const logs: string[] = [];
  const logger = createLogger(new Writable({ write(chunk: Buffer, _e, done) { logs.push(chunk.toString()); done(); } }));

  before(async function () {
    db = emulatorFirestore(await emulator('firestore', this));
    pubsub = new EmulatorPubSub(await emulator('pubsub', this), PROJECT_ID);
    process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
    [dbt, slack, fivetran, airbyte] = [fakeDbtCloud(), fakeSlack(), fakeFivetran(), fakeAirbyte()];
    await Promise.all([dbt.start(), slack.start(), fivetran.start(), airbyte.start()]);
  });
  after(async () => {
    delete process.env.PUBSUB_EMULATOR_HOST;
    await Promise.all([dbt.stop(), slack.stop(), fivetran.stop(), airbyte.stop()]);
    await db?.terminate();
  });
  beforeEach(async () => {
    n++;
    logs.length = 0;
    for (const stand of [dbt, slack, fivetran, airbyte]) stand.reset();
    fivetran.connections.clear();
    airbyte.connections.clear();
    airbyte.jobs.length = 0;
    clock = T0;
    topic = await pubsub.createTopic('recovered');
    subscription = await pubsub.createPullSubscription(topic);
    env = {
      ROUTING_CONFIG: JSON.stringify(ROUTING),
      GOOGLE_CLOUD_PROJECT: PROJECT_ID,
      SYNC_EVENTS_TOPIC: topic,
      DBT_CLOUD_BASE_URL: dbt.url,
      DBT_CLOUD_ACCOUNT_ID: '7',
      DBT_CLOUD_API_TOKEN: 'dbtc_reconciliation_test_token_0123456789',
      SLACK_WEBHOOK_URL: `${slack.url}/services/T/B/reconcile`,
      SLACK_WEBHOOK_HOSTS: new URL(slack.url).origin,
      SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY,
      FIVETRAN_API_BASE_URL: `${fivetran.url}/v1`,
      FIVETRAN_API_KEY: fivetran.apiKey,
      FIVETRAN_API_SECRET: fivetran.apiSecret,
      AIRBYTE_API_BASE_URL: `${airbyte.url}/v1`,
      AIRBYTE_API_CLIENT_ID: airbyte.clientId,
      AIRBYTE_API_CLIENT_SECRET: airbyte.clientSecret,
      RECONCILE_AFTER_SECONDS: '900',
      VENDOR_API_TIMEOUT_MS: '1000',
      AUDIT_COLLECTION: `rc-events-${process.pid}-${n}`,
      CONNECTORS_COLLECTION: `rc-connectors-${process.pid}-${n}`,
      JOB_STATE_COLLECTION: `rc-jobs-${process.pid}-${n}`,
      JOINS_COLLECTION: `rc-joins-${process.pid}-${n}`,
      FRESHNESS_COLLECTION: `rc-freshness-${process.pid}-${n}`,
      SWEEP_COLLECTION: `rc-sweep-${process.pid}-${n}`,
      OUTBOUND_RETRY_MIN_DELAY_MS: '20',
      OUTBOUND_RETRY_MAX_DELAY_MS: '100',
    };
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(logs.slice(-40).join(''));
  });

  const processor = () => createSyncEventProcessor(readProcessorConfig(env), { firestore: db, logger, now: () => clock });
  const sweep = () => createSweep(readSweepConfig(env), { firestore: db, logger, now: () => clock, publisher: new PubSubPublisher(topic, 10_000, PROJECT_ID) });
  const tick = async (ms: number) => {
    clock = ms;
    return sweep().tick();
  };
  /** What the sweep published, delivered to the processor as the push subscription would. */
  const deliverRecovered = async (expected: number): Promise<SyncEvent[]> => {
    const messages = expected ? await pubsub.pullAtLeast(subscription, expected) : await pubsub.pull(subscription);
    assert.equal(messages.length, expected, `${messages.length} recovered events published`);
    const events = messages.map((m) => decodeSyncEvent(m.data));
    for (const [i, event] of events.entries()) {
      assert.equal(messages[i]!.attributes.recovery, 'reconciliation');
      // Delivered exactly as published: the processor checks the sweep's own signature.
      await processor()(pubSubCloudEvent(Buffer.from(messages[i]!.data), undefined, { signingKey: null, attributes: messages[i]!.attributes }));
      assert.notEqual((await audit(event.id))?.status, undefined, 'the processor acted on the sweep\'s signed message');
    }
    return events;
  };
  const audit = async (id: string) => (await db.collection(env.AUDIT_COLLECTION!).doc(id).get()).data()!;

  it('Fivetran: a sync_end dropped on purpose is recovered once it settles, its dbt job runs once, and the late webhook starts nothing', async () => {
    fivetran.addConnection({ id: 'orders', schema: 'orders_pg', sync_frequency: 60, succeeded_at: new Date(T0 - 30 * MIN).toISOString() });
    await tick(T0);
    await deliverRecovered(0); // a sync from before postload watched is never recovered

    const dropped = fivetran.finishSync('orders', { at: new Date(T0 + 10 * MIN) });
    await tick(T0 + 15 * MIN);
    await deliverRecovered(0); // not settled: its webhook may still be on its way (Fivetran retries after 5 minutes)
    await tick(T0 + 26 * MIN);
    const [recovered] = await deliverRecovered(1);
    assert.equal(recovered!.type, 'sync.succeeded');
    assert.equal(recovered!.occurredAt, new Date(T0 + 10 * MIN).toISOString());
    assert.deepEqual(recovered!.recovery?.dedupe, { kind: 'window', finishedAt: recovered!.occurredAt, windowSeconds: 300 });
    assert.equal(triggerRequests(dbt).length, 1, 'its dbt job ran');
    assert.ok(logs.some((l) => l.includes('"webhook never arrived: sync recovered from the vendor API"')));

    await tick(T0 + 31 * MIN);
    await tick(T0 + 31 * MIN);
    await deliverRecovered(0); // found once

    clock = T0 + 40 * MIN;
    const late = normaliseFivetran(JSON.parse(dropped) as FivetranWebhook, new Date(clock));
    assert.notEqual(late.id, recovered!.id, 'the webhook carries a sync_id the API never shows: another id');
    await processor()(pubSubCloudEvent(late));
    assert.equal(triggerRequests(dbt).length, 1, 'the late webhook started nothing');
    const record = await audit(late.id);
    assert.equal(record.duplicateOf, recovered!.id);
    assert.equal(record.status, 'processed');
    assert.deepEqual(record.actions, {});

    // The next sync's webhook arrives as usual and starts the job again: the recovered sync is matched once.
    const next = fivetran.finishSync('orders', { at: new Date(T0 + 70 * MIN) });
    clock = T0 + 70 * MIN + 2000;
    for (const run of dbt.runs) dbt.setStatus(run.id, 10);
    await processor()(pubSubCloudEvent(normaliseFivetran(JSON.parse(next) as FivetranWebhook, new Date(clock))));
    assert.equal(triggerRequests(dbt).length, 2);
    await tick(T0 + 90 * MIN);
    await deliverRecovered(0); // held: nothing recovered
  });

  it('Airbyte: the job id links the recovered event and the late webhook', async () => {
    airbyte.addConnection({ connectionId: AIRBYTE_ID, name: 'finance_pg', schedule: { scheduleType: 'basic', basicTiming: 'Every 1 HOURS' } });
    await tick(T0);
    const { job, webhook } = airbyte.runJob(AIRBYTE_ID, { at: new Date(T0 + 5 * MIN) });
    await tick(T0 + 21 * MIN);
    const [recovered] = await deliverRecovered(1);
    assert.equal(recovered!.sync.id, String(job.jobId));
    assert.deepEqual(recovered!.recovery?.dedupe, { kind: 'job', jobId: String(job.jobId) });
    assert.equal(triggerRequests(dbt).length, 1);

    clock = T0 + 30 * MIN;
    const late = normaliseAirbyte(JSON.parse(webhook) as AirbyteWebhook, new Date(clock));
    await processor()(pubSubCloudEvent(late));
    assert.equal(triggerRequests(dbt).length, 1, 'the late webhook started nothing');
    assert.equal((await audit(late.id)).duplicateOf, recovered!.id);
    await tick(T0 + 36 * MIN);
    await deliverRecovered(0);
  });

  it('a vendor API that is down or rate-limited is skipped with a log line, never an "overdue" from postload\'s blindness, and not called again before its Retry-After', async () => {
    fivetran.addConnection({ id: 'orders', schema: 'orders_pg', sync_frequency: 15, succeeded_at: new Date(T0 - 5 * MIN).toISOString() });
    await tick(T0);
    const doc = () => db.collection(env.FRESHNESS_COLLECTION!).doc('fivetran-orders').get().then((s) => s.data()!);
    assert.deepEqual([(await doc()).state, (await doc()).expectation.source], ['fresh', 'fivetran']);

    // Fivetran's API is down long past the connector's deadline (every 15 min + 15 min offset allowance + 15 min grace).
    for (const minutes of [30, 40, 50, 60]) {
      fivetran.script({ status: 503, body: { code: 'ServiceUnavailable', message: 'down' } });
      const report = await tick(T0 + minutes * MIN);
      assert.deepEqual(report.blindVendors, ['fivetran']);
    }
    assert.equal((await doc()).state, 'fresh', 'no worse state while postload cannot see');
    assert.equal(deliveredMessages(slack).length, 0);
    assert.ok(logs.some((l) => l.includes('"vendor API skipped this tick"') && l.includes('"unavailable"')));

    // A 429: skipped, and not asked again until its Retry-After has passed.
    fivetran.rateLimit(1, 600);
    await tick(T0 + 61 * MIN);
    const calls = fivetran.requests.length;
    await tick(T0 + 65 * MIN);
    await tick(T0 + 70 * MIN);
    assert.equal(fivetran.requests.length, calls, 'no call before Retry-After');
    assert.ok(logs.some((l) => l.includes('waiting as it asked (Retry-After)')));

    // Seen again: it really is silent, so now it is overdue, and alerted once.
    await tick(T0 + 72 * MIN);
    assert.ok(fivetran.requests.length > calls);
    assert.equal((await doc()).state, 'overdue');
    assert.equal(deliveredMessages(slack).length, 1);

    // Garbage is skipped like an outage.
    fivetran.script({ status: 200, body: 'not json' });
    assert.deepEqual((await tick(T0 + 80 * MIN)).blindVendors, ['fivetran']);
  });
});
