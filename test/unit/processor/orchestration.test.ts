import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventOrchestration, LIST_LAG_MS, sharedRetentionMs } from '../../../functions/processor/orchestration.js';
import type { ActiveRunsObservation } from '../../../functions/processor/planning/coalesce.js';
import type { ClaimDecision } from '../../../functions/processor/planning/claims.js';
import type { JobStateDoc, RunStatus } from '../../../functions/processor/planning/job-state.js';
import type { JoinStateDoc } from '../../../functions/processor/planning/join-state.js';
import { compileRouting, planFor } from '../../../functions/processor/planning/routing.js';
import type { ActionOutcome, SharedDocs } from '../../../functions/processor/store/event-store.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { airbyteSucceeded, failedSync, syncEvent } from '../../support/sync-event-fixtures.js';

// The orchestration glue without Firestore: an in-memory store plays the claim
// transaction (attempt → claims → decide → commit; confirm → ask the "dbt Cloud" below →
// again) and the settle (sharedAfter), one delivery at a time. The emulator tests prove
// the same under real concurrency; these prove the bookkeeping over many orders.

const ROUTING = compileRouting({
  routes: [
    { name: 'coalesce', match: { source: 'fivetran', connectorId: 'c' }, dbtJobs: [{ jobId: 1 }] },
    { name: 'queue', match: { source: 'fivetran', connectorId: 'q' }, dbtJobs: [{ jobId: 2, onBusy: 'queue' }] },
  ],
  joins: [
    {
      name: 'mart',
      upstreams: [
        { name: 'sf', match: { source: 'fivetran', connectorId: 'sf' } },
        { name: 'billing', match: { source: 'airbyte', connectorName: 'billing' } },
      ],
      within: 'PT6H',
      dbtJob: { jobId: 3 },
    },
  ],
});

const SETTINGS = { jobStateCollection: 'jobs', joinsCollection: 'joins', leaseMs: 120_000, listLagMs: LIST_LAG_MS, settingOf: (r: string) => r };

class World {
  docs: SharedDocs = new Map();
  audits = new Map<string, { joins?: Record<string, unknown>; actions: Record<string, { status: 'succeeded' | 'failed'; busy?: unknown; runId?: number }> }>();
  runs: Array<{ id: number; jobId: string; eventId: string; status: RunStatus }> = [];
  messages: string[] = [];
  clock = Date.parse('2026-11-29T09:00:00Z');

  deliver(event: SyncEvent, { failTrigger = false } = {}): void {
    const plan = planFor(event, ROUTING);
    const observed = new Map<string, ActiveRunsObservation>();
    for (let round = 0; round < 3; round++) {
      const orchestration = new EventOrchestration(event, plan, ROUTING, SETTINGS, () => this.clock, observed);
      const request = orchestration.request();
      const audit = this.audits.get(event.id) ?? { actions: {} };
      const docs: SharedDocs = new Map((request?.refs ?? []).map((r) => [`${r.collection}/${r.docId}`, this.docs.get(`${r.collection}/${r.docId}`)]));
      const attempt = request?.attempt(Object.keys(audit.actions).length || audit.joins ? (audit as unknown as Record<string, unknown>) : undefined, docs);
      const jobs = orchestration.jobs;
      const decisions = new Map<string, ClaimDecision>(jobs.map((j) => [j.actionId, audit.actions[j.actionId] ? { decision: 'done' } : { decision: 'claim', attempt: 1, checkFirst: false, takenOver: false }]));
      const decided = attempt?.decide(decisions);
      if (decided?.confirm.length) {
        // dbt Cloud: the active runs of each job (status__in=[1,2,3]).
        for (const { jobId } of decided.confirm) observed.set(jobId, { runs: new Map(this.runs.filter((r) => r.jobId === jobId && ['queued', 'starting', 'running'].includes(r.status)).map((r) => [r.id, r.status])) });
        continue;
      }
      // Commit: shared writes, the audit's joins and the done (coalesced) actions.
      for (const [key, doc] of decided?.writes ?? []) if (doc) this.docs.set(key, doc);
      Object.assign(audit, decided?.auditFields ?? {});
      for (const [id, fields] of decided?.done ?? []) audit.actions[id] = { status: 'succeeded', ...fields };
      this.audits.set(event.id, audit);
      for (const message of orchestration.messages) if (!audit.actions[message.actionId]) {
        audit.actions[message.actionId] = { status: 'succeeded' };
        this.messages.push(`${message.kind}:${message.join.name}`);
      }
      // Perform the claimed jobs, then settle.
      const outcomes = new Map<string, ActionOutcome>();
      for (const job of jobs) {
        if (decisions.get(job.actionId)?.decision !== 'claim' || decided?.done.has(job.actionId) || decided?.held.has(job.actionId)) continue;
        if (failTrigger) {
          outcomes.set(job.actionId, { status: 'failed', error: 'refused', httpStatus: 403, requests: [] });
          audit.actions[job.actionId] = { status: 'failed' };
          continue;
        }
        const run = { id: 1000 + this.runs.length, jobId: job.jobId, eventId: event.id, status: 'queued' as RunStatus };
        this.runs.push(run);
        outcomes.set(job.actionId, { status: 'succeeded', runId: run.id, requests: [] });
        audit.actions[job.actionId] = { status: 'succeeded', runId: run.id };
      }
      for (const [key, doc] of orchestration.sharedAfter(this.docs, outcomes)) if (doc) this.docs.set(key, doc);
      return;
    }
    throw new Error('confirmation did not settle');
  }

