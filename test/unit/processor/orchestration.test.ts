import assert from 'node:assert/strict';
import { FieldValue } from '@google-cloud/firestore';
import fc from 'fast-check';
import { EventOrchestration, sharedRetentionMs, type BusyNote } from '../../../functions/processor/orchestration.js';
import { decideBatch, observationFor } from '../../../functions/processor/planning/batch.js';
import { decideClaims, type ActionView } from '../../../functions/processor/planning/claims.js';
import type { JoinStateDoc } from '../../../functions/processor/planning/join-state.js';
import { compileRouting, planFor } from '../../../functions/processor/planning/routing.js';
import type { ActionOutcome, ActionRecord, SharedDocs } from '../../../functions/processor/store/event-store.js';
import type { RunObservation } from '../../../functions/processor/targets/run-target.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { airbyteSucceeded, syncEvent } from '../../support/sync-event-fixtures.js';

// The coalescing protocol (issue 26) as a simulation, with the real orchestration and
// planning code: deliveries on several "instances" interleave at every Firestore round
// trip and every call to the target, on a simulated clock, against a store that behaves
// like Firestore for what the code uses (a read at a time, commits under preconditions on
// what was read, blind merges) and a target whose runs wait, start and end. fast-check
// chooses burst sizes, arrival times and latencies. The emulator tests prove the real code
// path (test/integration/processor/burst.test.ts); these prove the protocol over far more
// orders than the emulator can run.

const T0 = Date.parse('2026-05-22T09:00:00.000Z');
const WINDOW_MS = 1000;
const MARGIN_MS = 20;

const ROUTING = compileRouting({
  routes: [
    { name: 'coalesce', match: { source: 'fivetran', connectorId: { glob: 'c*' } }, dbtJobs: [{ jobId: 1 }], slack: { notify: [] } },
    { name: 'queue', match: { source: 'fivetran', connectorId: { glob: 'q*' } }, dbtJobs: [{ jobId: 2, onBusy: 'queue' }], slack: { notify: [] } },
    { name: 'skip', match: { source: 'fivetran', connectorId: { glob: 's*' } }, dbtJobs: [{ jobId: 4, onBusy: 'skip' }], slack: { notify: [] } },
    { name: 'quiet', match: { source: 'airbyte' }, slack: { notify: [] } },
  ],
  joins: [
    {
      name: 'mart',
      upstreams: [
        { name: 'sf', match: { source: 'fivetran', connectorId: 'up-sf' } },
        { name: 'erp', match: { source: 'fivetran', connectorId: 'up-erp' } },
        { name: 'billing', match: { source: 'airbyte', connectorName: 'billing' } },
      ],
      within: 'PT6H',
      dbtJob: { jobId: 3 },
      slack: { notify: [] },
    },
  ],
});

const SETTINGS = { jobStateCollection: 'targets', joinsCollection: 'joins', windowMs: WINDOW_MS, settingOf: (r: string) => r, alertWebhook: 'env:SLACK_WEBHOOK_URL', followedRunsCollection: 'followedRuns', webhookOf: () => 'env:SLACK_WEBHOOK_URL' };

/** A simulated clock: `at(t)` resolves when the driver reaches t; the driver runs every timer in order. */
class Clock {
  now = T0;
  private timers: Array<{ at: number; seq: number; resolve: () => void }> = [];
  private seq = 0;

  at(t: number): Promise<void> {
    return new Promise((resolve) => this.timers.push({ at: Math.max(t, this.now), seq: this.seq++, resolve }));
  }

  sleep(ms: number): Promise<void> {
    return this.at(this.now + ms);
  }

  async drain(): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (!this.timers.length) return;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.now = next.at;
      next.resolve();
    }
  }
}

interface ModelRun {
  id: number;
  jobId: string;
  holder: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
}

/** Firestore, as far as the code uses it: documents with versions, reads at an instant, preconditioned writes, blind merges. */
class Store {
  docs = new Map<string, { data: Record<string, unknown>; version: number }>();
  writes = new Map<string, number[]>();

  read(keys: string[]): { docs: SharedDocs; versions: Map<string, number> } {
    const docs: SharedDocs = new Map();
    const versions = new Map<string, number>();
    for (const key of keys) {
      const stored = this.docs.get(key);
      docs.set(key, stored ? structuredClone(stored.data) : undefined);
      versions.set(key, stored?.version ?? 0);
    }
    return { docs, versions };
  }

