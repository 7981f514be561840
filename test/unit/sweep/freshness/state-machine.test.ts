import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Expectation } from '../../../../functions/sweep/freshness/expectation.js';
import { deadlineAfter, judge, missedSyncs, step, type Evidence, type MachineState, type Notice } from '../../../../functions/sweep/freshness/state-machine.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-03-02T00:00:00Z'); // a Monday

const every = (everyMs: number, graceMs: number): Expectation => ({ kind: 'every', everyMs, graceMs, source: 'routing', detail: 'test rule' });
const evidence = (fields: Partial<Evidence> = {}): Evidence => ({ lastSuccessAt: null, failuresSinceSuccess: 0, lastFailureAt: null, firstSeenAt: T0, pausedUntil: null, vendorPaused: null, ...fields });

describe('freshness: judging one connector', () => {
  it('every 1h, grace 30m: fresh until an hour after the last success, late for 30 minutes, then overdue, or failing when its syncs fail', () => {
    const e = every(HOUR, 30 * MIN);
    const ok = evidence({ lastSuccessAt: T0 });
    assert.equal(judge(e, ok, T0 + 59 * MIN).state, 'fresh');
    assert.equal(judge(e, ok, T0 + 59 * MIN).nextChangeAt, T0 + HOUR);
    assert.equal(judge(e, ok, T0 + 70 * MIN).state, 'late');
    assert.equal(judge(e, ok, T0 + 90 * MIN).state, 'overdue');
    assert.equal(judge(e, { ...ok, failuresSinceSuccess: 2 }, T0 + 90 * MIN).state, 'failing');
    assert.equal(judge(e, { ...ok, failuresSinceSuccess: 2 }, T0 + 70 * MIN).state, 'late', 'failures inside the window are the processor\'s alerts, not staleness');
  });

  it('a deadline "0 7 * * 1-5" Europe/Berlin: a Friday load covers Monday 07:00; Tuesday needs a load after Monday 07:00', () => {
    const e: Expectation = { kind: 'cron', expression: '0 7 * * 1-5', timezone: 'Europe/Berlin', dialect: 'cron', graceMs: 45 * MIN, source: 'routing', detail: 'test' };
    const friday = Date.parse('2026-03-06T05:30:00Z'); // 06:30 in Berlin, before Friday's deadline
    // Friday's load covers Friday 07:00; the next deadline is Monday 07:00 Berlin (06:00Z in winter).
    assert.equal(deadlineAfter(e, friday), Date.parse('2026-03-09T06:00:00Z'));
    assert.equal(judge(e, evidence({ lastSuccessAt: friday }), Date.parse('2026-03-09T05:59:00Z')).state, 'fresh');
    assert.equal(judge(e, evidence({ lastSuccessAt: friday }), Date.parse('2026-03-09T06:30:00Z')).state, 'late');
    assert.equal(judge(e, evidence({ lastSuccessAt: friday }), Date.parse('2026-03-09T06:45:00Z')).state, 'overdue');
    // Across the change to summer time (29 March 2026) 07:00 Berlin is 05:00Z.
    assert.equal(deadlineAfter(e, Date.parse('2026-03-27T05:30:00Z')), Date.parse('2026-03-30T05:00:00Z'));
    assert.equal(missedSyncs(e, friday, Date.parse('2026-03-11T10:00:00Z')), 3, 'Monday, Tuesday and Wednesday 07:00 passed without a load');
  });

  it('snoozed or paused by the vendor: paused; nothing expected: unknown with the reason', () => {
    const e = every(HOUR, HOUR);
    assert.deepEqual([judge(e, evidence({ pausedUntil: T0 + 5 * HOUR }), T0 + 3 * HOUR).state, judge(e, evidence({ pausedUntil: T0 + 5 * HOUR }), T0 + 3 * HOUR).nextChangeAt], ['paused', T0 + 5 * HOUR]);
    assert.equal(judge(e, evidence({ pausedUntil: T0 + 5 * HOUR }), T0 + 6 * HOUR).state, 'overdue', 'a snooze that ran out is over');
    assert.equal(judge(e, evidence({ vendorPaused: 'paused in Fivetran' }), T0 + 9 * HOUR).state, 'paused');
    const none: Expectation = { kind: 'none', source: 'none', detail: 'learning: 3 of 10 gaps seen' };
    assert.deepEqual([judge(none, evidence(), T0 + 99 * HOUR).state, judge(none, evidence(), T0).why], ['unknown', 'learning: 3 of 10 gaps seen']);
  });

  it('missed syncs count the intervals that passed without one', () => {
    const e = every(HOUR, 30 * MIN);
    assert.equal(missedSyncs(e, T0, T0 + 3.5 * HOUR), 3);
    assert.equal(missedSyncs(e, T0, T0 + HOUR), 0);
    assert.equal(missedSyncs(e, null, T0 + HOUR), 0);
  });
});

