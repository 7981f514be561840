import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Firestore } from '@google-cloud/firestore';
import { fakeDbtCloud, triggerRequests, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { deliveredMessages, fakeSlack } from '../../../functions/local/fake-slack.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import { createLogger } from '../../../functions/shared/logger.js';
import { readSweepConfig } from '../../../functions/sweep/config.js';
import { createSweep, type Sweep } from '../../../functions/sweep/sweep.js';
import { emulator } from '../../support/global-hooks.js';
import { runCli } from '../../support/run-cli.js';
import { emulatorFirestore } from '../../support/processor-harness.js';
import { pubSubCloudEvent, syncEvent, TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

// Issue 27 on the Firestore emulator with the dbt Cloud and Slack stand-ins, under a fake
// clock: a connector that stops sending is alerted once, reminded every `realert`, and
// recovered with how long it was overdue, how many syncs it missed and whether its dbt job ran.

process.env.METADATA_SERVER_DETECTION ??= 'none';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-06-01T08:00:00Z');
const CONNECTOR = { id: 'assimilate_seem', name: 'orders_pg' };

const ROUTING = {
  routes: [{ name: 'orders', match: { source: 'fivetran', connectorId: CONNECTOR.id }, dbtJobs: [{ jobId: 101 }], slack: { notify: [] } }],
  freshness: {
    rules: [{ match: { source: 'fivetran', connectorId: CONNECTOR.id }, freshness: { every: '1h', grace: '30m' } }],
    realert: '6h',
  },
};

describe('freshness on the emulator: a silent connector is alerted once, reminded, then recovered', function () {
  this.timeout(120_000);
  let db: Firestore;
  let dbt: FakeDbtCloud;
  let slack: RecordingServer;
  let clock = T0;
  let env: Record<string, string>;
  let n = 0;
  const logs: string[] = [];
  const logger = createLogger(new Writable({ write(chunk: Buffer, _e, done) { logs.push(chunk.toString()); done(); } }));

  let emulatorHost: string;
  before(async function () {
    emulatorHost = await emulator('firestore', this);
    db = emulatorFirestore(emulatorHost);
    dbt = fakeDbtCloud();
    slack = fakeSlack();
    await Promise.all([dbt.start(), slack.start()]);
  });
  after(async () => {
    await Promise.all([dbt.stop(), slack.stop()]);
    await db?.terminate();
  });
  beforeEach(() => {
    n++;
    logs.length = 0;
    dbt.reset();
    slack.reset();
    env = {
      ROUTING_CONFIG: JSON.stringify(ROUTING),
      GOOGLE_CLOUD_PROJECT: 'postload-local',
      DBT_CLOUD_BASE_URL: dbt.url,
      DBT_CLOUD_ACCOUNT_ID: '7',
      DBT_CLOUD_API_TOKEN: 'dbtc_freshness',
      SLACK_WEBHOOK_URL: `${slack.url}/services/T/B/freshness`,
      SLACK_WEBHOOK_HOSTS: new URL(slack.url).origin,
      SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY,
      AUDIT_COLLECTION: `fr-events-${process.pid}-${n}`,
      CONNECTORS_COLLECTION: `fr-connectors-${process.pid}-${n}`,
      JOB_STATE_COLLECTION: `fr-jobs-${process.pid}-${n}`,
      JOINS_COLLECTION: `fr-joins-${process.pid}-${n}`,
      FRESHNESS_COLLECTION: `fr-freshness-${process.pid}-${n}`,
      SWEEP_COLLECTION: `fr-sweep-${process.pid}-${n}`,
      OUTBOUND_RETRY_MIN_DELAY_MS: '20',
      OUTBOUND_RETRY_MAX_DELAY_MS: '100',
    };
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(logs.slice(-30).join(''));
  });

  const processor = () => createSyncEventProcessor(readProcessorConfig(env), { firestore: db, logger, now: () => clock });
  const sweep = (): Sweep => createSweep(readSweepConfig(env), { firestore: db, logger, now: () => clock });
  const at = async (ms: number, s: Sweep = sweep()) => {
    clock = ms;
    return s.tick();
  };
  const loadAt = async (ms: number, connector: { id: string; name: string } = CONNECTOR, failed = false) => {
    clock = ms + 1000;
    const iso = new Date(ms).toISOString();
    const outcome = failed ? { type: 'sync.failed' as const, error: { message: 'password authentication failed', type: null, origin: null } } : {};
    const event = syncEvent({ connector, occurredAt: iso, receivedAt: new Date(ms + 1000).toISOString(), sync: { id: `sync-${ms}`, finishedAt: iso, status: failed ? 'failed' : 'succeeded' }, ...outcome });
    await processor()(pubSubCloudEvent(event));
    return event;
  };
  const freshness = async () => (await db.collection(env.FRESHNESS_COLLECTION!).doc(`fivetran-${CONNECTOR.id}`).get()).data()!;
  const texts = () => deliveredMessages(slack).map((m) => m.text);

  it('fresh, late, overdue (one alert, whatever the ticks do), a reminder every 6h, then one recovery that names the dbt run', async () => {
    await loadAt(T0);
    await at(T0 + 10 * MIN);
    assert.equal((await freshness()).state, 'fresh');
    assert.equal((await freshness()).expectation.source, 'routing');
    await at(T0 + 70 * MIN);
    assert.equal((await freshness()).state, 'late');
    assert.equal(slack.requests.length, 0, 'late is shown, not alerted');

    await at(T0 + 95 * MIN);
    assert.equal((await freshness()).state, 'overdue');
    assert.equal(slack.requests.length, 1);
    assert.match(texts()[0]!, /Fivetran orders_pg is overdue/);
    const alert = JSON.stringify(deliveredMessages(slack)[0]!.blocks);
    assert.match(alert, /every 1h, grace 30m/);
    assert.match(alert, /routing file, freshness rule 1/);
    assert.match(alert, /Routed dbt job 101 will not run/);

    // Duplicated, overlapping and out-of-order ticks add nothing.
    await at(T0 + 95 * MIN);
    clock = T0 + 100 * MIN;
    await Promise.all([sweep().tick(), sweep().tick(), sweep().tick()]);
    await at(T0 + 96 * MIN);
    assert.equal(slack.requests.length, 1, 'one alert per incident');

    await at(T0 + 95 * MIN + 6 * HOUR);
    await at(T0 + 95 * MIN + 6 * HOUR + 5 * MIN);
    assert.equal(slack.requests.length, 2);
    assert.match(texts()[1]!, /still overdue \(reminder 1\)/);

    // The first load's run has ended long since (or the new load would coalesce into it).
    for (const run of dbt.runs) dbt.setStatus(run.id, 10);
    const recovering = await loadAt(T0 + 8 * HOUR);
    assert.equal(triggerRequests(dbt).length, 2, 'the recovering load started its dbt job');
    await at(T0 + 8 * HOUR + 2 * MIN);
    await at(T0 + 8 * HOUR + 3 * MIN);
    assert.equal(slack.requests.length, 3);
    const recovery = deliveredMessages(slack)[2]!;
    assert.match(recovery.text, /orders_pg recovered after 6h 30m overdue; 7 expected syncs were missed/);
    assert.match(JSON.stringify(recovery.blocks), new RegExp(`dbt job 101: run ${dbt.runsFor(recovering.id)[0]!.id} started for this sync`));
    assert.equal((await freshness()).state, 'fresh');
    assert.equal((await freshness()).incident, null);
    assert.deepEqual((await freshness()).outbox, []);

    // The audit trail: every state change, and the incident's whole story.
    const ref = db.collection(env.FRESHNESS_COLLECTION!).doc(`fivetran-${CONNECTOR.id}`);
    const changes = (await ref.collection('freshnessChanges').orderBy('at').get()).docs.map((d) => `${d.get('from')}→${d.get('to')}`);
    assert.deepEqual(changes, ['null→fresh', 'fresh→late', 'late→overdue', 'overdue→fresh']);
    const incidents = (await ref.collection('freshnessIncidents').get()).docs.map((d) => d.data());
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]!.closedBy, 'recovery');
    assert.equal(incidents[0]!.missedSyncs, 7);
    assert.equal(incidents[0]!.slackTs, null);
    assert.deepEqual(Object.values(incidents[0]!.messages as Record<string, { sentAt: unknown }>).map((m) => typeof m.sentAt), ['number', 'number', 'number']);
    // And Cloud Logging's stable lines.
    assert.equal(logs.filter((l) => l.includes('"freshness state changed"')).length, 4);
    assert.equal(logs.filter((l) => l.includes('"freshness incident opened"')).length, 1);
  });

  it('a message Slack refuses for now stays in the outbox and goes out with a later tick, once', async () => {
    await loadAt(T0);
    await at(T0 + 10 * MIN);
    slack.script({ status: 503, body: 'rollup_error' }, { status: 503, body: 'rollup_error' });
    await at(T0 + 95 * MIN);
    assert.equal(deliveredMessages(slack).length, 0);
    assert.equal((await freshness()).outbox.length, 1);
    assert.ok((await freshness()).nextCheckAt.toMillis() > T0 + 95 * MIN, 'retried later, not in a loop');
    await at(T0 + 97 * MIN);
    assert.equal(deliveredMessages(slack).length, 1);
    await at(T0 + 110 * MIN);
    assert.equal(deliveredMessages(slack).length, 1);
    assert.deepEqual((await freshness()).outbox, []);
  });

  it('postload freshness lists failing first with the expectation and its source; pause --for silences a connector until it ends, resume ends it', async () => {
    const billing = { id: 'billing_src', name: 'billing' };
    env.ROUTING_CONFIG = JSON.stringify({ routes: [...ROUTING.routes, { name: 'billing', match: { source: 'fivetran', connectorId: billing.id }, slack: { notify: [] } }], freshness: { ...ROUTING.freshness, rules: [{ match: { source: 'fivetran' }, freshness: { every: '1h', grace: '30m' } }] } });
    await loadAt(T0);
    await loadAt(T0, billing);
    await loadAt(T0 + 70 * MIN, billing, true);
    await at(T0 + 95 * MIN);
    assert.deepEqual(texts().map((t) => t.replace(/:.*$/s, '')).sort(), ['Fivetran billing is failing', 'Fivetran orders_pg is overdue']);

    const cli = (...args: string[]) => runCli([...args, '--project', 'postload-local'], { FIRESTORE_EMULATOR_HOST: emulatorHost, FRESHNESS_COLLECTION: env.FRESHNESS_COLLECTION });
    const listed = await cli('freshness', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as Array<{ connector: string; state: string; expectationSource: string; lastSuccessfulSync: string; nextExpected: string }>;
    assert.deepEqual(rows.map((r) => [r.connector, r.state, r.expectationSource]), [['fivetran:billing_src', 'failing', 'routing'], ['fivetran:assimilate_seem', 'overdue', 'routing']]);
    assert.equal(rows[1]!.lastSuccessfulSync, new Date(T0).toISOString());
    assert.equal(rows[1]!.nextExpected, new Date(T0 + 60 * MIN).toISOString());
    const table = await cli('freshness');
    assert.match(table.stdout.split('\n')[1]!, /^failing\s+fivetran billing \(billing_src\)/);
    assert.match(table.stdout, /every 1h, grace 30m\s+routing: routing file, freshness rule 1/);

    const paused = await cli('freshness', 'pause', 'orders_pg', '--for', '2d', '--reason', 'source migration');
    assert.equal(paused.code, 0, paused.stderr);
    slack.reset();
    await at(T0 + 95 * MIN + 6 * HOUR + MIN);
    assert.equal((await freshness()).state, 'paused');
    assert.deepEqual(texts().map((t) => t.replace(/:.*$/s, '')), ['Fivetran billing is still failing (reminder 1)'], 'nothing for the paused connector');
    assert.equal((await cli('freshness', 'pause', 'nobody', '--for', '1d')).code, 1);
    assert.equal((await cli('freshness', 'pause', 'orders_pg', '--for', 'soon')).code, 2);

    assert.equal((await cli('freshness', 'resume', 'fivetran:assimilate_seem')).code, 0);
    await at(T0 + 95 * MIN + 6 * HOUR + 2 * MIN);
    assert.equal((await freshness()).state, 'overdue');
    assert.deepEqual(texts().map((t) => t.replace(/:.*$/s, '')), ['Fivetran billing is still failing (reminder 1)', 'Fivetran orders_pg is still overdue (reminder 1)'], 'the incident goes on: a reminder, no second alert');
  });
});
