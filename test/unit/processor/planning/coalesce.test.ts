import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DbtJobAction } from '../../../../functions/generated/routing-config.schema.js';
import {
  busyPolicyOf,
  decideBusy,
  observeRun,
  recordTriggered,
  releaseTrigger,
  type BusyContext,
  type BusyDecision,
  type BusyPolicy,
} from '../../../../functions/processor/planning/coalesce.js';
import { optionsFingerprint, slotFor, withSlot, type JobSlot, type RunStatus } from '../../../../functions/processor/planning/job-state.js';

const NOW = new Date('2026-05-22T09:41:00.000Z');
const EVENT = 'e'.repeat(32);
const OTHER = 'a'.repeat(32);
const RUN = 4711;
const JOB = { jobId: 70403103936004 };
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
const ctx = (observed?: Map<number, RunStatus>): BusyContext => ({ eventId: EVENT, now: NOW, leaseMs: 120_000, listLagMs: 60_000, ...(observed && { observed: { runs: observed } }) });

function slot(run?: { status: RunStatus; triggeredSecondsAgo?: number; eventId?: string; coalesced?: string[] }, trigger?: { eventId: string; leaseLeftSeconds: number }): JobSlot {
  const base = slotFor(undefined, JOB);
  return {
    ...base,
    run: run
      ? {
          id: RUN,
          eventId: run.eventId ?? OTHER,
          triggeredAt: ago(run.triggeredSecondsAgo ?? 600),
          status: run.status,
          statusAt: ago(run.triggeredSecondsAgo ?? 600),
          coalesced: run.coalesced ?? [],
          coalescedCount: run.coalesced?.length ?? 0,
        }
      : null,
    trigger: trigger ? { eventId: trigger.eventId, since: ago(5), leaseUntil: new Date(NOW.getTime() + trigger.leaseLeftSeconds * 1000).toISOString() } : null,
  };
}

/** Decides, answering a `confirm` with what dbt Cloud's list-runs (status__in=[1,2,3]) would say. */
function decide(policy: BusyPolicy, current: JobSlot, listed: Map<number, RunStatus>): { decision: BusyDecision; asked: boolean } {
  const first = decideBusy(policy, current, ctx());
  if (first.kind !== 'confirm') return { decision: first, asked: false };
  assert.equal(first.runId, current.run?.id);
  return { decision: decideBusy(policy, current, ctx(listed)), asked: true };
}

function summary(decision: BusyDecision): string {
  switch (decision.kind) {
    case 'trigger':
      return 'trigger';
    case 'coalesce':
    case 'skip':
    case 'triggered':
      return `${decision.kind} ${decision.runId}`;
    case 'wait':
      return `wait ${decision.holder === OTHER ? 'other' : decision.holder}`;
    default:
      return decision.kind;
  }
}