// ---- The machine over a fake clock ----

interface Timeline {
  expectation: Expectation;
  /** Sync ends, each a success or a failure. */
  syncs: Array<{ at: number; ok: boolean }>;
  /** Snooze commands: at `at`, pause until `until`. */
  snoozes: Array<{ at: number; until: number }>;
  ticks: number[];
  realertMs: number | null;
}

/** What the sweep would read at `t`. */
function evidenceAt(timeline: Timeline, t: number): Evidence {
  const seen = timeline.syncs.filter((s) => s.at <= t);
  const successes = seen.filter((s) => s.ok).map((s) => s.at);
  const lastSuccessAt = successes.length ? Math.max(...successes) : null;
  const failures = seen.filter((s) => !s.ok && (lastSuccessAt === null || s.at > lastSuccessAt));
  const snooze = timeline.snoozes.filter((s) => s.at <= t).at(-1);
  return { lastSuccessAt, failuresSinceSuccess: failures.length, lastFailureAt: failures.at(-1)?.at ?? null, firstSeenAt: T0, pausedUntil: snooze?.until ?? null, vendorPaused: null };
}

interface Run {
  notices: Array<Notice & { at: number }>;
  states: Array<{ at: number; state: string }>;
}

function run(timeline: Timeline, ticks: number[]): Run {
  let stored: MachineState | undefined;
  const out: Run = { notices: [], states: [] };
  for (const t of ticks) {
    const ev = evidenceAt(timeline, t);
    const result = step(stored, judge(timeline.expectation, ev, t), ev, timeline.expectation, { nowMs: t, realertMs: timeline.realertMs });
    if (!result) continue;
    stored = result.next;
    out.states.push({ at: t, state: result.next.state });
    for (const notice of result.notices) out.notices.push({ ...notice, at: t });
  }
  return out;
}

const timelines: fc.Arbitrary<Timeline> = fc
  .record({
    everyMin: fc.integer({ min: 10, max: 180 }),
    graceMin: fc.integer({ min: 5, max: 120 }),
    syncs: fc.array(fc.record({ atMin: fc.integer({ min: 0, max: 3 * 24 * 60 }), ok: fc.boolean() }), { maxLength: 40 }),
    snoozes: fc.array(fc.record({ atMin: fc.integer({ min: 0, max: 3 * 24 * 60 }), forMin: fc.integer({ min: 10, max: 24 * 60 }) }), { maxLength: 3 }),
    tickEveryMin: fc.integer({ min: 1, max: 15 }),
    realertMin: fc.option(fc.integer({ min: 60, max: 24 * 60 }), { nil: null }),
  })
  .map(({ everyMin, graceMin, syncs, snoozes, tickEveryMin, realertMin }) => {
    const ticks: number[] = [];
    for (let m = 0; m <= 4 * 24 * 60; m += tickEveryMin) ticks.push(T0 + m * MIN);
    return {
      expectation: every(everyMin * MIN, graceMin * MIN),
      syncs: syncs.map((s) => ({ at: T0 + s.atMin * MIN, ok: s.ok })).sort((a, b) => a.at - b.at),
      snoozes: snoozes.map((s) => ({ at: T0 + s.atMin * MIN, until: T0 + (s.atMin + s.forMin) * MIN })).sort((a, b) => a.at - b.at),
      ticks,
      realertMs: realertMin === null ? null : realertMin * MIN,
    };
  });