  /** All or nothing: false when a precondition no longer holds. */
  commit(now: number, writes: Map<string, Record<string, unknown> | undefined>, expected: Map<string, number>, merges: Map<string, Record<string, unknown>>): boolean {
    for (const key of writes.keys()) if ((this.docs.get(key)?.version ?? 0) !== expected.get(key)) return false;
    for (const [key, data] of writes) if (data) this.put(key, structuredClone(data), now);
    for (const [key, fields] of merges) this.put(key, merge(this.docs.get(key)?.data ?? {}, fields), now);
    return true;
  }

  private put(key: string, data: Record<string, unknown>, now: number): void {
    this.docs.set(key, { data, version: (this.docs.get(key)?.version ?? 0) + 1 });
    this.writes.set(key, [...(this.writes.get(key) ?? []), now]);
  }
}

/**
 * Firestore's set-with-merge: non-empty maps merged key by key (an empty map is a value
 * like any other, and replaces what is stored); FieldValue.delete() and increment applied.
 */
function merge(base: Record<string, unknown>, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof FieldValue) {
      if (value.isEqual(FieldValue.delete())) delete out[key];
      else out[key] = ((out[key] as number | undefined) ?? 0) + (value as unknown as { operand: number }).operand;
    } else if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) out[key] = merge((out[key] as Record<string, unknown>) ?? {}, value as Record<string, unknown>);
    else out[key] = value;
  }
  return out;
}

interface Options {
  /** Latency of each round trip and call, by the delivery's instance and step. */
  latency: () => number;
  /** When set, a run starts this long after it was created and ends after as long again. */
  startsAfterMs?: number;
  /** Fault injection: where (if anywhere) this delivery attempt's instance dies, with nothing after it done or recorded. */
  crash?: () => Crash | undefined;
}

/** After its claim commit (holding its batch or its run's claim), or after the target started its run, before anything was recorded. */
type Crash = 'after-claim' | 'after-trigger';

/** How long a claim is held before another delivery may take it over (the processor's claim lease). */
const LEASE_MS = 3000;

class World {
  readonly clock = new Clock();
  readonly store = new Store();
  readonly runs: ModelRun[] = [];
  readonly audits = new Map<string, { actions: Record<string, ActionRecord>; joins?: Record<string, unknown> }>();
  readonly accepted = new Map<string, number>();
  /** Snapshots of the waiting runs per job, taken whenever a run is created. */
  maxWaiting = new Map<string, number>();
  constructor(private readonly options: Options) {}

  private waitingAt(jobId: string, t: number): number {
    return this.runs.filter((r) => r.jobId === jobId && r.createdAt <= t && (r.startedAt === undefined || r.startedAt > t)).length;
  }

  private trigger(jobId: string, holder: string): ModelRun {
    const run: ModelRun = { id: 1000 + this.runs.length, jobId, holder, createdAt: this.clock.now };
    if (this.options.startsAfterMs !== undefined) {
      run.startedAt = this.clock.now + this.options.startsAfterMs;
      run.endedAt = run.startedAt + this.options.startsAfterMs;
    }
    this.runs.push(run);
    this.maxWaiting.set(jobId, Math.max(this.maxWaiting.get(jobId) ?? 0, this.waitingAt(jobId, this.clock.now)));
    return run;
  }

  private observe(jobId: string, ask: { runIds: Array<string | number>; holders: string[] }): RunObservation {
    const t = this.clock.now;
    const view = (run: ModelRun) => ({ runId: run.id, phase: run.endedAt !== undefined && run.endedAt <= t ? ('ended' as const) : run.startedAt !== undefined && run.startedAt <= t ? ('running' as const) : ('waiting' as const), status: 'x', createdAt: new Date(run.createdAt).toISOString() });
    const runs = new Map(ask.runIds.map((id) => this.runs.find((r) => r.id === Number(id))).filter((r): r is ModelRun => !!r).map((r) => [String(r.id), view(r)]));
    const byHolder = new Map(ask.holders.map((h) => [h, this.runs.find((r) => r.jobId === jobId && r.holder === h)] as const).filter((e): e is [string, ModelRun] => !!e[1]).map(([h, r]) => [h, view(r)]));
    return { runs, byHolder };
  }

