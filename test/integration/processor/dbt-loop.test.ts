import assert from 'node:assert/strict';
import type { DocumentReference, Firestore, Transaction, WriteBatch } from '@google-cloud/firestore';
import type { DbtCloudWebhook } from '../../../functions/generated/dbt-cloud-webhook.schema.js';
import { normaliseDbtCloud } from '../../../functions/ingest/dbt-cloud/normalise.js';
import { triggerRequests, type FakeRun } from '../../../functions/local/fake-dbt-cloud.js';
import { TransientError } from '../../../functions/processor/errors.js';
import type { RunOutcome } from '../../../functions/processor/planning/run-outcome.js';
import type { ActionRecord } from '../../../functions/processor/store/event-store.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { emulator } from '../../support/global-hooks.js';
import { emulatorFirestore, processorHarness } from '../../support/processor-harness.js';
import { pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// Issue 13's loop on the Firestore emulator, processor side: a run postload started is
// reported by dbt Cloud's run webhooks (built by the stand-in exactly as the fixtures in
// test/fixtures/dbt-cloud/, normalised by the ingest's own normaliser), and the
// originating event's audit record, the load connector and Slack show its outcome.

const ROUTING = {
  routes: [
    { name: 'orders', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 101 }] },
    { name: 'marts-load', match: { source: 'fivetran', connectorId: 'marts_src' }, dbtJobs: [{ jobId: 102 }] },
    { name: 'marts-runs', match: { source: 'dbt-cloud', connectorId: '102' }, slack: { notify: ['transformation.succeeded', 'transformation.failed'] } },
  ],
};

type Audit = Record<string, unknown> & { actions: Record<string, ActionRecord & { runOutcome?: RunOutcome }> };

