import assert from 'node:assert/strict';
import type { Firestore, Timestamp } from '@google-cloud/firestore';
import fc from 'fast-check';
import { triggerRequests } from '../../../functions/local/fake-dbt-cloud.js';
import { TransientError } from '../../../functions/processor/errors.js';
import type { TargetLeaseDoc, TargetRunLogDoc } from '../../../functions/processor/planning/target-state.js';
import type { JoinStateDoc } from '../../../functions/processor/planning/join-state.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { normaliseDbtCloud } from '../../../functions/ingest/dbt-cloud/normalise.js';
import { coveringRunId } from '../../support/coverage.js';
import { emulator } from '../../support/global-hooks.js';
import { emulatorFirestore, processorHarness } from '../../support/processor-harness.js';
import { fixtureText } from '../../support/webhook-fixtures.js';
import { airbyteSucceeded, failedSync, pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// Issues 12 and 26 end to end: the processor on the Firestore emulator, several processor
// "instances" (each its own Firestore client) at once, with the dbt Cloud stand-in
// answering list-runs as dbt Cloud does. Runs the stand-in starts stay queued (status 1)
// until a test moves them, as a dbt Cloud job waiting behind a busy one does.

const JOB = 500;
const QUEUED_JOB = 501;
const SKIP_JOB = 502;
const REFUSED_JOB = 503;
const MART_JOB = 600;
const CHAINED_JOB = 700;
const WINDOW_MS = 200;

const ROUTING = {
  routes: [
    { name: 'burst', match: { source: 'fivetran', connectorId: { glob: 'burst-*' } }, dbtJobs: [{ jobId: JOB }], slack: { notify: ['sync.succeeded'] } },
    { name: 'queued', match: { source: 'fivetran', connectorId: 'queued' }, dbtJobs: [{ jobId: QUEUED_JOB, onBusy: 'queue' }], slack: { notify: [] } },
    { name: 'skip', match: { source: 'fivetran', connectorId: 'skippy' }, dbtJobs: [{ jobId: SKIP_JOB, onBusy: 'skip' }], slack: { notify: ['sync.succeeded'] } },
    { name: 'refused', match: { source: 'fivetran', connectorId: 'refused' }, dbtJobs: [{ jobId: REFUSED_JOB }], slack: { notify: [] } },
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

describe('orchestration (issues 12 and 26) against the Firestore emulator and the dbt Cloud stand-in', function () {
  this.timeout(180_000);
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
      COALESCE_WINDOW_MS: String(WINDOW_MS),
    },
  });
  const { dbt, slack, processor, audit } = h;
  /** Separate Firestore clients: the processor instances Pub/Sub pushes to at once. */
  let instances: Firestore[] = [];
  before(async function () {
    const host = await emulator('firestore', this);
    instances = Array.from({ length: 3 }, () => emulatorFirestore(host));
  });
  after(async () => Promise.all(instances.map((db) => db.terminate())));
  const onInstance = (i: number, overrides: Record<string, string> = {}) => processor(overrides, instances[i % instances.length]);

  /** Pub/Sub's part: a delivery that throws a TransientError is delivered again (same message id) until acknowledged; counts redeliveries. */
  let redeliveries = 0;
  beforeEach(() => (redeliveries = 0));
  async function deliver(run: ReturnType<typeof processor>, event: SyncEvent, messageId = `m-${event.id.slice(0, 12)}`): Promise<number> {
    for (let delivery = 1; delivery <= 40; delivery++) {
      try {
        await run(pubSubCloudEvent(event, messageId));
        return delivery;
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        if (process.env.SHOW_REDELIVERIES) console.log(`redelivered: ${(error as Error).message}`);
        redeliveries++;
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
    throw new Error(`event ${event.id} was never acknowledged`);
  }

  const lease = async (jobId: number) => (await h.db.collection(h.env.JOB_STATE_COLLECTION!).doc(`dbt-cloud-${jobId}`).get()).data() as TargetLeaseDoc | undefined;
  const runLog = async (jobId: number) => (await h.db.collection(h.env.JOB_STATE_COLLECTION!).doc(`dbt-cloud-${jobId}#runs`).get()).data() as TargetRunLogDoc | undefined;
  const joinState = async (name: string) => (await h.db.collection(h.env.JOINS_COLLECTION!).doc(name).get()).data() as JoinStateDoc | undefined;
  const runsOf = (jobId: number) => triggerRequests(dbt).filter((r) => r.url.includes(`/jobs/${jobId}/run/`));
  const listRunsCalls = () => dbt.requests.filter((r) => r.method === 'GET' && /\/runs\/\?/.test(r.url));
  const covering = (event: SyncEvent, jobId: number) => coveringRunId(h.db, h.env.AUDIT_COLLECTION!, event.id, `dbt-job-${jobId}`);
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
    it('a burst of 12 successes for one job, delivered at once to 3 instances, starts one run, no event redelivered; each is recorded as having started it or as covered by it; Slack says which', async () => {
      const events = Array.from({ length: 12 }, (_, i) => syncEvent({ connector: { id: `burst-${i}`, name: `burst ${i}` }, occurredAt: recent() }));
      await Promise.all(events.map((event, i) => deliver(onInstance(i), event)));
      assert.equal(redeliveries, 0, 'no event waited for another through a redelivery');

      const runs = runsOf(JOB);
      assert.equal(runs.length, 1);
      const runId = dbt.runs[0]!.id;
      for (const e of events) {
        assert.equal(await covering(e, JOB), runId, `event ${e.id} resolves to the run`);
        assert.equal((await audit(e.id)).status, 'processed');
      }
      const outcomes = await Promise.all(events.map(async (e) => (await audit(e.id)).actions[`dbt-job-${JOB}`]!));
      const started = outcomes.filter((a) => a.runId === runId);
      assert.equal(started.length, 1, 'runId means this event started the run');
      assert.ok(outcomes.every((a) => a.runId === runId || ['joined', 'coalesced'].includes(String(a.busy?.outcome))));

      const log = (await runLog(JOB))!;
      assert.deepEqual(Object.keys(log.runs), [String(runId)]);
      assert.equal(Object.values(log.days)[0], 1, 'one run counted for the day');
      // The lease document: one batch per window, never one write per event.
      const batches = (await lease(JOB))!.slots[Object.keys((await lease(JOB))!.slots)[0]!]!.batches;
      assert.ok(batches.length < events.length, `${batches.length} batches for ${events.length} events`);

      const texts = slack.requests.map((r) => JSON.stringify(r.json));
      assert.equal(texts.length, 12);
      assert.equal(texts.filter((t) => /Started dbt Cloud job 500/.test(t)).length, 1);
      assert.equal(texts.filter((t) => /covered by the run event [0-9a-f]{8} starts or joins|coalesced into run \d+/.test(t)).length, 11);
    });

    it('the same burst under queue starts 12 runs and asks dbt Cloud nothing before triggering', async () => {
      const events = Array.from({ length: 12 }, () => syncEvent({ connector: { id: 'queued', name: 'bq' }, occurredAt: recent() }));
      await Promise.all(events.map((event, i) => deliver(onInstance(i), event)));
      assert.equal(runsOf(QUEUED_JOB).length, 12);
      assert.equal(listRunsCalls().length, 0);
      assert.equal(await lease(QUEUED_JOB), undefined, 'queue writes no shared state');
      assert.equal(redeliveries, 0);
    });

    it('coalesce starts a new run once the waiting run is running (dbt Cloud says so), and merges again into the new one', async () => {
      const run = processor();
      const [a, b, c] = [0, 1, 2].map(() => syncEvent({ connector: { id: 'burst-x', name: 'b' }, occurredAt: recent() }));
      await deliver(run, a!);
      const first = (await audit(a!.id)).actions[`dbt-job-${JOB}`]!.runId!;
      dbt.setStatus(Number(first), 3); // running: it has read its data already
      await deliver(run, b!);
      const second = (await audit(b!.id)).actions[`dbt-job-${JOB}`]!;
      assert.equal(second.busy, undefined);
      assert.notEqual(second.runId, first);
      await deliver(run, c!);
      assert.deepEqual((await audit(c!.id)).actions[`dbt-job-${JOB}`]!.busy, { outcome: 'coalesced', runId: second.runId, runStatus: 'queued' });
      assert.equal(runsOf(JOB).length, 2);
      assert.ok(listRunsCalls().every((r) => new URL(r.url, 'http://x').searchParams.get('job_definition_id') === String(JOB)));
    });

    it('a run that already finished is not merged into: a new run starts', async () => {
      const run = processor();
      const [a, b] = [0, 1].map(() => syncEvent({ connector: { id: 'burst-x', name: 'b' }, occurredAt: recent() }));
      await deliver(run, a!);
      const first = (await audit(a!.id)).actions[`dbt-job-${JOB}`]!.runId!;
      dbt.setStatus(Number(first), 10);
      await deliver(run, b!);
      const second = (await audit(b!.id)).actions[`dbt-job-${JOB}`]!;
      assert.equal(second.busy, undefined);
      assert.equal(runsOf(JOB).length, 2);
    });

    it('a logged run id that dbt Cloud now gives to another job, or to a run another event started, is not merged into: a new run starts (a run log written against other runs)', async () => {
      // What a run log left by another dbt Cloud account or host (or by another local
      // stand-in numbering its runs from the same start) looks like to this one.
      const run = processor();
      const [a, b, c] = [0, 1, 2].map(() => syncEvent({ connector: { id: 'burst-x', name: 'b' }, occurredAt: recent() }));
      await deliver(run, a!);
      const first = (await audit(a!.id)).actions[`dbt-job-${JOB}`]!.runId!;
      const { fingerprint } = (await runLog(JOB))!.runs[String(first)]!;
      dbt.setStatus(Number(first), 10);
      const logged = (runId: number, holder: string) =>
        h.db.collection(h.env.JOB_STATE_COLLECTION!).doc(`dbt-cloud-${JOB}#runs`).set({ runs: { [String(runId)]: { runId, fingerprint, holder, triggeredAt: new Date().toISOString() } } }, { merge: true });

      // The logged id is a queued run of another job here, even one carrying the logged holder's marker.
      const elsewhere = 'e'.repeat(32);
      const otherJobs = dbt.addRun({ accountId: Number(h.env.DBT_CLOUD_ACCOUNT_ID), jobId: QUEUED_JOB, cause: `Triggered by postload [event ${elsewhere}]` });
      await logged(otherJobs.id, elsewhere);
      await deliver(run, b!);
      const second = (await audit(b!.id)).actions[`dbt-job-${JOB}`]!;
      assert.equal(second.busy, undefined, `not merged into run ${otherJobs.id} of job ${QUEUED_JOB}`);
      assert.ok(second.runId !== undefined && second.runId !== otherJobs.id);
      dbt.setStatus(Number(second.runId), 10);

      // The logged id is a queued run of this job that another event (here: someone in dbt Cloud's UI) started.
      const byHand = dbt.addRun({ accountId: Number(h.env.DBT_CLOUD_ACCOUNT_ID), jobId: JOB, cause: 'Kicked off from the dbt Cloud UI' });
      await logged(byHand.id, 'f'.repeat(32));
      await deliver(run, c!);
      const third = (await audit(c!.id)).actions[`dbt-job-${JOB}`]!;
      assert.equal(third.busy, undefined, `not merged into run ${byHand.id}, which another event started`);
      assert.equal(runsOf(JOB).length, 3, 'each of the three loads started its own run');
    });

    it('a batch whose trigger dbt Cloud refused for good leaves a run log with no runs; the next batch of the job still decides and starts its run', async () => {
      const run = processor();
      const [a, b] = [0, 1].map(() => syncEvent({ connector: { id: 'refused', name: 'r' }, occurredAt: recent() }));
      dbt.failTriggers({ status: 404, body: { status: { code: 404, is_success: false, user_message: 'The requested resource was not found.' }, data: null } });
      await deliver(run, a!);
      assert.equal((await audit(a!.id)).actions[`dbt-job-${REFUSED_JOB}`]!.status, 'failed');
      const log = (await runLog(REFUSED_JOB)) as Partial<TargetRunLogDoc>;
      assert.equal(log.batches?.[a!.id]?.decision, 'failed');
      assert.equal(log.runs, undefined, 'the settle merged no runs map (so a reader must not expect one)');
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      assert.equal(await deliver(run, b!), 1, 'decided in its first delivery, not a redelivery loop');
      assert.equal(typeof (await audit(b!.id)).actions[`dbt-job-${REFUSED_JOB}`]!.runId, 'number');
      assert.equal(dbt.runs.filter((r) => r.jobId === REFUSED_JOB).length, 1);
    });

    it('skip: while a run is running, an event is skipped and says which run was busy; once it finished, a run starts', async () => {
      const run = processor();
      const [a, b, c] = [0, 1, 2].map(() => syncEvent({ connector: { id: 'skippy', name: 's' }, occurredAt: recent() }));
      await deliver(run, a!);
      const first = (await audit(a!.id)).actions[`dbt-job-${SKIP_JOB}`]!.runId!;
      dbt.setStatus(Number(first), 3);
      await deliver(run, b!);
      const skipped = (await audit(b!.id)).actions[`dbt-job-${SKIP_JOB}`]!;
      assert.deepEqual(skipped.busy, { outcome: 'skipped', runId: first, runStatus: 'running' });
      assert.match(JSON.stringify(slack.requests.at(-1)!.json), new RegExp(`skipped, run ${first} is running`));
      // Finished: dbt Cloud's webhook says so, and the run log records it.
      dbt.setStatus(Number(first), 10);
      await deliver(run, dbtRunEvent('job.run.completed-success', SKIP_JOB, Number(first)));
      assert.equal((await runLog(SKIP_JOB))!.runs[String(first)]!.endStatus, 'success');
      await deliver(run, c!);
      assert.equal((await audit(c!.id)).actions[`dbt-job-${SKIP_JOB}`]!.busy, undefined);
      assert.equal(runsOf(SKIP_JOB).length, 2);
    });

    it('property: a burst of any size, spread over any of 3 instances at any moments, starts the same runs as the same events one by one, with no redelivery', async () => {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ instance: fc.nat(2), delayMs: fc.integer({ min: 0, max: 600 }) }), { minLength: 1, maxLength: 14 }),
          async (plan) => {
            round++;
            const env = (mode: string) => ({ AUDIT_COLLECTION: `${h.env.AUDIT_COLLECTION}-p${round}${mode}`, JOB_STATE_COLLECTION: `${h.env.JOB_STATE_COLLECTION}-p${round}${mode}` });
            const events = plan.map((_, i) => syncEvent({ connector: { id: `burst-p${i}`, name: `p${i}` }, occurredAt: recent() }));
            dbt.reset();
            redeliveries = 0;
            await Promise.all(events.map(async (event, i) => {
              await new Promise((resolve) => setTimeout(resolve, plan[i]!.delayMs));
              await deliver(onInstance(plan[i]!.instance, env('b')), event);
            }));
            const together = runsOf(JOB).length;
            const togetherRedeliveries = redeliveries;
            dbt.reset();
            for (const event of events) await deliver(processor(env('s')), event);
            assert.equal(togetherRedeliveries, 0);
            assert.equal(together, runsOf(JOB).length, 'the burst started as many runs as one by one');
            assert.equal(together, 1);
          },
        ),
        { seed: 26_2026, numRuns: 6 },
      );
    });
  });

  describe('joins', () => {
    const salesforce = (overrides: Parameters<typeof syncEvent>[0] = {}) => syncEvent({ connector: { id: 'salesforce_fin', name: 'salesforce' }, occurredAt: recent(3), ...overrides });
    const billing = (overrides: Parameters<typeof airbyteSucceeded>[0] = {}) => airbyteSucceeded({ connector: { id: 'b1ll', name: 'finance-billing' }, occurredAt: recent(2), ...overrides });

    it('two upstreams (Fivetran and Airbyte) completing concurrently on two instances start exactly one run, with no redelivery; the message lists both with their times', async () => {
      for (let round = 0; round < 3; round++) {
        const before = runsOf(MART_JOB).length;
        // Successes that occurred after the last firing (an older one was read by that run).
        const at = new Date().toISOString();
        const [s, b] = [salesforce({ occurredAt: at }), billing({ occurredAt: at })];
        await Promise.all([deliver(onInstance(0), s), deliver(onInstance(1), b)]);
        assert.equal(runsOf(MART_JOB).length, before + 1, `round ${round}: one run`);
        const doc = (await joinState('finance mart'))!;
        assert.equal(doc.round, round + 1);
        assert.equal(doc.runs?.[String(round + 1)]?.outcome, 'triggered');
        // The run finishes (dbt Cloud's webhook says so), so the next round starts a new one.
        const runId = Number(doc.runs![String(round + 1)]!.runId);
        dbt.setStatus(runId, 10);
        await deliver(processor(), dbtRunEvent('job.run.completed-success', MART_JOB, runId));
        for (const [name, upstream] of Object.entries(doc.upstreams)) assert.equal(upstream.success, null, `${name} emptied after firing`);
      }
      assert.equal(redeliveries, 0);
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
      await Promise.all([deliver(onInstance(0), s, 'again-1'), deliver(onInstance(1), b, 'again-2'), deliver(onInstance(2), b, 'again-3')]);
      assert.equal(runsOf(MART_JOB).length, 1, 'no second run');
      const doc = (await joinState('finance mart'))!;
      assert.equal(doc.round, 1);
      assert.equal(doc.upstreams.salesforce!.success, null);
      assert.equal(doc.upstreams.billing!.success, null);
      assert.equal(((await audit(b.id)).joins as Record<string, { outcome: string }>)['finance mart']!.outcome, 'fired');
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
      assert.equal(doc.runs?.['1']?.outcome, 'triggered');
      assert.equal(doc.runs?.['1']?.runId, (await audit(doc.firings[0]!.eventId)).actions[`dbt-job-${MART_JOB}`]!.runId);
    });

    it('join and target state documents carry expireAt (Firestore TTL): the audit retention after their last write, renewed by each write', async () => {
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
      for (const doc of [await lease(MART_JOB), await runLog(MART_JOB)]) {
        const at = expiry(doc);
        assert.ok(at >= fired + keep && at <= Date.now() + keep, "the join's target state expires 3 days after its last write");
      }
    });

    it('a stale upstream success (older than within) does not count', async () => {
      const run = processor();
      await deliver(run, salesforce({ occurredAt: recent(7 * 60) }));
      await deliver(run, billing());
      assert.equal(runsOf(MART_JOB).length, 0);
      const doc = (await joinState('finance mart'))!;
      assert.equal(doc.upstreams.salesforce!.success, null);
    });

    it("a dbt Cloud job's success is an upstream (job → job), and its run events update the run log", async () => {
      const run = processor();
      await deliver(run, salesforce());
      await deliver(run, billing());
      const martRun = Number((await joinState('finance mart'))!.runs!['1']!.runId);
      await deliver(run, dbtRunEvent('job.run.started', MART_JOB, martRun));
      assert.ok((await runLog(MART_JOB))!.runs[String(martRun)]!.startedAt, 'a run event records the run began');
      assert.equal(runsOf(CHAINED_JOB).length, 0, 'a started run is not a success');
      await deliver(run, dbtRunEvent('job.run.completed-success', MART_JOB, martRun));
      assert.equal((await runLog(MART_JOB))!.runs[String(martRun)]!.endStatus, 'success');
      assert.equal(runsOf(CHAINED_JOB).length, 1, 'the chained job started');
    });
  });
});