  /**
   * One delivery, start to finish, through the same steps as process-sync-event.ts. True
   * when it was acknowledged; false when it crashed or left an action to a later delivery
   * (Pub/Sub delivers it again).
   */
  async deliver(event: SyncEvent): Promise<boolean> {
    const { clock, store } = this;
    if (!this.accepted.has(event.id)) this.accepted.set(event.id, clock.now);
    const plan = planFor(event, ROUTING);
    const deliveryId = `${event.id}-${clock.now}-${Math.random()}`;
    // One per delivery, as in process-sync-event.ts: its attempts after a lost commit race share it.
    const orchestration = new EventOrchestration(event, plan, ROUTING, SETTINGS, () => clock.now);
    for (let attempt = 1; ; attempt++) {
      assert.ok(attempt < 50, 'the claim kept conflicting');
      await clock.sleep(this.options.latency());
      const request = orchestration.request();
      const auditKey = `audit/${event.id}`;
      const keys = [auditKey, ...(request?.refs ?? []).map((r) => `${r.collection}/${r.docId}`)];
      const { docs, versions } = store.read(keys);
      const readTime = clock.now;
      const audit = docs.get(auditKey) as { actions: Record<string, ActionRecord>; joins?: Record<string, unknown> } | undefined;
      const shared: SharedDocs = new Map([...docs].filter(([key]) => key !== auditKey));
      const attemptResult = request?.attempt(audit as Record<string, unknown> | undefined, shared, readTime);
      const planned = [...plan.runs.map((r) => ({ actionId: r.actionId, kind: r.actionKind })), ...(attemptResult?.planned ?? [])];
      const leaseOf = (a: ActionRecord) => (a as ActionRecord & { leaseUntilMs?: number }).leaseUntilMs ?? null;
      const views: Record<string, ActionView | undefined> = Object.fromEntries(Object.entries(audit?.actions ?? {}).map(([id, a]) => [id, { status: a.status, claimedBy: a.claimedBy, leaseUntilMs: a.claimedBy ? leaseOf(a) : null, notBeforeMs: null, attempts: a.attempts, uncertain: false }]));
      const decisions = decideClaims(planned, views, deliveryId, readTime);
      const decided = attemptResult?.decide(decisions);
      await clock.sleep(this.options.latency());
      const actions: Record<string, ActionRecord> = { ...audit?.actions };
      for (const action of planned) {
        const done = decided?.done.get(action.actionId);
        if (decisions.get(action.actionId)?.decision !== 'claim') continue;
        actions[action.actionId] = done
          ? ({ ...actions[action.actionId], ...done, status: 'succeeded', claimedBy: null } as ActionRecord)
          : ({ ...actions[action.actionId], ...decided?.claimFields.get(action.actionId), status: 'pending', claimedBy: deliveryId, leaseUntilMs: readTime + LEASE_MS, attempts: (actions[action.actionId]?.attempts ?? 0) + 1 } as ActionRecord);
      }
      const writes = new Map<string, Record<string, unknown> | undefined>([...(decided?.writes ?? []), [auditKey, { ...audit, actions, ...(decided?.auditFields ?? {}) }]]);
      if (!store.commit(clock.now, writes, versions, decided?.merges ?? new Map())) continue;
      const crash = this.options.crash?.();
      if (crash === 'after-claim') return false;

      const outcomes = new Map<string, ActionOutcome>();
      await Promise.all(
        orchestration.runs
          .filter((run) => actions[run.actionId]?.status === 'pending' && actions[run.actionId]?.claimedBy === deliveryId)
          .map(async (run) => {
            const verdict = orchestration.verdict(run.actionId);
            const decision = decisions.get(run.actionId);
            // An earlier attempt may have started the run without recording it: found by its holder (the cause marker).
            const retry = decision?.decision === 'claim' && decision.checkFirst;
            if (verdict?.kind === 'hold') {
              await clock.at(Date.parse(verdict.batch.closesAt) + MARGIN_MS);
              await clock.sleep(this.options.latency());
              const { lease, runLog } = orchestration.targetDocs(run.target);
              const input = { eventId: event.id, policy: run.policy, limits: run.limits, fingerprint: run.fingerprint, batch: verdict.batch, lease, runLog, retry, cap: verdict.cap, nowMs: clock.now };
              const ask = observationFor(input);
              const decision = decideBatch(input, ask ? this.observe(run.target.id, ask) : undefined);
              if (decision.kind === 'adopt') {
                outcomes.set(run.actionId, { status: 'succeeded', runId: decision.runId, requests: [] });
                return;
              }
              if (decision.kind === 'coalesce' || decision.kind === 'skip') {
                outcomes.set(run.actionId, { status: 'succeeded', busy: { outcome: decision.kind === 'coalesce' ? 'coalesced' : 'skipped', runId: decision.runId, runStatus: decision.status }, requests: [] });
                return;
              }
              if (decision.kind === 'capped') {
                outcomes.set(run.actionId, { status: 'succeeded', busy: { outcome: 'capped', cap: decision.cap.cap, reason: decision.cap.reason, until: decision.cap.until }, requests: [] });
                return;
              }
            }
            await clock.sleep(this.options.latency());
            const own = retry ? this.runs.find((r) => r.jobId === run.target.id && r.holder === event.id) : undefined;
            outcomes.set(run.actionId, { status: 'succeeded', runId: (own ?? this.trigger(run.target.id, event.id)).id, requests: [] });
          }),
      );
      if (crash === 'after-trigger') return false;
      await clock.sleep(this.options.latency());
      const settled: Record<string, ActionRecord> = { ...(store.docs.get(auditKey)!.data.actions as Record<string, ActionRecord>) };
      for (const [id, outcome] of outcomes) settled[id] = { ...settled[id], ...outcome, status: outcome.status, claimedBy: null } as ActionRecord;
      store.commit(clock.now, new Map([[auditKey, { ...store.docs.get(auditKey)!.data, actions: settled }]]), new Map([[auditKey, store.docs.get(auditKey)!.version]]), orchestration.settleMerges(outcomes).merges);
      this.audits.set(event.id, store.docs.get(auditKey)!.data as { actions: Record<string, ActionRecord> });
      return Object.values(settled).every((a) => a.status === 'succeeded');
    }
  }