describe('processor/planning/coalesce', () => {
  const listed = (status?: RunStatus) => new Map<number, RunStatus>(status ? [[RUN, status]] : []);
  // [state, slot, what list-runs answers, coalesce, queue, skip, does coalesce ask dbt Cloud?]
  const table: Array<[string, JobSlot, Map<number, RunStatus>, string, string, string, boolean]> = [
    ['idle: postload never ran it', slot(), listed(), 'trigger', 'trigger', 'trigger', false],
    ['queued, and dbt Cloud confirms it', slot({ status: 'queued' }), listed('queued'), `coalesce ${RUN}`, 'trigger', `skip ${RUN}`, true],
    ['queued, dbt Cloud says starting', slot({ status: 'queued' }), listed('starting'), `coalesce ${RUN}`, 'trigger', `skip ${RUN}`, true],
    ['queued on record, dbt Cloud says running', slot({ status: 'queued' }), listed('running'), 'trigger', 'trigger', `skip ${RUN}`, true],
    ['queued on record, gone from the active list (finished)', slot({ status: 'queued' }), listed(), 'trigger', 'trigger', 'trigger', true],
    ['queued 10 s ago, not listed yet (the list lags)', slot({ status: 'queued', triggeredSecondsAgo: 10 }), listed(), `coalesce ${RUN}`, 'trigger', `skip ${RUN}`, true],
    ['starting, confirmed', slot({ status: 'starting' }), listed('starting'), `coalesce ${RUN}`, 'trigger', `skip ${RUN}`, true],
    ['running (a webhook said so), still running', slot({ status: 'running' }), listed('running'), 'trigger', 'trigger', `skip ${RUN}`, false],
    ['running on record, finished since', slot({ status: 'running' }), listed(), 'trigger', 'trigger', 'trigger', false],
    ['succeeded', slot({ status: 'success' }), listed(), 'trigger', 'trigger', 'trigger', false],
    ['errored', slot({ status: 'error' }), listed(), 'trigger', 'trigger', 'trigger', false],
    ['cancelled', slot({ status: 'cancelled' }), listed(), 'trigger', 'trigger', 'trigger', false],
    ['ended (left the active list)', slot({ status: 'ended' }), listed(), 'trigger', 'trigger', 'trigger', false],
    ['another event is triggering (live lease)', slot(undefined, { eventId: OTHER, leaseLeftSeconds: 30 }), listed(), 'wait other', 'trigger', 'wait other', false],
    ['another event was triggering, lease expired', slot(undefined, { eventId: OTHER, leaseLeftSeconds: -1 }), listed(), 'trigger', 'trigger', 'trigger', false],
    ['expired lease over a queued run: the run still absorbs', slot({ status: 'queued' }, { eventId: OTHER, leaseLeftSeconds: -1 }), listed('queued'), `coalesce ${RUN}`, 'trigger', `skip ${RUN}`, true],
    ['this event holds the lease (its redelivery)', slot({ status: 'queued' }, { eventId: EVENT, leaseLeftSeconds: 30 }), listed('queued'), 'trigger', 'trigger', 'trigger', false],
    ['this event triggered the run (its redelivery)', slot({ status: 'queued', eventId: EVENT }), listed('queued'), `triggered ${RUN}`, `triggered ${RUN}`, `triggered ${RUN}`, false],
    ['this event was already coalesced (its redelivery)', slot({ status: 'running', coalesced: [EVENT] }), listed('running'), `coalesce ${RUN}`, 'trigger', `skip ${RUN}`, false],
  ];

  for (const [state, current, answer, coalesce, queue, skip, asks] of table) {
    describe(state, () => {
      for (const [policy, expected] of [['coalesce', coalesce], ['queue', queue], ['skip', skip]] as const) {
        it(`${policy}: ${expected}`, () => {
          const { decision, asked } = decide(policy, current, answer);
          assert.equal(summary(decision), expected);
          if (policy === 'coalesce') assert.equal(asked, asks, 'whether dbt Cloud is asked to confirm');
          if (policy === 'queue') assert.equal(asked, false, 'queue never asks dbt Cloud');
        });
      }
    });
  }

  it('a trigger takes a lease for this event, which holds other events off until it ends', () => {
    const decision = decideBusy('coalesce', slot(), ctx());
    assert.equal(decision.kind, 'trigger');
    if (decision.kind !== 'trigger') return;
    assert.deepEqual(decision.slot.trigger, { eventId: EVENT, since: NOW.toISOString(), leaseUntil: '2026-05-22T09:43:00.000Z' });
    const other = decideBusy('coalesce', decision.slot, { ...ctx(), eventId: OTHER });
    assert.deepEqual(other, { kind: 'wait', holder: EVENT, retryAfterMs: 120_000 });
  });

  it('coalesce is the default policy', () => {
    assert.equal(busyPolicyOf({}), 'coalesce');
    assert.equal(busyPolicyOf({ onBusy: 'skip' }), 'skip');
  });

  it('queue takes no lease and never waits', () => {
    const current = slot(undefined, { eventId: OTHER, leaseLeftSeconds: 30 });
    const decision = decideBusy('queue', current, ctx());
    assert.deepEqual(decision, { kind: 'trigger', slot: current, reason: 'queue' });
  });

  it('records the coalesced event on the run, once, and the confirmed status', () => {
    const current = slot({ status: 'queued' });
    const decision = decideBusy('coalesce', current, ctx(listed('starting')));
    assert.equal(decision.kind, 'coalesce');
    if (decision.kind !== 'coalesce') return;
    assert.deepEqual(decision.slot.run?.coalesced, [EVENT]);
    assert.equal(decision.slot.run?.coalescedCount, 1);
    assert.equal(decision.slot.run?.status, 'starting');
    assert.equal(decision.slot.run?.statusAt, NOW.toISOString());
    const again = decideBusy('coalesce', decision.slot, ctx());
    assert.equal(again.kind === 'coalesce' && again.slot, decision.slot, 'a redelivery changes nothing');
  });

  it('a confirmation that the run moved on is kept, so the next event need not ask', () => {
    const decision = decideBusy('coalesce', slot({ status: 'queued' }), ctx(listed('running')));
    assert.equal(decision.kind, 'trigger');
    if (decision.kind !== 'trigger') return;
    assert.equal(decision.slot.run?.status, 'running');
    assert.equal(decision.slot.trigger?.eventId, EVENT);
  });

  it('a burst: after one trigger, every following event coalesces into that run', () => {
    let current = slot();
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const eventId = i.toString(16).padStart(32, '0');
      const c = { ...ctx(listed('queued')), eventId };
      const decision = decideBusy('coalesce', current, c);
      outcomes.push(summary(decision));
      if (decision.kind === 'trigger') current = recordTriggered(decision.slot, eventId, RUN, NOW);
      else if (decision.kind === 'coalesce') current = decision.slot;
    }
    assert.deepEqual(outcomes, ['trigger', ...Array(9).fill(`coalesce ${RUN}`)]);
    assert.equal(current.run?.coalescedCount, 9);
    assert.equal(current.trigger, null);
  });

  it('runs with different options live in different slots and never merge', () => {
    const a: DbtJobAction = { jobId: 1, steps_override: ['dbt build -s a+'] };
    const b: DbtJobAction = { jobId: 1, steps_override: ['dbt build -s b+'] };
    assert.notEqual(optionsFingerprint(a), optionsFingerprint(b));
    assert.equal(optionsFingerprint({ jobId: 1, threads_override: 4, git_branch: 'main' }), optionsFingerprint({ git_branch: 'main', threads_override: 4, jobId: '1', cause: 'x', onBusy: 'skip' }));
    const slotA = recordTriggered(slotFor(undefined, a), OTHER, RUN, NOW);
    const doc = withSlot(undefined, '1', slotA, NOW);
    const slotB = slotFor(doc, b);
    assert.equal(slotB.run, null);
    assert.equal(decideBusy('coalesce', slotB, ctx()).kind, 'trigger');
    assert.equal(slotFor(doc, a).run?.id, RUN);
  });

  it('releases only its own lease when a trigger fails for good', () => {
    const held = slot(undefined, { eventId: EVENT, leaseLeftSeconds: 30 });
    assert.equal(releaseTrigger(held, EVENT).trigger, null);
    assert.equal(releaseTrigger(held, OTHER), held);
  });

  it('observes run status news only for the tracked run and only when newer', () => {
    const current = recordTriggered(slot(), EVENT, RUN, NOW);
    const later = new Date(NOW.getTime() + 1000);
    assert.equal(observeRun(current, RUN, 'running', later).run?.status, 'running');
    assert.equal(observeRun(current, RUN + 1, 'running', later), current);
    assert.equal(observeRun(current, RUN, 'running', new Date(NOW.getTime() - 1000)), current);
  });

  describe('property: against a job that runs one run at a time, as dbt Cloud does', () => {
    // dbt Cloud runs one job's runs one after another (docs.getdbt.com/dbt-cloud/api-v2): a step either
    // delivers an event, or lets the job advance (the oldest queued run starts when none
    // runs; a running run finishes).
    type Step = 'event' | 'advance';
    const steps = fc.array(fc.constantFrom<Step>('event', 'event', 'advance'), { minLength: 1, maxLength: 60 });

    function simulate(policy: BusyPolicy, plan: Step[]) {
      const runs: Array<{ id: number; status: RunStatus }> = [];
      let current = slotFor(undefined, JOB);
      let minute = 0;
      let maxWaiting = 0;
      const outcomes: string[] = [];
      for (const step of plan) {
        const now = new Date(NOW.getTime() + ++minute * 60_000);
        if (step === 'advance') {
          const running = runs.find((r) => r.status === 'running');
          if (running) running.status = 'success';
          else {
            const queued = runs.find((r) => r.status === 'queued');
            if (queued) queued.status = 'running';
          }
          continue;
        }
        const eventId = minute.toString(16).padStart(32, '0');
        const base: BusyContext = { eventId, now, leaseMs: 120_000, listLagMs: 0 };
        let decision = decideBusy(policy, current, base);
        if (decision.kind === 'confirm') {
          const active = new Map(runs.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => [r.id, r.status] as [number, RunStatus]));
          decision = decideBusy(policy, current, { ...base, observed: { runs: active } });
        }
        outcomes.push(decision.kind);
        if (decision.kind === 'trigger') {
          const id = runs.length + 1;
          runs.push({ id, status: 'queued' });
          current = recordTriggered(decision.slot, eventId, id, now);
        } else if (decision.kind === 'coalesce' || decision.kind === 'skip') {
          const into = runs.find((r) => r.id === decision.runId);
          const busy = policy === 'skip' ? ['queued', 'running'] : ['queued'];
          assert.ok(into && busy.includes(into.status), `${decision.kind} into run ${decision.runId}, which is ${into?.status}`);
          current = decision.slot;
        } else assert.fail(`unexpected ${decision.kind}`);
        maxWaiting = Math.max(maxWaiting, runs.filter((r) => r.status === 'queued').length);
      }
      return { runs, outcomes, maxWaiting };
    }

    it('coalesce: never more than one waiting run, and every event is triggered or merged into a run that has not started', () => {
      fc.assert(
        fc.property(steps, (plan) => {
          const { runs, outcomes, maxWaiting } = simulate('coalesce', plan);
          assert.ok(maxWaiting <= 1);
          assert.equal(outcomes.length, plan.filter((s) => s === 'event').length);
          assert.equal(runs.length, outcomes.filter((o) => o === 'trigger').length);
        }),
        { seed: 2026, numRuns: 300 },
      );
    });

    it('skip: never more than one active run', () => {
      fc.assert(
        fc.property(steps, (plan) => {
          const { runs } = simulate('skip', plan);
          assert.ok(runs.filter((r) => r.status !== 'success').length <= 1);
        }),
        { seed: 2027, numRuns: 300 },
      );
    });

    it('queue: one run per event (the burst piles up, as today)', () => {
      const { runs, maxWaiting } = simulate('queue', Array<Step>(10).fill('event'));
      assert.equal(runs.length, 10);
      assert.equal(maxWaiting, 10);
      assert.equal(simulate('coalesce', Array<Step>(10).fill('event')).runs.length, 1);
    });
  });
});