  job(jobId: number): JobStateDoc | undefined {
    return this.docs.get(`jobs/job-${jobId}`) as JobStateDoc | undefined;
  }
  join(): JoinStateDoc | undefined {
    return this.docs.get('joins/mart') as JoinStateDoc | undefined;
  }
}

describe('EventOrchestration (the claim transaction\'s orchestration, in memory)', () => {
  it('coalesce: any number of successes while the run is queued start one run; each later event is recorded as coalesced into it; the trigger lease is released', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.boolean(), { maxLength: 20 }), (count, redeliver) => {
        const world = new World();
        const events = Array.from({ length: count }, () => syncEvent({ connector: { id: 'c' } }));
        events.forEach((event, i) => {
          world.deliver(event);
          if (redeliver[i]) world.deliver(event);
        });
        assert.equal(world.runs.length, 1);
        const [first, ...rest] = events.map((e) => world.audits.get(e.id)!.actions['dbt-job-1']!);
        assert.equal(first!.runId, world.runs[0]!.id);
        for (const a of rest) assert.deepEqual([a.runId, (a.busy as { runId: number; outcome: string }).runId, (a.busy as { outcome: string }).outcome], [undefined, world.runs[0]!.id, 'coalesced']);
        const slot = Object.values(world.job(1)!.slots)[0]!;
        assert.equal(slot.trigger, null);
        assert.equal(slot.run!.coalescedCount, count - 1, 'a redelivery is not counted twice');
      }),
      { seed: 1212, numRuns: 60 },
    );
  });

  it('coalesce: once the run is running, the next event starts a new run', () => {
    const world = new World();
    world.deliver(syncEvent({ connector: { id: 'c' } }));
    world.runs[0]!.status = 'running';
    world.deliver(syncEvent({ connector: { id: 'c' } }));
    assert.equal(world.runs.length, 2);
  });

  it('queue: one run per event, and no job state written', () => {
    const world = new World();
    for (let i = 0; i < 5; i++) world.deliver(syncEvent({ connector: { id: 'q' } }));
    assert.equal(world.runs.length, 5);
    assert.equal(world.job(2), undefined);
  });

  it('a trigger that fails for good releases the lease: the next event triggers', () => {
    const world = new World();
    world.deliver(syncEvent({ connector: { id: 'c' } }), { failTrigger: true });
    assert.equal(Object.values(world.job(1)!.slots)[0]!.trigger, null);
    world.deliver(syncEvent({ connector: { id: 'c' } }));
    assert.equal(world.runs.length, 1);
  });

  it('join: in any order, with duplicates, each full set fires the join job exactly once, from the completing event, with one firing message', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ upstream: fc.constantFrom('sf', 'billing'), duplicate: fc.boolean() }), { minLength: 1, maxLength: 30 }), (steps) => {
        const world = new World();
        const held = new Set<string>();
        let sets = 0;
        for (const step of steps) {
          world.clock += 60_000;
          const at = new Date(world.clock).toISOString();
          const event = step.upstream === 'sf' ? syncEvent({ connector: { id: 'sf' }, occurredAt: at }) : airbyteSucceeded({ connector: { name: 'billing' }, occurredAt: at });
          world.deliver(event);
          if (step.duplicate) world.deliver(event);
          held.add(step.upstream);
          if (held.size === 2) {
            sets++;
            held.clear();
            // The run finishes before the next set, so each firing starts its own run.
            for (const run of world.runs) run.status = 'success';
          }
        }
        const joinRuns = world.runs.filter((r) => r.jobId === '3');
        assert.equal(joinRuns.length, sets);
        assert.equal(world.join()?.round ?? 0, sets);
        assert.equal(world.messages.filter((m) => m === 'fired:mart').length, sets);
        for (const firing of world.join()?.firings ?? []) {
          assert.equal(firing.run?.outcome, 'triggered');
          assert.equal(firing.run?.id, joinRuns.find((r) => r.eventId === firing.eventId)?.id, 'the firing names the run its completing event started');
        }
      }),
      { seed: 1213, numRuns: 60 },
    );
  });

  it('join: a failed upstream is alerted once per streak and keeps the other upstream', () => {
    const world = new World();
    world.deliver(syncEvent({ connector: { id: 'sf' }, occurredAt: new Date(world.clock).toISOString() }));
    for (let i = 0; i < 3; i++) {
      world.clock += 60_000;
      world.deliver(failedSync({ source: 'airbyte', vendorEvent: 'sync_failed', connector: { id: 'b', name: 'billing', type: 'Postgres' }, occurredAt: new Date(world.clock).toISOString() }));
    }
    assert.deepEqual(world.messages, ['waiting:mart']);
    assert.ok(world.join()!.upstreams.sf!.success);
    assert.equal(world.join()!.upstreams.billing!.failure?.count, 3);
    world.clock += 60_000;
    world.deliver(airbyteSucceeded({ connector: { name: 'billing' }, occurredAt: new Date(world.clock).toISOString() }));
    assert.equal(world.runs.length, 1);
  });
});

describe('sharedRetentionMs: how long job state and join documents outlive their last write', () => {
  const day = 86_400_000;
  it('is the audit retention when every join window is shorter', () => {
    assert.equal(sharedRetentionMs(90, [{ withinMs: 6 * 3_600_000 }]), 90 * day);
    assert.equal(sharedRetentionMs(7, []), 7 * day);
  });
  it('outlives the longest join window by a day, so a success that still counts is never deleted', () => {
    assert.equal(sharedRetentionMs(1, [{ withinMs: day }, { withinMs: 14 * day }]), 15 * day);
  });
});