  /** The run that covers an event's action: the run it started, merged into, or its batch's holder's. */
  coveringRun(eventId: string, actionId: string, depth = 0): ModelRun | undefined {
    assert.ok(depth < 20, 'a cycle of holders');
    const action = this.audits.get(eventId)?.actions[actionId];
    assert.ok(action, `${eventId} has no ${actionId}`);
    assert.equal(action.status, 'succeeded', `${eventId} ${actionId} is ${action.status}`);
    if (action.runId != null) return this.runs.find((r) => r.id === action.runId);
    const busy = action.busy as BusyNote | undefined;
    if (busy?.outcome === 'joined') return this.coveringRun(busy.holder, actionId, depth + 1);
    if (busy?.outcome === 'coalesced' || busy?.outcome === 'skipped') return this.runs.find((r) => r.id === busy.runId);
    return undefined;
  }

  writesPerSecond(key: string): number {
    const times = this.store.writes.get(key) ?? [];
    return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
  }
}

/**
 * A burst: events arrive at the given offsets, each delivered until it is acknowledged (a
 * delivery not acknowledged comes again after 1 s × its attempt, as the bench's Pub/Sub
 * does); returns when every event was acknowledged, with the count of redeliveries.
 */
async function burst(world: World, events: Array<{ event: SyncEvent; offset: number }>): Promise<number> {
  let redelivered = 0;
  const deliveries = events.map(async ({ event, offset }) => {
    await world.clock.at(T0 + offset);
    for (let attempt = 1; !(await world.deliver(event)); attempt++) {
      assert.ok(attempt < 20, `${event.id} was never acknowledged`);
      redelivered++;
      await world.clock.sleep(1000 * attempt);
    }
  });
  await world.clock.drain();
  await Promise.all(deliveries);
  return redelivered;
}

/** The same events one at a time, each finished before the next arrives. */
async function oneByOne(world: World, events: SyncEvent[]): Promise<void> {
  for (const event of events) {
    const delivery = world.deliver(event);
    await world.clock.drain();
    await delivery;
  }
}

const burstArb = fc.record({
  size: fc.integer({ min: 1, max: 60 }),
  spreadMs: fc.integer({ min: 0, max: 5000 }),
  seed: fc.integer(),
  maxLatency: fc.integer({ min: 1, max: Math.floor(WINDOW_MS / 4) }),
});

function arrivals(size: number, spreadMs: number, seed: number, make: (i: number) => SyncEvent): Array<{ event: SyncEvent; offset: number }> {
  const random = fc.sample(fc.integer({ min: 0, max: Math.max(0, spreadMs) }), { seed, numRuns: size });
  return random.map((offset, i) => ({ event: make(i), offset }));
}

function latencies(seed: number, max: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return 1 + (state % max);
  };
}

