import assert from 'node:assert/strict';
import fc from 'fast-check';
import { batchOutcomeFields, decideAtClaim, decideBatch, MIN_BATCH_MS, observationFor, type BatchInputs, type ClaimInputs } from '../../../../functions/processor/planning/batch.js';
import { MAX_BATCHES_KEPT, MAX_RUNS_KEPT, type TargetLeaseDoc, type TargetRunLogDoc } from '../../../../functions/processor/planning/target-state.js';
import type { RunObservation } from '../../../../functions/processor/targets/run-target.js';

const T0 = Date.parse('2026-05-22T09:00:00.000Z');
const FP = 'f'.repeat(16);
const TARGET = { kind: 'dbt-cloud' as const, id: '42' };
const id = (n: number) => n.toString(16).padStart(32, '0');
const iso = (ms: number) => new Date(ms).toISOString();

function claim(overrides: Partial<ClaimInputs> = {}): ClaimInputs {
  return { eventId: id(1), target: TARGET, policy: 'coalesce', limits: undefined, fingerprint: FP, options: {}, readTimeMs: T0, windowMs: 1000, lease: undefined, runLog: undefined, ownBatch: undefined, ...overrides };
}

function leaseWith(batches: Array<{ holder: string; openedAt: number; closesAt: number }>, extra: Partial<TargetLeaseDoc> = {}): TargetLeaseDoc {
  return { schemaVersion: 2, target: TARGET, slots: { [FP]: { options: {}, batches: batches.map((b) => ({ holder: b.holder, openedAt: iso(b.openedAt), closesAt: iso(b.closesAt) })) } }, updatedAt: iso(T0), ...extra };
}

function runLog(runs: Array<{ runId: number; holder: string; at: number; startedAt?: number; endedAt?: number }>, extra: Partial<TargetRunLogDoc> = {}): TargetRunLogDoc {
  return {
    schemaVersion: 2,
    target: TARGET,
    runs: Object.fromEntries(runs.map((r) => [String(r.runId), { runId: r.runId, fingerprint: FP, holder: r.holder, triggeredAt: iso(r.at), ...(r.startedAt ? { startedAt: iso(r.startedAt) } : {}), ...(r.endedAt ? { endedAt: iso(r.endedAt), endStatus: 'success' } : {}) }])),
    batches: Object.fromEntries(runs.map((r) => [r.holder, { fingerprint: FP, decision: 'triggered' as const, runId: r.runId, detail: null, at: iso(r.at) }])),
    days: {},
    updatedAt: iso(T0),
    ...extra,
  };
}

function observed(runs: Array<[number, 'waiting' | 'running' | 'ended']>, byHolder: Array<[string, number, 'waiting' | 'running' | 'ended']> = []): RunObservation {
  return {
    runs: new Map(runs.map(([runId, phase]) => [String(runId), { runId, phase, status: phase === 'waiting' ? 'queued' : phase }])),
    byHolder: new Map(byHolder.map(([holder, runId, phase]) => [holder, { runId, phase, status: phase === 'waiting' ? 'queued' : phase, createdAt: iso(T0) }])),
  };
}

