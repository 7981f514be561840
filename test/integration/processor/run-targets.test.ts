import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fakeAirflow } from '../../../functions/local/fake-airflow.js';
import { fakeCloudRun } from '../../../functions/local/fake-cloud-run.js';
import { fakeHttpReceiver } from '../../../functions/local/fake-http-receiver.js';
import { LOCAL_STAND_IN_TOKEN } from '../../../functions/processor/clients/google-token.js';
import { TransientError } from '../../../functions/processor/errors.js';
import { airflowActionId, dagRunId } from '../../../functions/processor/targets/airflow.js';
import { cloudRunActionId } from '../../../functions/processor/targets/cloud-run.js';
import { httpActionId } from '../../../functions/processor/targets/http.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { deliveredMessages } from '../../../functions/local/fake-slack.js';
import { readSweepConfig } from '../../../functions/sweep/config.js';
import { createSweep } from '../../../functions/sweep/sweep.js';
import { processorHarness } from '../../support/processor-harness.js';
import { pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// Issue 28 end to end through the processor on the Firestore emulator: a route to a Cloud
// Run job, an Airflow DAG (API v1 and v2) or an HTTP call starts exactly one run against the
// kind's stand-in, also after a lost answer and on redelivery; the run the sweep must follow
// is written in the settle commit; a template value that fails its check is a permanent,
// alerted error that calls nothing.

const JOB = 'projects/demo-project/locations/europe-west1/jobs/dbt-core';
const SIGNING_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const cloudRun = fakeCloudRun({ jobs: [{ name: JOB }], token: LOCAL_STAND_IN_TOKEN });
const airflow2 = fakeAirflow({ version: 1, dags: ['dbt_build'], auth: { basic: { username: 'postload', password: 'airflow-password-0123456789abcdefghij' } } });
const airflow3 = fakeAirflow({ version: 2, dags: ['dbt_build'], auth: { bearer: 'airflow-token-0123456789abcdefghijklmn' } });
const receiver = fakeHttpReceiver({ secret: SIGNING_SECRET });

const match = (id: string) => ({ source: 'fivetran' as const, connectorId: id });
const ROUTING = () => ({
  routes: [
    // Cloud Run under the default onBusy (coalesce): a load while an execution runs is deferred.
    { name: 'coalesced', match: match('coalesced'), cloudRunJobs: [{ job: JOB, args: ['build'] }], slack: { notify: [] } },
    {
      name: 'dbt-core',
      match: match('cloud-run'),
      cloudRunJobs: [{ job: JOB, args: ['build', '--select', 'source:{{connector.name}}+'], env: { CONNECTOR: '{{connector.id}}' }, onBusy: 'queue' }],
      slack: { notify: [] },
    },
    { name: 'airflow2', match: match('airflow2'), airflowDags: [{ api: airflow2.apiBase, dagId: 'dbt_build', conf: { select: 'source:{{connector.name}}+' }, auth: { basic: { username: 'postload', password: 'env:AIRFLOW2_PASSWORD' } }, onBusy: 'queue' }], slack: { notify: [] } },
    { name: 'airflow3', match: match('airflow3'), airflowDags: [{ api: airflow3.apiBase, dagId: 'dbt_build', auth: { bearer: 'env:AIRFLOW3_TOKEN' }, onBusy: 'queue' }], slack: { notify: [] } },
    { name: 'refresh', match: match('http'), httpCalls: [{ name: 'refresh-dashboards', url: `${receiver.url}/refresh`, signingSecret: 'env:REFRESH_SIGNING_SECRET', body: { connector: '{{connector.id}}' }, onBusy: 'queue' }], slack: { notify: [] } },
  ],
});

describe('run targets (issue 28) through the processor on the Firestore emulator', function () {
  this.timeout(90_000);
  let followed = 0;
  // The stand-ins listen before the harness reads ROUTING (their URLs are in it).
  before(async () => Promise.all([cloudRun.start(), airflow2.start(), airflow3.start(), receiver.start()]));
  after(async () => Promise.all([cloudRun.stop(), airflow2.stop(), airflow3.stop(), receiver.stop()]));
  const h = processorHarness({
    routing: { routes: [] },
    token: 'dbtc_targets',
    webhookPath: '/services/T/B/targets',
    prefix: 'targets-',
    env: () => ({
      ROUTING_CONFIG: JSON.stringify(ROUTING()),
      CLOUD_RUN_API_BASE_URL: cloudRun.url,
      AIRFLOW2_PASSWORD: 'airflow-password-0123456789abcdefghij',
      AIRFLOW3_TOKEN: 'airflow-token-0123456789abcdefghijklmn',
      REFRESH_SIGNING_SECRET: SIGNING_SECRET,
      FOLLOWED_RUNS_COLLECTION: `targets-followed-${process.pid}-${++followed}`,
      // A lost answer costs one call timeout.
      OUTBOUND_TIMEOUT_MS: '400',
      COALESCE_WINDOW_MS: '50',
      FRESHNESS_COLLECTION: `targets-freshness-${process.pid}-${followed}`,
      SWEEP_COLLECTION: `targets-sweep-${process.pid}-${followed}`,
    }),
  });
  beforeEach(() => {
    cloudRun.reset();
    airflow2.reset();
    airflow3.reset();
    receiver.reset();
  });

  /** Delivers until acknowledged, as Pub/Sub redelivers a transient failure; returns how many deliveries it took. */
  const deliver = async (event: SyncEvent): Promise<number> => {
    for (let i = 1; i <= 10; i++) {
      try {
        await h.processor()(pubSubCloudEvent(event, `m-${event.id.slice(0, 8)}`));
        return i;
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
      }
    }
    throw new Error('never acknowledged');
  };
  const tick = () => createSweep(readSweepConfig(h.env), { firestore: h.db, logger: h.logger }).tick();
  const followedRun = async (event: SyncEvent, actionId: string) => (await h.db.collection(h.env.FOLLOWED_RUNS_COLLECTION!).doc(`${event.id}.${actionId}`).get()).data();

  describe('Cloud Run job', () => {
    const actionId = cloudRunActionId(JOB);

    it('a routed load starts one execution, its templates filled, the action id in POSTLOAD_ACTION_ID, and the sweep is told to follow it', async () => {
      const event = syncEvent({ connector: { id: 'cloud-run', name: 'stripe_prod' } });
      await deliver(event);
      assert.equal(cloudRun.executions.length, 1);
      const [execution] = cloudRun.executions;
      assert.deepEqual(execution!.containers[0]!.args, ['build', '--select', 'source:stripe_prod+']);
      assert.deepEqual(Object.fromEntries(execution!.containers[0]!.env.map((v) => [v.name, v.value])), { CONNECTOR: 'cloud-run', POSTLOAD_ACTION_ID: `${event.id}.${actionId}` });
      const record = await h.audit(event.id);
      assert.equal(record.status, 'processed');
      assert.equal(record.actions[actionId]!.status, 'succeeded');
      assert.equal(record.actions[actionId]!.runId, execution!.name.split('/').pop());
      const follow = await followedRun(event, actionId);
      assert.ok(follow, 'a followed-run document');
      assert.equal(follow.state, 'open');
      assert.equal(follow.runId, execution!.name.split('/').pop());
      assert.deepEqual(follow.target, { kind: 'cloud-run', id: JOB });
      assert.equal(follow.origin.eventId, event.id);
    });

    it('a lost answer: the redelivery finds the execution by its action id and starts no second one', async () => {
      cloudRun.failRuns('lost');
      const event = syncEvent({ connector: { id: 'cloud-run', name: 'stripe_prod' } });
      await deliver(event);
      // Redelivered once more after it was done: still one.
      await h.processor()(pubSubCloudEvent(event, 'm-again'));
      assert.ok(cloudRun.requests.some((r) => r.method === 'GET' && new URL(r.url, 'http://x').pathname.endsWith('/executions')), 'looked for the execution before starting another');
      assert.equal(cloudRun.executionsWithEnv('POSTLOAD_ACTION_ID', `${event.id}.${actionId}`).length, 1);
      assert.equal(cloudRun.executions.length, 1);
      const record = await h.audit(event.id);
      assert.equal(record.actions[actionId]!.status, 'succeeded');
      assert.equal(record.actions[actionId]!.runId, cloudRun.executions[0]!.name.split('/').pop());
    });

    it('an execution made while its answer failed (503) is found, not doubled', async () => {
      cloudRun.failRuns('ran-then-503');
      const event = syncEvent({ connector: { id: 'cloud-run', name: 'stripe_prod' } });
      await deliver(event);
      assert.equal(cloudRun.executions.length, 1);
      assert.equal((await h.audit(event.id)).actions[actionId]!.status, 'succeeded');
    });

    it('a connector name that fails its template check starts nothing, fails the action for good, and is alerted', async () => {
      const event = syncEvent({ connector: { id: 'cloud-run', name: 'stripe --vars x' } });
      await deliver(event);
      assert.equal(cloudRun.executions.length, 0, 'nothing called');
      assert.equal(cloudRun.requests.length, 0);
      const action = (await h.audit(event.id)).actions[actionId]!;
      assert.equal(action.status, 'failed');
      assert.match(action.lastError ?? '', /connector\.name/);
      assert.ok(h.slack.requests.some((r) => JSON.stringify(r.json).includes('Cloud Run job dbt-core')), 'alerted');
    });
  });

  describe('Airflow DAG', () => {
    for (const [name, server, connector] of [['Airflow 2 (API v1, basic auth)', airflow2, 'airflow2'], ['Airflow 3 (API v2, bearer)', airflow3, 'airflow3']] as const) {
      it(`${name}: one DAG run whose id derives from the event and action; a lost answer is answered 409 on redelivery, still one run`, async () => {
        const actionId = airflowActionId({ api: server.apiBase, dagId: 'dbt_build' });
        const first = syncEvent({ connector: { id: connector, name: 'stripe_prod' } });
        await deliver(first);
        assert.equal(server.runs.length, 1);
        assert.equal(server.runs[0]!.runId, dagRunId(first.id, actionId));
        if (connector === 'airflow2') assert.deepEqual(server.runs[0]!.conf, { select: 'source:stripe_prod+' });
        const record = await h.audit(first.id);
        assert.equal(record.actions[actionId]!.status, 'succeeded');
        assert.equal(record.actions[actionId]!.runId, dagRunId(first.id, actionId));
        assert.equal((await followedRun(first, actionId))?.state, 'open');

        server.failTriggers('lost');
        const second = syncEvent({ connector: { id: connector, name: 'stripe_prod' } });
        await deliver(second);
        await h.processor()(pubSubCloudEvent(second, 'm-again'));
        assert.equal(server.runs.filter((r) => r.runId === dagRunId(second.id, actionId)).length, 1);
        assert.equal(server.runs.length, 2);
        assert.ok(server.requests.filter((r) => r.method === 'POST').length >= 3, 'the lost create was sent again and answered 409');
        assert.equal((await h.audit(second.id)).actions[actionId]!.status, 'succeeded');
      });
    }
  });

  // The fault-injecting cases, for every kind: a 429 (with Retry-After), a 5xx, a lost
  // answer, and one event delivered to two instances at once; each ends with exactly one run.
  describe('faults, for every kind: exactly one run each time', () => {
    const kinds = [
      {
        kind: 'Cloud Run',
        server: cloudRun,
        connector: 'cloud-run',
        actionId: () => cloudRunActionId(JOB),
        inject: { rateLimited: () => cloudRun.rateLimit(1, 0), unavailable: () => cloudRun.failRuns({ status: 503, body: { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } } }), lost: () => cloudRun.failRuns('lost') },
        runs: (event: SyncEvent) => cloudRun.executionsWithEnv('POSTLOAD_ACTION_ID', `${event.id}.${cloudRunActionId(JOB)}`).length,
      },
      {
        kind: 'Airflow (API v2)',
        server: airflow3,
        connector: 'airflow3',
        actionId: () => airflowActionId({ api: airflow3.apiBase, dagId: 'dbt_build' }),
        inject: { rateLimited: () => airflow3.rateLimit(1, 0), unavailable: () => airflow3.failTriggers({ status: 503, body: { detail: 'Service Unavailable' } }), lost: () => airflow3.failTriggers('lost') },
        runs: (event: SyncEvent) => airflow3.runs.filter((r) => r.runId === dagRunId(event.id, airflowActionId({ api: airflow3.apiBase, dagId: 'dbt_build' }))).length,
      },
      {
        kind: 'HTTP',
        server: receiver,
        connector: 'http',
        actionId: () => httpActionId('refresh-dashboards'),
        inject: { rateLimited: () => receiver.rateLimit(1, 0), unavailable: () => receiver.failCalls({ status: 503, body: { error: 'unavailable' } }), lost: () => receiver.failCalls('lost') },
        runs: (event: SyncEvent) => receiver.effects.filter((e) => e.idempotencyKey === `${event.id}.${httpActionId('refresh-dashboards')}`).length,
      },
    ];
    for (const k of kinds) {
      for (const fault of ['rateLimited', 'unavailable', 'lost'] as const) {
        it(`${k.kind}: ${fault === 'rateLimited' ? '429 with Retry-After' : fault === 'unavailable' ? 'a 503' : 'a lost answer'}, then redelivered`, async () => {
          k.inject[fault]();
          const event = syncEvent({ connector: { id: k.connector, name: 'stripe_prod' } });
          await deliver(event);
          await h.processor()(pubSubCloudEvent(event, 'm-again'));
          assert.equal(k.runs(event), 1);
          assert.equal((await h.audit(event.id)).actions[k.actionId()]!.status, 'succeeded');
          const injected = fault === 'lost' ? (r: unknown) => r === 'drop' : (r: unknown) => typeof r === 'object' && (r as { status: number }).status === (fault === 'rateLimited' ? 429 : 503);
          assert.ok(k.server.replies.some(injected), 'the fault was met');
        });
      }
      it(`${k.kind}: one event delivered to two instances at once`, async () => {
        const event = syncEvent({ connector: { id: k.connector, name: 'stripe_prod' } });
        await Promise.all([deliver(event), deliver(event)]);
        assert.equal(k.runs(event), 1);
        assert.equal((await h.audit(event.id)).actions[k.actionId()]!.status, 'succeeded');
      });
    }
  });

  describe('followed to the end by the sweep', () => {
    it('a Cloud Run execution that fails: its outcome lands on the load that started it, alerted once naming that load', async () => {
      const actionId = cloudRunActionId(JOB);
      const event = syncEvent({ connector: { id: 'cloud-run', name: 'stripe_prod' } });
      await deliver(event);
      const [execution] = cloudRun.executions;
      cloudRun.setState(execution!.name, 'running');
      await tick();
      let action = (await h.audit(event.id)).actions[actionId]!;
      assert.equal((action.runOutcome as { status?: string } | undefined)?.status ?? 'running', 'running', 'not ended yet');
      cloudRun.setState(execution!.name, 'failed', 2);
      await tick();
      action = (await h.audit(event.id)).actions[actionId]!;
      assert.equal((action.runOutcome as { status: string }).status, 'failed');
      const alerts = () => deliveredMessages(h.slack).filter((m) => m.text.includes('Cloud Run job dbt-core'));
      assert.equal(alerts().length, 1);
      assert.match(alerts()[0]!.text, /stripe_prod/);
      assert.match(alerts()[0]!.text, new RegExp(event.id));
      await tick();
      assert.equal(alerts().length, 1, 'alerted once, whatever the ticks');
      assert.equal((await followedRun(event, actionId))?.state, 'ended');
    });

    it('an Airflow DAG run that succeeds: succeeded on the audit record, nothing alerted', async () => {
      const actionId = airflowActionId({ api: airflow3.apiBase, dagId: 'dbt_build' });
      const event = syncEvent({ connector: { id: 'airflow3', name: 'stripe_prod' } });
      await deliver(event);
      airflow3.setState(airflow3.runs[0]!.runId, 'success');
      await tick();
      assert.equal(((await h.audit(event.id)).actions[actionId]!.runOutcome as { status: string }).status, 'succeeded');
      assert.equal(deliveredMessages(h.slack).length, 0);
    });

    it('coalesce on Cloud Run: a load while an execution runs is deferred; when it ends the sweep starts exactly one execution for it', async () => {
      const actionId = cloudRunActionId(JOB);
      const first = syncEvent({ connector: { id: 'coalesced', name: 'stripe_prod' } });
      await deliver(first);
      assert.equal(cloudRun.executions.length, 1);
      cloudRun.setState(cloudRun.executions[0]!.name, 'running');
      const second = syncEvent({ connector: { id: 'coalesced', name: 'stripe_prod' } });
      await deliver(second);
      assert.equal(cloudRun.executions.length, 1, 'no second execution beside the running one');
      const busy = (await h.audit(second.id)).actions[actionId]!.busy as { outcome: string; runId?: string };
      assert.equal(busy.outcome, 'deferred');
      await tick();
      assert.equal(cloudRun.executions.length, 1, 'still running: still deferred');
      cloudRun.setState(cloudRun.executions[0]!.name, 'succeeded');
      await tick();
      await tick();
      assert.equal(cloudRun.executions.length, 2, 'one execution for the deferred load');
      assert.equal(cloudRun.executionsWithEnv('POSTLOAD_ACTION_ID', `${second.id}.${actionId}`).length, 1);
      const deferred = await h.audit(second.id);
      const deferredRun = deferred.actions[actionId]!.deferredRun as { runId: string };
      assert.equal(deferredRun.runId, cloudRun.executions[1]!.name.split('/').pop());
      // Listed on the load's record, as the processor lists the runs it starts: the status page's runs view finds it.
      assert.deepEqual(deferred.startedRuns, [`cloud-run/${JOB}/${deferredRun.runId}`]);
      assert.ok(deferred.runStartedAt, 'runStartedAt');
    });
  });

  describe('HTTP call', () => {
    const actionId = httpActionId('refresh-dashboards');

    it('one signed call the receiver verifies; its answer is the outcome on the audit record; nothing to follow', async () => {
      const event = syncEvent({ connector: { id: 'http', name: 'stripe_prod' } });
      await deliver(event);
      assert.equal(receiver.refused.length, 0, 'the signature verifies');
      assert.equal(receiver.effects.length, 1);
      assert.deepEqual(receiver.effects[0]!.body, { connector: 'http' });
      assert.equal(receiver.effects[0]!.idempotencyKey, `${event.id}.${actionId}`);
      const action = (await h.audit(event.id)).actions[actionId]!;
      assert.equal(action.status, 'succeeded');
      assert.equal(action.response?.status, 202);
      assert.equal((action.runOutcome as { status: string }).status, 'succeeded');
      assert.equal(await followedRun(event, actionId), undefined);
    });

    it('a lost answer and a redelivery: one effect, the same key each time', async () => {
      receiver.failCalls('lost');
      const event = syncEvent({ connector: { id: 'http', name: 'stripe_prod' } });
      await deliver(event);
      await h.processor()(pubSubCloudEvent(event, 'm-again'));
      assert.equal(receiver.effects.length, 1);
      const keys = new Set(receiver.requests.map((r) => r.headers['idempotency-key']));
      assert.deepEqual([...keys], [`${event.id}.${actionId}`]);
      assert.equal((await h.audit(event.id)).actions[actionId]!.status, 'succeeded');
    });
  });
});