describe('the coalescing protocol, simulated with the real orchestration (issue 26)', () => {
  it('coalesce: a burst of any size, arrival spread and latencies starts the same runs as the same events one by one (one, the job kept busy); every load is covered by it; no event waits for another', async () => {
    await fc.assert(
      fc.asyncProperty(burstArb, async ({ size, spreadMs, seed, maxLatency }) => {
        const make = (i: number) => syncEvent({ connector: { id: `c${i}`, name: `c${i}` } });
        const events = arrivals(size, spreadMs, seed, make);
        const together = new World({ latency: latencies(seed, maxLatency) });
        assert.equal(await burst(together, events), 0, 'no event was redelivered');
        const apart = new World({ latency: latencies(seed, maxLatency) });
        await oneByOne(apart, events.map((e) => e.event));
        assert.equal(together.runs.length, apart.runs.length);
        assert.equal(together.runs.length, 1);
        for (const { event } of events) assert.equal(together.coveringRun(event.id, 'dbt-job-1')?.id, together.runs[0]!.id);
        // The lease document takes one write per batch, batches closing a window apart.
        assert.ok(together.writesPerSecond('targets/dbt-cloud-1') <= 2, `${together.writesPerSecond('targets/dbt-cloud-1')} lease writes in one second`);
      }),
      { seed: 2626, numRuns: 60 },
    );
  });

  it('coalesce with runs that start soon after they are created: every load is covered by a run that began executing after the load arrived, and never two runs wait at once', async () => {
    await fc.assert(
      fc.asyncProperty(burstArb, fc.integer({ min: 1, max: 4000 }), async ({ size, spreadMs, seed, maxLatency }, startsAfterMs) => {
        const events = arrivals(size, spreadMs, seed, (i) => syncEvent({ connector: { id: `c${i}`, name: `c${i}` } }));
        const world = new World({ latency: latencies(seed, maxLatency), startsAfterMs });
        assert.equal(await burst(world, events), 0, 'no event was redelivered');
        for (const { event } of events) {
          const run = world.coveringRun(event.id, 'dbt-job-1');
          assert.ok(run, `${event.id} is covered by no run`);
          assert.ok(run.startedAt! > world.accepted.get(event.id)!, `run ${run.id} began at ${run.startedAt! - T0}, before load ${event.id} arrived at ${world.accepted.get(event.id)! - T0}`);
        }
        assert.ok((world.maxWaiting.get('1') ?? 0) <= 1, `${world.maxWaiting.get('1')} runs waiting at once`);
      }),
      { seed: 2627, numRuns: 60 },
    );
  });

  it('skip: a burst while a run is active starts no second run; once none is active, one run covers the next loads', async () => {
    await fc.assert(
      fc.asyncProperty(burstArb, async ({ size, spreadMs, seed, maxLatency }) => {
        const events = arrivals(size, spreadMs, seed, (i) => syncEvent({ connector: { id: `s${i}`, name: `s${i}` } }));
        const together = new World({ latency: latencies(seed, maxLatency) });
        assert.equal(await burst(together, events), 0, 'no event was redelivered');
        const apart = new World({ latency: latencies(seed, maxLatency) });
        await oneByOne(apart, events.map((e) => e.event));
        assert.equal(together.runs.length, 1);
        assert.equal(apart.runs.length, 1);
        for (const { event } of events) assert.ok(together.coveringRun(event.id, 'dbt-job-4'));
      }),
      { seed: 2628, numRuns: 40 },
    );
  });

  it('queue: one run per load, burst or not, and nothing shared written', async () => {
    await fc.assert(
      fc.asyncProperty(burstArb, async ({ size, spreadMs, seed, maxLatency }) => {
        const events = arrivals(size, spreadMs, seed, (i) => syncEvent({ connector: { id: `q${i}`, name: `q${i}` } }));
        const world = new World({ latency: latencies(seed, maxLatency) });
        assert.equal(await burst(world, events), 0, 'no event was redelivered');
        assert.equal(world.runs.length, size);
        assert.deepEqual(new Set(events.map(({ event }) => world.coveringRun(event.id, 'dbt-job-2')?.holder)), new Set(events.map(({ event }) => event.id)));
        assert.equal(world.store.docs.has('targets/dbt-cloud-2'), false);
      }),
      { seed: 2629, numRuns: 30 },
    );
  });

  // Faults: instances die after their claim commit (a batch's holder with its batch open, or
  // a claimed run not yet started) or after the target started the run but before it was
  // recorded, and are delivered again (after 1 s × attempt; a claim left behind is taken
  // over once its lease ran out); round trips up to twice the window, as on a loaded machine.
  const faultArb = fc.record({
    size: fc.integer({ min: 1, max: 40 }),
    spreadMs: fc.integer({ min: 0, max: 4000 }),
    seed: fc.integer(),
    maxLatency: fc.integer({ min: 1, max: 2 * WINDOW_MS }),
    crashPercent: fc.integer({ min: 0, max: 40 }),
    startsAfterMs: fc.integer({ min: 1, max: 4000 }),
  });
  const crashes = (seed: number, percent: number): (() => Crash | undefined) => {
    const draw = latencies(seed ^ 0x5eed, 100);
    return () => {
      const n = draw() - 1;
      return n >= percent ? undefined : n % 2 ? 'after-claim' : 'after-trigger';
    };
  };

  for (const policy of ['coalesce', 'skip', 'queue'] as const) {
    it(`${policy}, with instances dying mid-delivery and slow round trips: every load ends covered by a run, no run is started twice for one holder${policy === 'queue' ? ', exactly one run per load' : policy === 'coalesce' ? ', and the run began after the load arrived' : ''}`, async () => {
      const prefix = { coalesce: 'c', skip: 's', queue: 'q' }[policy];
      const job = { coalesce: '1', skip: '4', queue: '2' }[policy];
      await fc.assert(
        fc.asyncProperty(faultArb, async ({ size, spreadMs, seed, maxLatency, crashPercent, startsAfterMs }) => {
          const events = arrivals(size, spreadMs, seed, (i) => syncEvent({ connector: { id: `${prefix}${i}`, name: `${prefix}${i}` } }));
          const world = new World({ latency: latencies(seed, maxLatency), startsAfterMs, crash: crashes(seed, crashPercent) });
          await burst(world, events);
          const holders = world.runs.map((r) => r.holder);
          assert.equal(new Set(holders).size, holders.length, 'a holder started a second run (a doubled effect)');
          for (const { event } of events) {
            const run = world.coveringRun(event.id, `dbt-job-${job}`);
            assert.ok(run, `${event.id} is covered by no run`);
            if (policy === 'coalesce') assert.ok(run.startedAt! > world.accepted.get(event.id)!, `run ${run.id} began before load ${event.id} arrived`);
            if (policy === 'queue') assert.equal(run.holder, event.id);
          }
          if (policy === 'queue') assert.equal(world.runs.length, size);
        }),
        { seed: 2631, numRuns: 40 },
      );
    });
  }

  it('a join whose upstreams arrive together in any order fires exactly once, and its run covers the completing load', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 3, maxLength: 3 }), fc.integer(), fc.integer({ min: 1, max: 200 }), async (offsets, seed, maxLatency) => {
        const at = new Date(T0 - 60_000).toISOString();
        const upstreams = [syncEvent({ connector: { id: 'up-sf', name: 'sf' }, occurredAt: at }), syncEvent({ connector: { id: 'up-erp', name: 'erp' }, occurredAt: at }), airbyteSucceeded({ connector: { name: 'billing' }, occurredAt: at })];
        const world = new World({ latency: latencies(seed, maxLatency) });
        assert.equal(await burst(world, upstreams.map((event, i) => ({ event, offset: offsets[i]! }))), 0, 'no event was redelivered');
        const join = world.store.docs.get('joins/mart')!.data as unknown as JoinStateDoc;
        assert.equal(join.round, 1);
        assert.equal(world.runs.filter((r) => r.jobId === '3').length, 1);
        const completing = join.firings[0]!.eventId;
        assert.equal(world.coveringRun(completing, 'dbt-job-3')?.jobId, '3');
        assert.equal(join.runs?.['1']?.outcome, 'triggered', 'the firing records its run');
        for (const name of ['sf', 'erp', 'billing']) assert.equal(join.upstreams[name]!.success, null);
      }),
      { seed: 2630, numRuns: 60 },
    );
  });
});

describe('sharedRetentionMs: how long target state and join documents outlive their last write', () => {
  const day = 86_400_000;
  it('is the audit retention when every join window is shorter', () => {
    assert.equal(sharedRetentionMs(90, [{ withinMs: 6 * 3_600_000 }]), 90 * day);
    assert.equal(sharedRetentionMs(7, []), 7 * day);
  });
  it('outlives the longest join window by a day, so a success that still counts is never deleted', () => {
    assert.equal(sharedRetentionMs(1, [{ withinMs: day }, { withinMs: 14 * day }]), 15 * day);
  });
});