describe('processor/planning/batch: decideAtClaim', () => {
  it('queue without limits starts at once and writes nothing shared', () => {
    assert.deepEqual(decideAtClaim(claim({ policy: 'queue' })), { kind: 'start' });
  });

  it('an idle target: the first event opens a batch that closes MIN_BATCH_MS after its read (all a single load waits; the loads of the same instant join it)', () => {
    const verdict = decideAtClaim(claim());
    assert.equal(verdict.kind, 'hold');
    if (verdict.kind !== 'hold') return;
    assert.deepEqual(verdict.batch, { holder: id(1), openedAt: iso(T0), closesAt: iso(T0 + MIN_BATCH_MS) });
    assert.deepEqual(verdict.lease?.slots[FP]?.batches, [verdict.batch]);
    const small = decideAtClaim(claim({ windowMs: 100 }));
    assert.ok(small.kind === 'hold' && small.batch.closesAt === iso(T0 + 100), 'never longer than the window');
  });

  it('an event whose read comes before the newest batch closes joins it; at or after the close it opens the next, one window after the last close', () => {
    const lease = leaseWith([{ holder: id(1), openedAt: T0, closesAt: T0 + 1000 }]);
    assert.deepEqual(decideAtClaim(claim({ eventId: id(2), lease, readTimeMs: T0 + 999 })), { kind: 'join', batch: lease.slots[FP]!.batches[0] });
    const next = decideAtClaim(claim({ eventId: id(3), lease, readTimeMs: T0 + 1000 }));
    assert.equal(next.kind, 'hold');
    if (next.kind === 'hold') {
      assert.equal(next.batch.closesAt, iso(T0 + 2000));
      assert.deepEqual(next.lease!.slots[FP]!.batches.map((b) => b.holder), [id(3), id(1)]);
    }
  });

  it('an event that lost the race to open a batch joins it when its first read came before the close, however late it read again', () => {
    const lease = leaseWith([{ holder: id(1), openedAt: T0, closesAt: T0 + 1000 }]);
    const lost = decideAtClaim(claim({ eventId: id(2), lease, firstReadTimeMs: T0 + 10, readTimeMs: T0 + 2500 }));
    assert.deepEqual(lost, { kind: 'join', batch: lease.slots[FP]!.batches[0] });
    // First read at or after the close: the event may have been accepted after the holder looked.
    assert.equal(decideAtClaim(claim({ eventId: id(3), lease, firstReadTimeMs: T0 + 1000, readTimeMs: T0 + 1100 })).kind, 'hold');
  });

  it('after a quiet spell longer than a window, a batch closes MIN_BATCH_MS after it opened again', () => {
    const lease = leaseWith([{ holder: id(1), openedAt: T0, closesAt: T0 }]);
    const verdict = decideAtClaim(claim({ eventId: id(2), lease, readTimeMs: T0 + 60_000 }));
    assert.ok(verdict.kind === 'hold' && verdict.batch.closesAt === iso(T0 + 60_000 + MIN_BATCH_MS));
  });

  it('a redelivered holder stays the holder of its batch, whatever the lease shows now', () => {
    const own = { holder: id(1), openedAt: iso(T0), closesAt: iso(T0 + 500) };
    const lease = leaseWith([{ holder: id(9), openedAt: T0 + 600, closesAt: T0 + 5000 }]);
    assert.deepEqual(decideAtClaim(claim({ lease, readTimeMs: T0 + 700, ownBatch: own })), { kind: 'hold', batch: own, alert: false });
  });

  it('the lease keeps the newest batches only', () => {
    const many = Array.from({ length: MAX_BATCHES_KEPT }, (_, i) => ({ holder: id(100 + i), openedAt: T0 - (i + 1) * 1000, closesAt: T0 - (i + 1) * 1000 }));
    const verdict = decideAtClaim(claim({ lease: leaseWith(many) }));
    assert.ok(verdict.kind === 'hold' && verdict.lease!.slots[FP]!.batches.length === MAX_BATCHES_KEPT && verdict.lease!.slots[FP]!.batches[0]!.holder === id(1));
  });

  it('property: batches close at least a window apart, so the lease document takes at most one write per window however the reads fall', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 50, max: 3000 }), (gaps, windowMs) => {
        let lease: TargetLeaseDoc | undefined;
        let t = T0;
        const opens: number[] = [];
        gaps.forEach((gap, i) => {
          t += gap;
          const verdict = decideAtClaim(claim({ eventId: id(i + 1), lease, readTimeMs: t, windowMs }));
          if (verdict.kind === 'hold' && verdict.lease) {
            lease = verdict.lease;
            opens.push(Date.parse(verdict.batch.closesAt));
          } else assert.equal(verdict.kind, 'join');
        });
        for (let i = 1; i < opens.length; i++) assert.ok(opens[i]! - opens[i - 1]! >= windowMs, 'two batches closed less than a window apart');
      }),
      { seed: 2601, numRuns: 200 },
    );
  });

  it('limits already reached at the claim cap the batch for sure, and the first such event owns the day\'s alert', () => {
    const log = runLog([{ runId: 7, holder: id(50), at: T0 - 60_000 }], { days: { '2026-05-22': 2 } });
    const verdict = decideAtClaim(claim({ limits: { maxRunsPerDay: 2 }, runLog: log }));
    assert.ok(verdict.kind === 'hold' && verdict.cap?.cap === 'maxRunsPerDay' && verdict.alert);
    assert.equal(verdict.kind === 'hold' && verdict.lease?.capAlertedOn, '2026-05-22');
    const again = decideAtClaim(claim({ eventId: id(2), limits: { maxRunsPerDay: 2 }, runLog: log, lease: { ...verdict.kind === 'hold' ? verdict.lease! : leaseWith([]), slots: {} }, readTimeMs: T0 + 5000 }));
    assert.ok(again.kind === 'hold' && again.cap && !again.alert, 'alerted once per day');
  });

  it('queue with limits: a run is reserved on the lease document (serialised), until the cap; then capped, alerted once', () => {
    const limits = { maxRunsPerDay: 2 };
    let lease: TargetLeaseDoc | undefined;
    const kinds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const verdict = decideAtClaim(claim({ eventId: id(i + 1), policy: 'queue', limits, lease, readTimeMs: T0 + i }));
      kinds.push(verdict.kind === 'capped' ? `capped${verdict.alert ? '+alert' : ''}` : verdict.kind);
      if ((verdict.kind === 'reserve' || verdict.kind === 'capped') && verdict.lease) lease = verdict.lease;
    }
    assert.deepEqual(kinds, ['reserve', 'reserve', 'capped+alert', 'capped']);
    assert.deepEqual(decideAtClaim(claim({ policy: 'queue', limits, lease, readTimeMs: T0 + 86_400_000 })).kind, 'reserve', 'a new UTC day');
  });

  it('queue with a minimum interval: reserved, then capped until the interval has passed', () => {
    const limits = { minInterval: 'PT15M', minIntervalMs: 900_000 };
    const first = decideAtClaim(claim({ policy: 'queue', limits }));
    assert.equal(first.kind, 'reserve');
    const lease = first.kind === 'reserve' ? first.lease : undefined;
    const second = decideAtClaim(claim({ eventId: id(2), policy: 'queue', limits, lease, readTimeMs: T0 + 60_000 }));
    assert.ok(second.kind === 'capped' && second.cap.until === iso(T0 + 900_000));
    assert.equal(decideAtClaim(claim({ eventId: id(3), policy: 'queue', limits, lease, readTimeMs: T0 + 900_000 })).kind, 'reserve');
  });
});

