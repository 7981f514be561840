import assert from 'node:assert/strict';
import type { Timestamp } from '@google-cloud/firestore';
import { triggerRequests } from '../../../functions/local/fake-dbt-cloud.js';
import { TransientError } from '../../../functions/processor/errors.js';
import type { JobStateDoc } from '../../../functions/processor/planning/job-state.js';
import type { JoinStateDoc } from '../../../functions/processor/planning/join-state.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { normaliseDbtCloud } from '../../../functions/ingest/dbt-cloud/normalise.js';
import { processorHarness } from '../../support/processor-harness.js';
import { fixtureText } from '../../support/webhook-fixtures.js';
import { airbyteSucceeded, failedSync, pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// Issue 12 end to end: the processor on the Firestore emulator, with the dbt Cloud stand-in
// answering list-runs with its real filters (job_definition_id, status__in). Runs the
// stand-in starts stay queued (status 1) until a test moves them, as a dbt Cloud job
// waiting behind a busy one does.

const JOB = 500;
const QUEUED_JOB = 501;
const SKIP_JOB = 502;
const MART_JOB = 600;
const CHAINED_JOB = 700;

const ROUTING = {
  routes: [
    { name: 'burst', match: { source: 'fivetran', connectorId: 'burst' }, dbtJobs: [{ jobId: JOB }], slack: { notify: ['sync.succeeded'] } },
    { name: 'burst-queue', match: { source: 'fivetran', connectorId: 'burst-queue' }, dbtJobs: [{ jobId: QUEUED_JOB, onBusy: 'queue' }], slack: { notify: [] } },
    { name: 'skip', match: { source: 'fivetran', connectorId: 'skippy' }, dbtJobs: [{ jobId: SKIP_JOB, onBusy: 'skip' }], slack: { notify: ['sync.succeeded'] } },
    { name: 'quiet', match: { source: 'fivetran' }, slack: { notify: [] } },
    { name: 'quiet-airbyte', match: { source: 'airbyte' }, slack: { notify: [] } },
    { name: 'quiet-dbt', match: { source: 'dbt-cloud' }, slack: { notify: [] } },
  ],
  joins: [
    {
      name: 'finance mart',
      upstreams: [
        { name: 'salesforce', match: { source: 'fivetran', connectorId: 'salesforce_fin' } },
        { name: 'billing', match: { source: 'airbyte', connectorName: 'finance-billing' } },
      ],
      within: 'PT6H',
      dbtJob: { jobId: MART_JOB, steps_override: ['dbt build --select marts.finance+'] },
    },
    {
      name: 'after mart',
      upstreams: [{ name: 'mart job', match: { source: 'dbt-cloud', connectorId: String(MART_JOB) } }],
      within: 'PT1H',
      dbtJob: { jobId: CHAINED_JOB },
    },
  ],
};

describe('orchestration (issue 12) against the Firestore emulator and the dbt Cloud stand-in', function () {
  this.timeout(90_000);
  const h = processorHarness({
    routing: ROUTING,
    token: 'dbtc_orchestration',
    webhookPath: '/services/T/B/orchestration',
    prefix: 'orch-',
    env: {
      OUTBOUND_RETRY_MIN_DELAY_MS: '10',
      OUTBOUND_RETRY_MAX_DELAY_MS: '50',
      ACTION_LEASE_SECONDS: '60',
      OUTBOUND_BUDGET_MS: '20000',
    },
  });
  const { dbt, slack, processor, audit } = h;

  /** Pub/Sub's part: a delivery that throws a TransientError is delivered again (same message id) until acknowledged. */
  async function deliver(run: ReturnType<typeof processor>, event: SyncEvent, messageId = `m-${event.id.slice(0, 12)}`): Promise<number> {
    for (let delivery = 1; delivery <= 40; delivery++) {
      try {
        await run(pubSubCloudEvent(event, messageId));
        return delivery;
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
    throw new Error(`event ${event.id} was never acknowledged`);
  }

  const jobState = async (jobId: number) => (await h.db.collection(h.env.JOB_STATE_COLLECTION!).doc(`job-${jobId}`).get()).data() as JobStateDoc | undefined;
  const joinState = async (name: string) => (await h.db.collection(h.env.JOINS_COLLECTION!).doc(name).get()).data() as JoinStateDoc | undefined;
  const runsOf = (jobId: number) => triggerRequests(dbt).filter((r) => r.url.includes(`/jobs/${jobId}/run/`));
  const listRunsCalls = () => dbt.requests.filter((r) => r.method === 'GET' && r.url.includes('status__in'));
  /** What ingest publishes for a dbt Cloud webhook about run `runId` of job `jobId` (the real normaliser on the real fixture). */
  const dbtRunEvent = (fixture: 'job.run.started' | 'job.run.completed-success', jobId: number, runId: number): SyncEvent => {
    const payload = JSON.parse(fixtureText('dbt-cloud', fixture)) as { timestamp: string; data: Record<string, unknown> };
    const at = new Date().toISOString();
    payload.timestamp = at;
    payload.data = { ...payload.data, jobId: String(jobId), runId: String(runId), runStartedAt: at, ...(fixture === 'job.run.started' ? {} : { runFinishedAt: at }) };
    return normaliseDbtCloud(payload as never, new Date());
  };
  const recent = (minutesAgo = 1) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

  describe('coalescing', () => {
    it('a burst of 10 successes for one job, delivered at once, starts at most 2 runs under coalesce; every event says triggered or coalesced into which run', async () => {
      const run = processor();
      const events = Array.from({ length: 10 }, (_, i) => syncEvent({ connector: { id: 'burst', name: `burst ${i}` }, occurredAt: recent() }));
      await Promise.all(events.map((event) => deliver(run, event)));

      const runs = runsOf(JOB);
      assert.ok(runs.length >= 1 && runs.length <= 2, `${runs.length} runs`);
      const outcomes = await Promise.all(events.map(async (e) => (await audit(e.id)).actions[`dbt-job-${JOB}`]!));
      const triggered = outcomes.filter((a) => a.status === 'succeeded' && !a.busy);
      const coalesced = outcomes.filter((a) => a.busy?.outcome === 'coalesced');
      assert.equal(triggered.length, runs.length, 'one triggering event per run');
      assert.equal(triggered.length + coalesced.length, 10, 'every event is accounted for');
      const runIds = new Set(triggered.map((a) => a.runId));
      for (const a of coalesced) assert.ok(runIds.has(a.busy!.runId), `coalesced into run ${a.busy!.runId}, which postload started`);
      for (const a of coalesced) assert.equal(a.runId, undefined, 'runId means this event started the run');
      for (const e of events) assert.equal((await audit(e.id)).status, 'processed');

      const state = (await jobState(JOB))!;
      const slot = Object.values(state.slots)[0]!;
      assert.equal(slot.trigger, null, 'no trigger lease left behind');
      assert.ok(runIds.has(slot.run!.id));
      assert.ok(listRunsCalls().length >= 1, 'merging was confirmed with list-runs status__in');
      assert.ok(listRunsCalls().every((r) => new URL(r.url, 'http://x').searchParams.get('job_definition_id') === String(JOB)));

      // Slack: every event's message says what became of the job.
      const texts = slack.requests.map((r) => JSON.stringify(r.json));
      assert.equal(texts.length, 10);
      assert.equal(texts.filter((t) => /coalesced into run \d+/.test(t)).length, coalesced.length);
      assert.equal(texts.filter((t) => /Started dbt Cloud job 500/.test(t)).length, triggered.length);
    });

    it('the same burst under queue starts 10 runs', async () => {
      const run = processor();
      const events = Array.from({ length: 10 }, () => syncEvent({ connector: { id: 'burst-queue', name: 'bq' }, occurredAt: recent() }));
      await Promise.all(events.map((event) => deliver(run, event)));
      assert.equal(runsOf(QUEUED_JOB).length, 10);
      assert.equal(listRunsCalls().length, 0, 'queue never asks');
    });

    it('coalesce starts a new run once the waiting run is running (dbt Cloud says so), and merges again into the new one', async () => {
      const run = processor();
      const [a, b, c] = [0, 1, 2].map(() => syncEvent({ connector: { id: 'burst', name: 'b' }, occurredAt: recent() }));
      await deliver(run, a!);
      const first = (await audit(a!.id)).actions[`dbt-job-${JOB}`]!.runId!;
      dbt.setStatus(first, 3); // running: it has read its data already
      await deliver(run, b!);
      const second = (await audit(b!.id)).actions[`dbt-job-${JOB}`]!;
      assert.equal(second.busy, undefined);
      assert.notEqual(second.runId, first);
      await deliver(run, c!);
      assert.deepEqual((await audit(c!.id)).actions[`dbt-job-${JOB}`]!.busy?.runId, second.runId);
      assert.equal(runsOf(JOB).length, 2);
    });

    it('a run that already finished (the active list no longer shows it; dbt Cloud says Success by id) is not merged into: a new run starts', async () => {
      const run = processor();
      const [a, b] = [0, 1].map(() => syncEvent({ connector: { id: 'burst', name: 'b' }, occurredAt: recent() }));
      await deliver(run, a!);
      const first = (await audit(a!.id)).actions[`dbt-job-${JOB}`]!.runId!;
      dbt.setStatus(first, 10); // a quick run: finished seconds after its trigger
      await deliver(run, b!);
      const second = (await audit(b!.id)).actions[`dbt-job-${JOB}`]!;
      assert.equal(second.busy, undefined);
      assert.equal(runsOf(JOB).length, 2);
      assert.ok(dbt.requests.some((r) => r.method === 'GET' && r.url.endsWith(`/runs/${first}/`)), 'asked for the run by id');
    });

    it('skip: while a run is running, an event is skipped and says which run was busy; once it finished, a run starts', async () => {
      const run = processor();
      const [a, b, c] = [0, 1, 2].map(() => syncEvent({ connector: { id: 'skippy', name: 's' }, occurredAt: recent() }));
      await deliver(run, a!);
      const first = (await audit(a!.id)).actions[`dbt-job-${SKIP_JOB}`]!.runId!;
      dbt.setStatus(first, 3);
      await deliver(run, b!);
      const skipped = (await audit(b!.id)).actions[`dbt-job-${SKIP_JOB}`]!;
      assert.deepEqual({ outcome: skipped.busy?.outcome, runId: skipped.busy?.runId, status: skipped.busy?.runStatus }, { outcome: 'skipped', runId: first, status: 'running' });
      assert.match(JSON.stringify(slack.requests.at(-1)!.json), new RegExp(`skipped, run ${first} is running`));
      // Finished: dbt Cloud's webhook says so (its list may not drop a run this young yet).
      dbt.setStatus(first, 10);
      await deliver(run, dbtRunEvent('job.run.completed-success', SKIP_JOB, first));
      await deliver(run, c!);
      assert.equal((await audit(c!.id)).actions[`dbt-job-${SKIP_JOB}`]!.busy, undefined);
      assert.equal(runsOf(SKIP_JOB).length, 2);
    });
  });

  describe('joins', () => {
    const salesforce = (overrides: Parameters<typeof syncEvent>[0] = {}) => syncEvent({ connector: { id: 'salesforce_fin', name: 'salesforce' }, occurredAt: recent(3), ...overrides });
    const billing = (overrides: Parameters<typeof airbyteSucceeded>[0] = {}) => airbyteSucceeded({ connector: { id: 'b1ll', name: 'finance-billing' }, occurredAt: recent(2), ...overrides });

    it('two upstreams (Fivetran and Airbyte) completing concurrently, as separate deliveries in parallel, start exactly one run; the message lists both with their times', async () => {
      for (let round = 0; round < 3; round++) {
        const before = runsOf(MART_JOB).length;
        // Successes that occurred after the last firing (an older one was read by that run).
        const at = new Date().toISOString();
        const [s, b] = [salesforce({ occurredAt: at }), billing({ occurredAt: at })];
        await Promise.all([deliver(processor(), s), deliver(processor(), b)]);
        assert.equal(runsOf(MART_JOB).length, before + 1, `round ${round}: one run`);
        const doc = (await joinState('finance mart'))!;
        assert.equal(doc.round, round + 1);
        assert.equal(doc.firings[0]!.run?.outcome, 'triggered');
        // The run finishes (dbt Cloud's webhook says so), so the next round starts a new one.
        dbt.setStatus(doc.firings[0]!.run!.id, 10);
        await deliver(processor(), dbtRunEvent('job.run.completed-success', MART_JOB, doc.firings[0]!.run!.id));
        for (const [name, upstream] of Object.entries(doc.upstreams)) assert.equal(upstream.success, null, `${name} emptied after firing`);
      }
      const fired = slack.requests.map((r) => JSON.stringify(r.json)).filter((t) => t.includes('all 2 upstreams in'));
      assert.equal(fired.length, 3, 'one firing message per round');
      assert.match(fired[0]!, /salesforce \(Fivetran, salesforce\) succeeded at \d\d:\d\d UTC/);
      assert.match(fired[0]!, /billing \(Airbyte, finance-billing\) succeeded at \d\d:\d\d UTC/);
    });

    it('a redelivered upstream event does not fire the join twice, nor count for the next round', async () => {
      const run = processor();
      const [s, b] = [salesforce(), billing()];
      await deliver(run, s);
      await deliver(run, b);
      assert.equal(runsOf(MART_JOB).length, 1);
      // Pub/Sub delivers both again (new message ids: vendor retries), in parallel.
      await Promise.all([deliver(run, s, 'again-1'), deliver(run, b, 'again-2'), deliver(run, b, 'again-3')]);
      assert.equal(runsOf(MART_JOB).length, 1, 'no second run');
      const doc = (await joinState('finance mart'))!;
      assert.equal(doc.round, 1);
      assert.equal(doc.upstreams.salesforce!.success, null);
      assert.equal(doc.upstreams.billing!.success, null);
      assert.equal((await audit(b.id)).joins && ((await audit(b.id)).joins as Record<string, { outcome: string }>)['finance mart']!.outcome, 'fired');
    });

    it('a failed upstream is recorded and alerted once; the join keeps the other upstream and fires on the next success', async () => {
      const run = processor();
      await deliver(run, salesforce());
      const failure = () => failedSync({ source: 'airbyte', vendorEvent: 'sync_failed', connector: { id: 'b1ll', name: 'finance-billing', type: 'Postgres' }, occurredAt: recent(1), error: { message: 'connection refused', type: 'system_error' } });
      await deliver(run, failure());
      await deliver(run, failure());
      const alerts = slack.requests.map((r) => JSON.stringify(r.json)).filter((t) => t.includes('finance mart is waiting'));
      assert.equal(alerts.length, 1, 'alerted once per failure streak');
      assert.match(alerts[0]!, /billing \(Airbyte\) failed at \d\d:\d\d UTC — connection refused/);
      let doc = (await joinState('finance mart'))!;
      assert.ok(doc.upstreams.salesforce!.success, 'salesforce stays in');
      assert.equal(doc.upstreams.billing!.failure?.count, 2);
      assert.equal(runsOf(MART_JOB).length, 0);

      await deliver(run, billing({ occurredAt: new Date().toISOString() }));
      assert.equal(runsOf(MART_JOB).length, 1);
      doc = (await joinState('finance mart'))!;
      assert.equal(doc.firings[0]!.run?.outcome, 'triggered');
      assert.equal(doc.firings[0]!.run?.id, (await audit(doc.firings[0]!.eventId)).actions[`dbt-job-${MART_JOB}`]!.runId);
    });

    it('join and job state documents carry expireAt (Firestore TTL): the audit retention after their last write, renewed by each write', async () => {
      h.env.AUDIT_RETENTION_DAYS = '3';
      const keep = 3 * 86_400_000;
      const expiry = (doc: unknown) => (doc as { expireAt: Timestamp }).expireAt.toMillis();
      const before = Date.now();
      await deliver(processor(), salesforce({ occurredAt: new Date().toISOString() }));
      const waiting = expiry(await joinState('finance mart'));
      assert.ok(waiting >= before + keep && waiting <= Date.now() + keep, 'the waiting join expires 3 days after its write');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const fired = Date.now();
      await deliver(processor(), billing({ occurredAt: new Date().toISOString() }));
      assert.equal(runsOf(MART_JOB).length, 1, 'the join fired');
      const renewed = expiry(await joinState('finance mart'));
      assert.ok(renewed >= fired + keep && renewed > waiting, 'the firing write pushed it out');
      const job = expiry(await jobState(MART_JOB));
      assert.ok(job >= fired + keep && job <= Date.now() + keep, "the join's job state expires 3 days after the run it records");
    });

    it('a stale upstream success (older than within) does not count', async () => {
      const run = processor();
      await deliver(run, salesforce({ occurredAt: recent(7 * 60) }));
      await deliver(run, billing());
      assert.equal(runsOf(MART_JOB).length, 0);
      const doc = (await joinState('finance mart'))!;
      assert.equal(doc.upstreams.salesforce!.success, null);
    });

    it("a dbt Cloud job's success is an upstream (job → job), and its run events update the job's state", async () => {
      const run = processor();
      await deliver(run, salesforce());
      await deliver(run, billing());
      const martRun = (await joinState('finance mart'))!.firings[0]!.run!.id;
      await deliver(run, dbtRunEvent('job.run.started', MART_JOB, martRun));
      let slot = Object.values((await jobState(MART_JOB))!.slots)[0]!;
      assert.equal(slot.run!.status, 'running', 'a run event moves the tracked run');
      assert.equal(runsOf(CHAINED_JOB).length, 0, 'a started run is not a success');
      await deliver(run, dbtRunEvent('job.run.completed-success', MART_JOB, martRun));
      slot = Object.values((await jobState(MART_JOB))!.slots)[0]!;
      assert.equal(slot.run!.status, 'success');
      assert.equal(runsOf(CHAINED_JOB).length, 1, 'the chained job started');
    });
  });
});