describe('freshness: the state machine under a fake clock (property-based)', () => {
  it('never two alerts for one incident; a recovery follows every alert once the connector is fresh again; nothing while paused', () => {
    fc.assert(
      fc.property(timelines, (timeline) => {
        const { notices, states } = run(timeline, timeline.ticks);
        const keys = notices.map((n) => n.key);
        assert.equal(new Set(keys).size, keys.length, 'every notice once');
        let open: number | null = null;
        for (const notice of notices) {
          if (notice.kind === 'alert') {
            assert.equal(open, null, 'an alert while an incident is open');
            open = notice.incident.openedAt;
          } else {
            assert.equal(notice.incident.openedAt, open, `${notice.kind} for an incident that is not open`);
            if (notice.kind === 'recovery' || notice.kind === 'closed') open = null;
          }
          const state = states.find((s) => s.at === notice.at)!.state;
          assert.notEqual(state, 'paused', `${notice.kind} sent while paused`);
        }
        // Every alert is followed by its recovery by the first tick at which the connector is fresh again.
        for (const alert of notices.filter((n) => n.kind === 'alert')) {
          const freshAgain = states.find((s) => s.at > alert.at && s.state === 'fresh');
          if (!freshAgain) continue;
          const end = notices.find((n) => n.incident.openedAt === alert.incident.openedAt && (n.kind === 'recovery' || n.kind === 'closed'));
          assert.ok(end && end.at <= freshAgain.at, 'no recovery by the time it was fresh again');
          assert.equal(end.kind, 'recovery');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ticks repeated any number of times give exactly the same messages as each tick once', () => {
    fc.assert(
      fc.property(timelines, fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1 }), (timeline, repeats) => {
        const doubled = timeline.ticks.flatMap((t, i) => Array<number>(1 + repeats[i % repeats.length]!).fill(t));
        assert.deepEqual(run(timeline, doubled).notices, run(timeline, timeline.ticks).notices);
      }),
      { numRuns: 200 },
    );
  });

  it('a tick that arrives after a later one changes nothing: the messages are those of the ticks in order without it', () => {
    fc.assert(
      fc.property(timelines, fc.array(fc.nat(), { maxLength: 30 }), (timeline, swaps) => {
        const shuffled = [...timeline.ticks];
        for (const s of swaps) {
          const i = s % (shuffled.length - 1);
          [shuffled[i], shuffled[i + 1]] = [shuffled[i + 1]!, shuffled[i]!];
        }
        // The ticks that take effect: each one later than every tick before it.
        let latest = Number.NEGATIVE_INFINITY;
        const effective = shuffled.filter((t) => (t >= latest ? ((latest = t), true) : false));
        assert.deepEqual(run(timeline, shuffled).notices, run(timeline, effective).notices);
        // And what an overtaken tick skipped, the next one catches up: the incidents alerted and recovered are those of the in-order run.
        const incidents = (r: Run) => r.notices.filter((n) => n.kind === 'alert' || n.kind === 'recovery').map((n) => n.key);
        const inOrder = run(timeline, timeline.ticks);
        const gapOk = effective.every((t, i) => i === 0 || t - effective[i - 1]! <= Math.min(timeline.expectation.kind === 'every' ? timeline.expectation.graceMs : HOUR, 30 * MIN));
        if (gapOk && timeline.snoozes.length === 0) assert.deepEqual(new Set(incidents(run(timeline, shuffled))), new Set(incidents(inOrder)));
      }),
      { numRuns: 200 },
    );
  });

  it('a silent connector: one alert, a reminder every realert, one recovery that says how long and how many syncs were missed', () => {
    const timeline: Timeline = {
      expectation: every(HOUR, 30 * MIN),
      syncs: [{ at: T0, ok: true }, { at: T0 + 30 * HOUR, ok: true }],
      snoozes: [],
      ticks: Array.from({ length: 31 * 12 }, (_, i) => T0 + i * 5 * MIN), // until half an hour after the recovery: the next sync is not due yet
      realertMs: 12 * HOUR,
    };
    const { notices } = run(timeline, timeline.ticks);
    assert.deepEqual(notices.map((n) => n.kind), ['alert', 'reminder', 'reminder', 'recovery']);
    const [alert, , , recovery] = notices;
    assert.equal(alert!.at, T0 + 90 * MIN);
    assert.equal(notices[1]!.at, T0 + 90 * MIN + 12 * HOUR);
    assert.ok(recovery?.kind === 'recovery');
    assert.equal(recovery.overdueForMs, 30 * HOUR - 90 * MIN);
    assert.equal(recovery.missedSyncs, 29);
  });
});