describe('processor/planning/batch: decideBatch', () => {
  const batch = { holder: id(1), openedAt: iso(T0), closesAt: iso(T0 + 1000) };
  const input = (overrides: Partial<BatchInputs> = {}): BatchInputs => ({ eventId: id(1), policy: 'coalesce', limits: undefined, fingerprint: FP, batch, lease: undefined, runLog: undefined, retry: false, cap: undefined, nowMs: T0 + 1000, ...overrides });

  it('an idle target (no run known, no batch pending): nothing to ask, trigger', () => {
    assert.equal(observationFor(input()), undefined);
    assert.deepEqual(decideBatch(input(), undefined), { kind: 'trigger' });
  });

  it('coalesce: merges into the newest run the target says is still waiting; a running or ended one gets a new run', () => {
    const log = runLog([{ runId: 5, holder: id(50), at: T0 - 9000 }, { runId: 6, holder: id(51), at: T0 - 5000 }]);
    assert.deepEqual(observationFor(input({ runLog: log })), { runIds: [5, 6], holders: [] });
    assert.deepEqual(decideBatch(input({ runLog: log }), observed([[5, 'waiting'], [6, 'waiting']])), { kind: 'coalesce', runId: 6, status: 'queued' });
    assert.deepEqual(decideBatch(input({ runLog: log }), observed([[5, 'running'], [6, 'running']])), { kind: 'trigger' });
  });

  it('skip: an active (waiting or running) run absorbs the batch; none active starts one', () => {
    const log = runLog([{ runId: 6, holder: id(51), at: T0 - 5000 }]);
    assert.deepEqual(decideBatch(input({ policy: 'skip', runLog: log }), observed([[6, 'running']])), { kind: 'skip', runId: 6, status: 'running' });
    assert.deepEqual(decideBatch(input({ policy: 'skip', runLog: log }), observed([[6, 'ended']])), { kind: 'trigger' });
  });

  it('a logged run counts only when the target does not say another event started it (a run log written against other runs)', () => {
    const log = runLog([{ runId: 5, holder: id(50), at: T0 - 9000 }, { runId: 6, holder: id(51), at: T0 - 5000 }]);
    const startedBy = (seen: RunObservation, by: Record<number, string | null>): RunObservation => ({
      ...seen,
      runs: new Map([...seen.runs].map(([key, run]) => [key, key in by ? { ...run, startedBy: by[Number(key)] } : run])),
    });
    const waiting = observed([[5, 'waiting'], [6, 'waiting']]);
    // The target names the logged holders: merged as before.
    assert.deepEqual(decideBatch(input({ runLog: log }), startedBy(waiting, { 5: id(50), 6: id(51) })), { kind: 'coalesce', runId: 6, status: 'queued' });
    // Run 6 is now a run another event started, or one started by hand: the older logged run still waits.
    assert.deepEqual(decideBatch(input({ runLog: log }), startedBy(waiting, { 5: id(50), 6: id(99) })), { kind: 'coalesce', runId: 5, status: 'queued' });
    assert.deepEqual(decideBatch(input({ runLog: log }), startedBy(waiting, { 5: null, 6: null })), { kind: 'trigger' });
    assert.deepEqual(decideBatch(input({ policy: 'skip', runLog: log }), startedBy(observed([[6, 'running']]), { 6: id(99) })), { kind: 'trigger' });
  });

  it('a run the run log knows ended (a run event said so) is not asked about', () => {
    const log = runLog([{ runId: 6, holder: id(51), at: T0 - 5000, startedAt: T0 - 4000, endedAt: T0 - 100 }]);
    assert.equal(observationFor(input({ runLog: log })), undefined);
  });

  it('an older batch not settled when the holder read is looked for at the target by its holder, and merged into when its run waits', () => {
    const lease = leaseWith([{ holder: id(1), openedAt: T0, closesAt: T0 + 1000 }, { holder: id(2), openedAt: T0 - 1000, closesAt: T0 }]);
    const ask = observationFor(input({ lease }));
    assert.deepEqual(ask, { runIds: [], holders: [id(2)] });
    assert.deepEqual(decideBatch(input({ lease }), observed([], [[id(2), 77, 'waiting']])), { kind: 'coalesce', runId: 77, status: 'queued' });
    assert.deepEqual(decideBatch(input({ lease }), observed([])), { kind: 'trigger' }, 'not found: its holder has not started one (or merged); a new run is safe');
  });

  it('a retry looks for the run this holder may have started already and adopts it', () => {
    assert.deepEqual(observationFor(input({ retry: true })), { runIds: [], holders: [id(1)] });
    assert.deepEqual(decideBatch(input({ retry: true }), observed([], [[id(1), 99, 'running']])), { kind: 'adopt', runId: 99 });
  });

  it('the target could not be asked: a new run starts (never a load without a run)', () => {
    const log = runLog([{ runId: 6, holder: id(51), at: T0 - 5000 }]);
    assert.deepEqual(decideBatch(input({ runLog: log }), 'unavailable'), { kind: 'trigger' });
  });

  it('limits: a trigger becomes capped, counting runs of unsettled batches found at the target', () => {
    const limits = { maxRunsPerDay: 2 };
    const lease = leaseWith([{ holder: id(1), openedAt: T0, closesAt: T0 + 1000 }, { holder: id(2), openedAt: T0 - 1000, closesAt: T0 }]);
    const log = runLog([{ runId: 5, holder: id(50), at: T0 - 9000 }], { days: { '2026-05-22': 1 } });
    const decision = decideBatch(input({ limits, lease, runLog: log }), observed([[5, 'ended']], [[id(2), 6, 'running']]));
    assert.equal(decision.kind, 'capped');
    assert.deepEqual(decideBatch(input({ limits, lease, runLog: log }), observed([[5, 'ended']])), { kind: 'trigger' });
  });

  it('a cap known at the claim needs no look at the target', () => {
    const cap = { cap: 'maxRunsPerDay' as const, reason: 'r', until: iso(T0 + 86_400_000) };
    assert.equal(observationFor(input({ cap, runLog: runLog([{ runId: 6, holder: id(51), at: T0 }]) })), undefined);
    assert.deepEqual(decideBatch(input({ cap }), undefined), { kind: 'capped', cap });
  });
});