describe('the dbt Cloud loop: run webhooks close the loop on the load that started the run', function () {
  this.timeout(60_000);
  const h = processorHarness({
    routing: ROUTING,
    token: 'dbtc_loop',
    webhookPath: '/services/T/B/loop',
    prefix: 'loop-',
    env: {
      OUTBOUND_RETRY_MIN_DELAY_MS: '20',
      OUTBOUND_RETRY_MAX_DELAY_MS: '100',
      OUTBOUND_MAX_ATTEMPTS: '2',
      MAX_DELIVERY_ATTEMPTS: '5',
    },
  });
  const { dbt, slack, run } = h;

  const audit = async (id: string) => (await h.db.collection(h.env.AUDIT_COLLECTION!).doc(id).get()).data() as Audit;
  const connector = async (id: string) => (await h.db.collection(h.env.CONNECTORS_COLLECTION!).doc(id).get()).data();

  /** The dbt-cloud SyncEvent ingest makes of the stand-in's webhook for this run. */
  function runEvent(fake: FakeRun, eventType: 'job.run.started' | 'job.run.errored' | 'job.run.completed', end?: 10 | 20 | 30, message = 'Database Error in model orders'): SyncEvent {
    if (end) dbt.setStatus(fake.id, end);
    else {
      fake.status = 3;
      fake.startedAt ??= new Date(Date.now() - 60_000).toISOString();
    }
    return normaliseDbtCloud(JSON.parse(dbt.webhookBody(fake, eventType, message)) as DbtCloudWebhook, new Date());
  }

  async function loadStartsRun(connectorId = 'assimilate_seem'): Promise<{ load: SyncEvent; fake: FakeRun }> {
    const load = syncEvent({ connector: { id: connectorId, name: connectorId === 'assimilate_seem' ? 'orders_pg' : 'marts_src' } });
    await run(load);
    const [fake] = dbt.runsFor(load.id);
    assert.ok(fake, 'the load started a run');
    fake.startedAt = new Date(Date.now() - 60_000).toISOString();
    return { load, fake };
  }

  it('a failed run: the load\'s audit record shows it failed, its connector links the run, Slack gets one alert naming the sync; errored + completed and duplicates change nothing', async () => {
    const { load, fake } = await loadStartsRun();
    const started = runEvent(fake, 'job.run.started');
    await run(started);
    let action = (await audit(load.id)).actions['dbt-job-101']!;
    assert.equal(action.runOutcome?.status, 'running');
    assert.equal(action.runOutcome?.eventId, started.id);
    assert.equal(slack.requests.length, 0, 'a start is not notified');

    const errored = runEvent(fake, 'job.run.errored', 20);
    const completed = runEvent(fake, 'job.run.completed', 20);
    assert.equal(completed.id, errored.id, 'one occurrence');
    await run(errored, 'errored');
    const afterFailure = await audit(load.id);
    action = afterFailure.actions['dbt-job-101']!;
    assert.equal(action.status, 'succeeded', 'the action (starting the run) stays succeeded');
    assert.equal(action.runId, fake.id);
    assert.deepEqual({ ...action.runOutcome, recordedAt: 'x', eventId: 'x' }, {
      status: 'failed', runStatusCode: 20, startedAt: errored.sync.startedAt, finishedAt: errored.sync.finishedAt,
      durationSeconds: errored.sync.durationSeconds, errorMessage: 'Database Error in model orders', eventId: 'x', recordedAt: 'x',
    });
    assert.equal(action.runOutcome?.eventId, errored.id);

    assert.equal(slack.requests.length, 1);
    const alert = slack.requests[0]!.json as { text: string };
    assert.match(alert.text, /dbt Cloud transformation failed: Job 101 — Database Error in model orders/);
    assert.match(alert.text, /started by postload for Fivetran sync\.succeeded of orders_pg \(assimilate_seem\), sync b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e, at 2026-05-22T00:06:08\.638Z/);

    const link = (await connector('fivetran-assimilate_seem'))?.latestTransformation as Record<string, unknown>;
    assert.deepEqual({ ...link, recordedAt: 'x' }, { originEventId: load.id, jobId: '101', runId: fake.id, status: 'failed', eventId: errored.id, finishedAt: errored.sync.finishedAt, recordedAt: 'x' });

    // completed after errored, a duplicate of each, and a late started: nothing changes.
    await run(completed, 'completed');
    await run(errored, 'errored-again');
    await run(started, 'started-again');
    await run(runEvent(fake, 'job.run.started'), 'started-late');
    const final = await audit(load.id);
    assert.deepEqual(final.actions['dbt-job-101']!.runOutcome, afterFailure.actions['dbt-job-101']!.runOutcome);
    assert.equal(slack.requests.length, 1, 'exactly one alert');
    assert.equal((await audit(errored.id)).deliveries, 3);
    assert.equal(triggerRequests(dbt).length, 1, 'run events start nothing');
  });

  it('out of order: completed before started ends succeeded; a success is notified only where a route asks for it', async () => {
    const quiet = await loadStartsRun();
    await run(runEvent(quiet.fake, 'job.run.completed', 10));
    await run(runEvent(quiet.fake, 'job.run.started'));
    assert.equal((await audit(quiet.load.id)).actions['dbt-job-101']!.runOutcome?.status, 'succeeded');
    assert.equal(slack.requests.length, 0, 'job 101 has no route asking for successes');

    const loud = await loadStartsRun('marts_src');
    await run(runEvent(loud.fake, 'job.run.completed', 10));
    assert.equal((await audit(loud.load.id)).actions['dbt-job-102']!.runOutcome?.status, 'succeeded');
    assert.equal(slack.requests.length, 1);
    assert.match((slack.requests[0]!.json as { text: string }).text, /dbt Cloud transformation succeeded: Job 102 \(started by postload for Fivetran sync\.succeeded of marts_src/);
  });

  it('a cancelled run postload started is alerted although no route notifies cancellations', async () => {
    const { load, fake } = await loadStartsRun();
    await run(runEvent(fake, 'job.run.completed', 30));
    assert.equal((await audit(load.id)).actions['dbt-job-101']!.runOutcome?.status, 'cancelled');
    assert.equal(slack.requests.length, 1);
    assert.match((slack.requests[0]!.json as { text: string }).text, /transformation cancelled: Job 101 \(started by postload for Fivetran/);
  });

  it('a webhook that overtakes the trigger\'s answer waits (transient, nothing recorded, no alert) until the run id is recorded', async () => {
    h.env.OUTBOUND_MAX_ATTEMPTS = '1'; // the lost answer is not retried within this delivery
    dbt.failTriggers('lost');
    const load = syncEvent({ connector: { id: 'assimilate_seem', name: 'orders_pg' } });
    await assert.rejects(run(load), TransientError);
    const [fake] = dbt.runsFor(load.id);
    assert.ok(fake, 'the run was queued although its answer was lost');
    fake.startedAt = new Date().toISOString();
    const failed = runEvent(fake, 'job.run.errored', 20);

    await assert.rejects(run(failed, 'early'), (error: unknown) => error instanceof TransientError && /has no run id recorded yet/.test(error.message));
    assert.equal((await audit(load.id)).actions['dbt-job-101']!.runOutcome, undefined);
    assert.equal(slack.requests.length, 0);
    assert.equal((await audit(failed.id)).status, 'retrying');

    await run(load); // the load's redelivery finds its run by the cause and records its id
    assert.equal((await audit(load.id)).actions['dbt-job-101']!.runId, fake.id);
    await run(failed, 'early'); // Pub/Sub redelivers the run event
    assert.equal((await audit(load.id)).actions['dbt-job-101']!.runOutcome?.status, 'failed');
    assert.equal(slack.requests.length, 1);
    assert.match((slack.requests[0]!.json as { text: string }).text, /started by postload for Fivetran/);
    assert.equal((await audit(failed.id)).status, 'processed');
  });

  it('runs postload did not start are recorded and routed like any event; a cause naming an event that started another run links nothing', async () => {
    const scheduled = dbt.addRun({ accountId: 7, jobId: 102, cause: 'Kicked off by the scheduler' });
    const event = runEvent(scheduled, 'job.run.errored', 20, 'Compilation Error in model marts');
    await run(event);
    assert.equal((await audit(event.id)).status, 'processed');
    assert.equal(slack.requests.length, 1, 'the route on source dbt-cloud and job 102 notifies failures');
    const text = (slack.requests[0]!.json as { text: string }).text;
    assert.match(text, /^dbt Cloud transformation failed: Job 102 — Compilation Error in model marts$/);

    const { load } = await loadStartsRun();
    const impostor = dbt.addRun({ accountId: 7, jobId: 101, cause: `copied by hand [event ${load.id}]` });
    const before = await audit(load.id);
    await run(runEvent(impostor, 'job.run.completed', 20));
    const after = await audit(load.id);
    assert.equal(after.actions['dbt-job-101']!.runOutcome, undefined, 'not the run the load started');
    assert.deepEqual(after.actions, before.actions);
    assert.equal(slack.requests.length, 2, 'still alerted as any failed run (default notify), without naming a load');
    assert.doesNotMatch((slack.requests[1]!.json as { text: string }).text, /started by postload/);
  });

  it("an instance that dies while linking the load's connector to the run leaves that connector writable: its next load is processed at its first delivery", async function () {
    const { fake } = await loadStartsRun();
    // The instance recording the run's end dies after it read the connector document and
    // before its write is committed: nothing it began is ever finished or rolled back.
    const dying = diesBeforeWriting(emulatorFirestore(await emulator('firestore', this)), `${h.env.CONNECTORS_COLLECTION}/fivetran-assimilate_seem`);
    const ended = runEvent(fake, 'job.run.completed', 10);
    await h.processor({ FIRESTORE_TIMEOUT_MS: '2000' }, dying)(pubSubCloudEvent(ended, 'dies'));
    assert.equal((await audit(ended.id)).status, 'processed', 'the link is best effort: the run event itself is done');

    // Every load of the connector writes its document in the claim commit.
    const next = syncEvent({ connector: { id: 'assimilate_seem', name: 'orders_pg' } });
    await h.processor({ FIRESTORE_TIMEOUT_MS: '5000' })(pubSubCloudEvent(next, 'next'));
    assert.equal((await audit(next.id)).status, 'processed');
    const recent = (await connector('fivetran-assimilate_seem'))?.recentEvents as Array<{ eventId: string }>;
    assert.ok(recent.some((e) => e.eventId === next.id), 'the load is on its connector');
  });
});

/**
 * A Firestore client whose instance dies just before it writes the document at `path`: that
 * commit, or the transaction that wrote it, never completes and is never rolled back (as
 * when the process is killed). Everything else goes through.
 */
function diesBeforeWriting(db: Firestore, path: string): Firestore {
  const never = () => new Promise<never>(() => {});
  const touches = (ref: DocumentReference) => ref.path === path;
  const batch = (): WriteBatch => {
    const real = db.batch();
    let dies = false;
    const wrapped = {
      create: (ref: DocumentReference, ...rest: unknown[]) => ((dies ||= touches(ref)), (real.create as (...a: unknown[]) => unknown)(ref, ...rest), wrapped),
      set: (ref: DocumentReference, ...rest: unknown[]) => ((dies ||= touches(ref)), (real.set as (...a: unknown[]) => unknown)(ref, ...rest), wrapped),
      update: (ref: DocumentReference, ...rest: unknown[]) => ((dies ||= touches(ref)), (real.update as (...a: unknown[]) => unknown)(ref, ...rest), wrapped),
      delete: (ref: DocumentReference, ...rest: unknown[]) => ((dies ||= touches(ref)), (real.delete as (...a: unknown[]) => unknown)(ref, ...rest), wrapped),
      commit: () => (dies ? never() : real.commit()),
    };
    return wrapped as unknown as WriteBatch;
  };
  const runTransaction = <T>(fn: (tx: Transaction) => Promise<T>, options?: Parameters<Firestore['runTransaction']>[1]) =>
    db.runTransaction(async (tx) => {
      let dies = false;
      const watched = new Proxy(tx, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown;
          if (typeof value !== 'function') return value;
          return (ref: unknown, ...rest: unknown[]) => {
            if (prop !== 'get' && ref && typeof ref === 'object' && 'path' in ref) dies ||= touches(ref as DocumentReference);
            const result = (value as (...a: unknown[]) => unknown).call(target, ref, ...rest);
            return result === target ? watched : result;
          };
        },
      });
      const result = await fn(watched);
      if (dies) await never();
      return result;
    }, options);
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'batch') return batch;
      if (prop === 'runTransaction') return runTransaction;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
