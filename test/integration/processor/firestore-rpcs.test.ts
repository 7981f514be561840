import assert from 'node:assert/strict';
import type { Firestore } from '@google-cloud/firestore';
import { fakeDbtCloud, triggerRequests, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { fakeSlack, type FakeSlack } from '../../../functions/local/fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_CHANNEL } from '../../../functions/local/fake-slack-api.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import type { DbtCloudWebhook } from '../../../functions/generated/dbt-cloud-webhook.schema.js';
import { normaliseDbtCloud } from '../../../functions/ingest/dbt-cloud/normalise.js';
import { GrpcStreamCounter } from '../../support/grpc-stream-counter.js';
import { emulator } from '../../support/global-hooks.js';
import { emulatorFirestore, quietLogger, standInEnv } from '../../support/processor-harness.js';
import { quarantinedEvent } from '../../../functions/ingest/quarantine.js';
import { failedSync, pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';
import { fakeAirflow } from '../../../functions/local/fake-airflow.js';
import { fakeCloudRun } from '../../../functions/local/fake-cloud-run.js';
import { fakeHttpReceiver } from '../../../functions/local/fake-http-receiver.js';
import { LOCAL_STAND_IN_TOKEN } from '../../../functions/processor/clients/google-token.js';
import { cloudRunActionId } from '../../../functions/processor/targets/cloud-run.js';

// Issue 11's budgets, counted on the wire between the processor and the Firestore
// emulator (one RPC = one new HTTP/2 stream): a routed event with one action costs at most
// 3 RPCs on the happy path, each further action adds none, a duplicate of a finished event
// costs at most 2.
export const BUDGETS = { routed: 3, duplicate: 2 };
// Issue 13: a dbt Cloud run event that records its outcome on the load that started the run
// reads and writes the originating record in its own claim read and commit (+0), and links
// the load connector's latestTransformation in one small preconditioned write (+2: read, commit).
export const LOOP_BUDGET = BUDGETS.routed + 2;

const ROUTING = {
  routes: [
    { name: 'one-job', match: { source: 'fivetran', connectorId: 'one' }, dbtJobs: [{ jobId: 11 }], slack: { notify: [] } },
    { name: 'three-jobs', match: { source: 'fivetran', connectorId: 'three' }, dbtJobs: [{ jobId: 31 }, { jobId: 32 }, { jobId: 33 }], slack: { notify: ['sync.succeeded', 'sync.failed'] } },
    { name: 'coalescing', match: { source: 'fivetran', connectorId: 'busy' }, dbtJobs: [{ jobId: 41 }], slack: { notify: [] } },
    { name: 'batched', match: { source: 'fivetran', connectorId: 'batched' }, dbtJobs: [{ jobId: 42 }], slack: { notify: [] } },
    { name: 'skipping', match: { source: 'fivetran', connectorId: 'skipping' }, dbtJobs: [{ jobId: 43, onBusy: 'skip' }], slack: { notify: [] } },
    { name: 'queued', match: { source: 'fivetran', connectorId: 'queued' }, dbtJobs: [{ jobId: 44, onBusy: 'queue' }], slack: { notify: [] } },
    // Its own job: job 11's first run stays queued in the stand-in, so a second load would be coalesced into it.
    { name: 'loop', match: { source: 'fivetran', connectorId: 'loop' }, dbtJobs: [{ jobId: 12 }], slack: { notify: [] } },
    { name: 'quiet', match: { source: 'fivetran', connectorId: { glob: 'up-*' } }, slack: { notify: [] } },
    // Issue 31: through the Slack app, a failure opens an incident on the connector document, a success closes it.
    { name: 'app', match: { source: 'fivetran', connectorId: 'app' }, slack: { app: { channel: LOCAL_SLACK_CHANNEL }, notify: ['sync.failed'] } },
  ] as Array<Record<string, unknown>>,
  joins: [
    {
      name: 'mart',
      upstreams: [
        { name: 'a', match: { source: 'fivetran', connectorId: 'up-a' } },
        { name: 'b', match: { source: 'fivetran', connectorId: 'up-b' } },
      ],
      within: 'PT1H',
      dbtJob: { jobId: 51 },
      slack: { notify: [] },
    },
  ],
};

// Issue 28: the other run-target kinds, each under its default onBusy (coalesce), on their stand-ins.
const CLOUD_RUN_JOB = 'projects/demo-project/locations/europe-west1/jobs/rpc-core';
const HTTP_SECRET = `whsec_${Buffer.from('rpc-budget-signing-secret-0123456789').toString('base64')}`;
const AIRFLOW_TOKEN = 'rpc-airflow-token-0123456789abcdefghijkl';
const cloudRun = fakeCloudRun({ jobs: [{ name: CLOUD_RUN_JOB }], token: LOCAL_STAND_IN_TOKEN });
const airflow = fakeAirflow({ version: 2, dags: ['rpc_dag'], auth: { bearer: AIRFLOW_TOKEN } });
const receiver = fakeHttpReceiver({ secret: HTTP_SECRET });
const targetRoutes = () => [
  { name: 'cloud-run', match: { source: 'fivetran', connectorId: 'cloud-run' }, cloudRunJobs: [{ job: CLOUD_RUN_JOB, args: ['build', '--select', 'source:{{connector.name}}+'] }], slack: { notify: [] } },
  { name: 'airflow', match: { source: 'fivetran', connectorId: 'airflow' }, airflowDags: [{ api: airflow.apiBase, dagId: 'rpc_dag', auth: { bearer: 'env:RPC_AIRFLOW_TOKEN' } }], slack: { notify: [] } },
  { name: 'http', match: { source: 'fivetran', connectorId: 'http' }, httpCalls: [{ name: 'rpc-refresh', url: `${receiver.url}/refresh`, signingSecret: 'env:RPC_HTTP_SECRET' }], slack: { notify: [] } },
];

describe('Firestore round trips per event, counted against the emulator', function () {
  this.timeout(60_000);
  let counter: GrpcStreamCounter;
  let db: Firestore;
  let dbt: FakeDbtCloud;
  let slack: FakeSlack;
  let run: ReturnType<typeof createSyncEventProcessor>;
  /** A second instance with its own counted connection: its RPCs apart from another delivery's running at the same time. */
  let otherCounter: GrpcStreamCounter;
  let otherDb: Firestore;
  let other: ReturnType<typeof createSyncEventProcessor>;
  let env: Record<string, string>;

  before(async function () {
    const host = await emulator('firestore', this);
    counter = new GrpcStreamCounter(host);
    const proxied = await counter.start();
    db = emulatorFirestore(proxied);
    otherCounter = new GrpcStreamCounter(host);
    otherDb = emulatorFirestore(await otherCounter.start());
    dbt = fakeDbtCloud();
    slack = fakeSlack();
    await Promise.all([dbt.start(), slack.start(), cloudRun.start(), airflow.start(), receiver.start()]);
    env = {
      ROUTING_CONFIG: JSON.stringify({ ...ROUTING, routes: [...ROUTING.routes, ...targetRoutes()] }),
      CLOUD_RUN_API_BASE_URL: cloudRun.url,
      RPC_AIRFLOW_TOKEN: AIRFLOW_TOKEN,
      RPC_HTTP_SECRET: HTTP_SECRET,
      FOLLOWED_RUNS_COLLECTION: `rpc-followed-${process.pid}`,
      COALESCE_WINDOW_MS: '1500',
      ...standInEnv(dbt, slack, { token: 'dbtc_rpc', webhookPath: '/services/T/B/rpc' }),
      AUDIT_COLLECTION: `rpc-events-${process.pid}`,
      CONNECTORS_COLLECTION: `rpc-connectors-${process.pid}`,
      JOINS_COLLECTION: `rpc-joins-${process.pid}`,
      JOB_STATE_COLLECTION: `rpc-jobs-${process.pid}`,
      SLACK_BOT_TOKEN: LOCAL_SLACK_BOT_TOKEN,
      SLACK_API_BASE_URL: `${slack.url}/api`,
    };
    run = createSyncEventProcessor(readProcessorConfig(env), { firestore: db, logger: quietLogger() });
    other = createSyncEventProcessor(readProcessorConfig(env), { firestore: otherDb, logger: quietLogger() });
    // Warm the clients (channel set-up is not an RPC, but keep the first count clean).
    await db.collection('warm-up').doc('x').get();
    await otherDb.collection('warm-up').doc('x').get();
  });

  after(async () => {
    await Promise.all([dbt?.stop(), slack?.stop(), cloudRun.stop(), airflow.stop(), receiver.stop()]);
    await Promise.all([db?.terminate(), otherDb?.terminate()]);
    await Promise.all([counter?.stop(), otherCounter?.stop()]);
  });

  async function rpcsFor(work: () => Promise<void>): Promise<number> {
    counter.reset();
    await work();
    if (process.env.SHOW_RPCS) console.log(`    ${counter.count} RPCs`);
    return counter.count;
  }

  it(`a routed success that starts one dbt job: at most ${BUDGETS.routed} RPCs`, async () => {
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(syncEvent({ connector: { id: 'one', name: 'one' } }))));
    assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    assert.ok(rpcs >= 2, 'the counter sees the traffic');
  });

  it(`a failure that sends one Slack alert: at most ${BUDGETS.routed} RPCs`, async () => {
    const before = slack.requests.length;
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(failedSync({ connector: { id: 'unrouted', name: 'unrouted' } }))));
    assert.equal(slack.requests.length, before + 1);
    assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
  });

  it(`through the Slack app, a failure opening an incident and the success closing it (update in place, reply): at most ${BUDGETS.routed} RPCs each`, async () => {
    const connector = { id: 'app', name: 'app' };
    const opens = await rpcsFor(() => run(pubSubCloudEvent(failedSync({ connector }))));
    const closes = await rpcsFor(() => run(pubSubCloudEvent(syncEvent({ connector }))));
    const [message] = slack.api.channelMessages(LOCAL_SLACK_CHANNEL);
    assert.equal(message?.updates, 1, 'the incident was closed in place');
    assert.ok(opens <= BUDGETS.routed && closes <= BUDGETS.routed, `${opens} and ${closes} RPCs`);
  });

  it(`a stale event, recorded and nothing else (issue 25): at most ${BUDGETS.routed} RPCs`, async () => {
    const before = triggerRequests(dbt).length;
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(syncEvent({ stale: true, connector: { id: 'one', name: 'one' } }))));
    assert.equal(triggerRequests(dbt).length, before);
    assert.ok(rpcs <= BUDGETS.routed && rpcs >= 2, `${rpcs} RPCs`);
  });

  it(`three jobs and a Slack message (four actions): still at most ${BUDGETS.routed} RPCs`, async () => {
    const triggers = triggerRequests(dbt).length;
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(syncEvent({ connector: { id: 'three', name: 'three' } }))));
    assert.equal(triggerRequests(dbt).length, triggers + 3);
    assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
  });

  it(`a dbt Cloud run event closing the loop on the load that started the run: at most ${LOOP_BUDGET} RPCs; its duplicate at most ${BUDGETS.duplicate}`, async () => {
    const load = syncEvent({ connector: { id: 'loop', name: 'loop' } });
    await run(pubSubCloudEvent(load));
    const [started] = dbt.runsFor(load.id);
    dbt.setStatus(started!.id, 20);
    const failed = normaliseDbtCloud(JSON.parse(dbt.webhookBody(started!, 'job.run.completed', 'boom')) as DbtCloudWebhook, new Date());
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(failed)));
    assert.ok(rpcs <= LOOP_BUDGET, `${rpcs} RPCs`);
    const record = (await db.collection(`rpc-events-${process.pid}`).doc(load.id).get()).data()!;
    assert.equal(record.actions['dbt-job-12'].runOutcome.status, 'failed', 'the loop was closed');
    assert.ok(await rpcsFor(() => run(pubSubCloudEvent(failed))) <= BUDGETS.duplicate);
  });

  it(`a duplicate of a finished event: at most ${BUDGETS.duplicate} RPCs, counted as a delivery`, async () => {
    const event = syncEvent({ connector: { id: 'one', name: 'one' } });
    await run(pubSubCloudEvent(event, 'first'));
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(event, 'duplicate')));
    assert.ok(rpcs <= BUDGETS.duplicate, `${rpcs} RPCs`);
    const record = (await db.collection(`rpc-events-${process.pid}`).doc(event.id).get()).data()!;
    assert.equal(record.deliveries, 2);
  });

  it(`a join's upstreams, the completing one starting the join's job: each at most ${BUDGETS.routed} RPCs (the join and job documents ride in the same read and commit)`, async () => {
    const now = new Date().toISOString();
    const first = await rpcsFor(() => run(pubSubCloudEvent(syncEvent({ connector: { id: 'up-a', name: 'a' }, occurredAt: now }))));
    const triggers = triggerRequests(dbt).length;
    const completing = await rpcsFor(() => run(pubSubCloudEvent(syncEvent({ connector: { id: 'up-b', name: 'b' }, occurredAt: now }))));
    assert.equal(triggerRequests(dbt).length, triggers + 1, 'the join fired');
    assert.ok(first <= BUDGETS.routed, `upstream: ${first} RPCs`);
    assert.ok(completing <= BUDGETS.routed, `completing upstream: ${completing} RPCs`);
  });

  // Issue 26: every onBusy mode, and every part an event can play in a batch, within the
  // routed budget; only the delivery holding a batch's trigger lease talks to dbt Cloud.
  describe(`every onBusy mode and every part in a batch: at most ${BUDGETS.routed} RPCs`, () => {
    const load = (connector: string) => syncEvent({ connector: { id: connector, name: connector } });

    it('coalesce, an idle job: the event holds its batch and starts the run', async () => {
      const triggers = triggerRequests(dbt).length;
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(load('busy'))));
      assert.equal(triggerRequests(dbt).length, triggers + 1);
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });

    it('coalesce, the batch merged into a run that is still waiting (dbt Cloud says so, asked once by the holder)', async () => {
      const triggers = triggerRequests(dbt).length;
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(load('busy'))));
      assert.equal(triggerRequests(dbt).length, triggers, 'coalesced, not triggered');
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });

    it("coalesce, covered by another event's open batch: recorded and acknowledged in its claim commit, nothing asked of dbt Cloud", async () => {
      await run(pubSubCloudEvent(load('batched'))); // an idle job: its run starts at once
      const holding = run(pubSubCloudEvent(load('batched'))); // holds the next batch for a window
      await new Promise((resolve) => setTimeout(resolve, 300));
      const calls = dbt.requests.length;
      otherCounter.reset();
      const covered = load('batched');
      await other(pubSubCloudEvent(covered));
      const rpcs = otherCounter.count;
      assert.equal(dbt.requests.length, calls, 'a covered event does not talk to dbt Cloud');
      await holding;
      const action = (await db.collection(`rpc-events-${process.pid}`).doc(covered.id).get()).data()!.actions['dbt-job-42'];
      assert.equal(action.busy.outcome, 'joined', 'it was covered by the open batch');
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });

    it('skip, the batch skipped for a run that is running', async () => {
      await run(pubSubCloudEvent(load('skipping')));
      dbt.setStatus(dbt.runs.at(-1)!.id, 3);
      const triggers = triggerRequests(dbt).length;
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(load('skipping'))));
      assert.equal(triggerRequests(dbt).length, triggers, 'skipped');
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });

    it('queue: a run per event', async () => {
      await run(pubSubCloudEvent(load('queued')));
      const triggers = triggerRequests(dbt).length;
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(load('queued'))));
      assert.equal(triggerRequests(dbt).length, triggers + 1);
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });
  });

  // Issue 28: a new kind adds no round trip: the followed-run document (Cloud Run, Airflow)
  // rides in the settle commit, an HTTP call's answer in the action it records.
  describe(`every run-target kind under coalesce: at most ${BUDGETS.routed} RPCs`, () => {
    const load = (connector: string) => syncEvent({ connector: { id: connector, name: 'stripe_prod' } });

    it('a Cloud Run job: one execution, the run to follow written in the same commit', async () => {
      const event = load('cloud-run');
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(event)));
      assert.equal(cloudRun.executions.length, 1);
      assert.ok((await db.collection(`rpc-followed-${process.pid}`).doc(`${event.id}.${cloudRunActionId(CLOUD_RUN_JOB)}`).get()).exists, 'the run to follow is recorded');
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });

    it('a Cloud Run job while its execution runs: the batch deferred, nothing started', async () => {
      cloudRun.setState(cloudRun.executions.at(-1)!.name, 'running');
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(load('cloud-run'))));
      assert.equal(cloudRun.executions.length, 1, 'deferred, not started');
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });

    it('an Airflow DAG: one DAG run', async () => {
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(load('airflow'))));
      assert.equal(airflow.runs.length, 1);
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });

    it('an HTTP call: one signed call, its answer recorded', async () => {
      const rpcs = await rpcsFor(() => run(pubSubCloudEvent(load('http'))));
      assert.equal(receiver.effects.length, 1);
      assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
    });
  });

  // The day documents that keep quarantine alerts to one a day are read and created in the
  // same read and commit as the claims: no round trip of their own.
  const quarantined = (n: number, vendorEvent: string) =>
    quarantinedEvent({ source: 'fivetran', raw: Buffer.from(`{"n": ${n}}`), parsed: { n }, vendorEvent, problems: [{ code: 'schema_violation', message: 'x' }, { code: 'unrecognised_shape', message: 'y' }], receivedAt: new Date('2999-12-31T12:00:00Z') }); // a day of its own (in the past it would be older than the audit retention)

  it(`a quarantined event alerted (two problem codes, two day documents): at most ${BUDGETS.routed} RPCs`, async () => {
    const before = slack.requests.length;
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(quarantined(1, `rpc_alerted_${process.pid}`))));
    assert.equal(slack.requests.length, before + 1);
    assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
  });

  it(`the same problems again that day, not alerted: at most ${BUDGETS.routed} RPCs`, async () => {
    await run(pubSubCloudEvent(quarantined(2, `rpc_again_${process.pid}`)));
    const before = slack.requests.length;
    const rpcs = await rpcsFor(() => run(pubSubCloudEvent(quarantined(3, `rpc_again_${process.pid}`))));
    assert.equal(slack.requests.length, before);
    assert.ok(rpcs <= BUDGETS.routed, `${rpcs} RPCs`);
  });
});