describe('processor/planning/batch: batchOutcomeFields', () => {
  const remove = Symbol('delete');
  const increment = (n: number) => ({ increment: n });

  it('records the batch, the run it started (counted for its day), and prunes what is beyond the kept numbers', () => {
    const old = Array.from({ length: MAX_RUNS_KEPT + 3 }, (_, i) => ({ runId: i + 1, holder: id(200 + i), at: T0 - (MAX_RUNS_KEPT + 3 - i) * 60_000 }));
    const log = runLog(old, { days: { '2026-05-18': 4, '2026-05-21': 1, '2026-05-22': 2 } });
    const fields = batchOutcomeFields(log, { target: TARGET, holder: id(1), fingerprint: FP, started: { runId: 999, atMs: T0 }, outcome: { decision: 'triggered', runId: 999, detail: null } }, T0, remove, increment) as {
      runs: Record<string, unknown>;
      batches: Record<string, unknown>;
      days: Record<string, unknown>;
    };
    assert.deepEqual(fields.runs['999'], { runId: 999, fingerprint: FP, holder: id(1), triggeredAt: iso(T0) });
    assert.deepEqual(fields.days, { '2026-05-22': { increment: 1 }, '2026-05-18': remove });
    const removed = Object.entries(fields.runs).filter(([, v]) => v === remove).map(([k]) => Number(k));
    assert.deepEqual(removed.sort((a, b) => a - b), [1, 2, 3, 4], 'the oldest beyond the newest MAX_RUNS_KEPT - 1, so the new one makes MAX_RUNS_KEPT');
    assert.deepEqual((fields.batches[id(1)] as { decision: string }).decision, 'triggered');
  });
});
