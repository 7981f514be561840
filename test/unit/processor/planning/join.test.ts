import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Join } from '../../../../functions/generated/routing-config.schema.js';
import { applyToJoin, compileJoin, joinRun, joinsFor, missingUpstreams, type JoinOutcome } from '../../../../functions/processor/planning/join.js';
import type { JoinStateDoc } from '../../../../functions/processor/planning/join-state.js';
import type { SyncEvent } from '../../../../functions/shared/sync-event.js';
import { failedSync, syncEvent } from '../../../support/sync-event-fixtures.js';

const FINANCE: Join = {
  name: 'finance mart',
  within: 'PT6H',
  upstreams: [
    { name: 'salesforce', match: { source: 'fivetran', connectorId: 'sf_prod' } },
    { name: 'billing', match: { source: 'airbyte', connectorName: 'billing' } },
    { name: 'ledger', match: { source: 'dbt-cloud', connectorId: '555' } },
  ],
  dbtJob: { jobId: 70403103936004 },
};
const join = compileJoin(FINANCE);
const T0 = Date.parse('2026-05-22T09:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const upstreamEvent: Record<string, (minutes: number, failed?: boolean) => SyncEvent> = {
  salesforce: (m, failed) =>
    (failed ? failedSync : syncEvent)({ source: 'fivetran', connector: { id: 'sf_prod', name: 'salesforce' }, occurredAt: at(m).toISOString() }),
  billing: (m, failed) =>
    failed
      ? failedSync({ source: 'airbyte', connector: { id: 'c0ffee', name: 'billing' }, occurredAt: at(m).toISOString(), error: { message: 'connection refused' } })
      : syncEvent({ source: 'airbyte', connector: { id: 'c0ffee', name: 'billing' }, occurredAt: at(m).toISOString() }),
  ledger: (m, failed) =>
    syncEvent({
      source: 'dbt-cloud',
      type: failed ? 'transformation.failed' : 'transformation.succeeded',
      vendorEvent: 'job.run.completed',
      connector: { id: '555', name: 'ledger build', type: null },
      occurredAt: at(m).toISOString(),
      sync: { status: failed ? 'failed' : 'succeeded' },
    }),
};

/** Applies events one after another, each processed at the given minute. */
function run(steps: Array<[SyncEvent, number]>, start?: JoinStateDoc): { state: JoinStateDoc | undefined; outcomes: JoinOutcome[] } {
  let state = start;
  const outcomes: JoinOutcome[] = [];
  for (const [event, minute] of steps) {
    const t = applyToJoin(join, state, event, at(minute));
    if (t.changed) state = t.state;
    else assert.equal(t.state, state ?? t.state, 'an unchanged transition returns the stored document');
    outcomes.push(t.outcome);
  }
  return { state, outcomes };
}
const kinds = (outcomes: JoinOutcome[]) => outcomes.map((o) => o.kind);

describe('processor/planning/join', () => {
  it('in order: waits, then the event completing the set fires once', () => {
    const { state, outcomes } = run([
      [upstreamEvent.salesforce!(0), 1],
      [upstreamEvent.billing!(10), 11],
      [upstreamEvent.ledger!(20), 21],
    ]);
    assert.deepEqual(kinds(outcomes), ['waiting', 'waiting', 'fired']);
    assert.deepEqual((outcomes[0] as { missing: string[] }).missing, ['billing', 'ledger']);
    const fired = outcomes[2];
    assert.ok(fired?.kind === 'fired');
    assert.equal(fired.firing.round, 1);
    assert.deepEqual(Object.keys(fired.firing.upstreams), ['salesforce', 'billing', 'ledger']);
    assert.equal(fired.firing.upstreams.billing?.occurredAt, at(10).toISOString());
    assert.equal(state?.round, 1);
    assert.deepEqual(Object.values(state!.upstreams), [{ success: null, failure: null }, { success: null, failure: null }, { success: null, failure: null }], 'firing empties every upstream');
  });

  it('out of order: the vendor times decide, not arrival; an older success does not replace a newer one', () => {
    const newer = upstreamEvent.salesforce!(30);
    const older = upstreamEvent.salesforce!(5);
    const { state, outcomes } = run([
      [newer, 31],
      [older, 32],
      [upstreamEvent.billing!(20), 33],
    ]);
    assert.deepEqual(kinds(outcomes), ['waiting', 'superseded', 'waiting']);
    assert.equal(state?.upstreams.salesforce?.success?.eventId, newer.id);
  });

  it('duplicates count once, in the current round and after it fired', () => {
    const sf = upstreamEvent.salesforce!(0);
    const bill = upstreamEvent.billing!(1);
    const ledger = upstreamEvent.ledger!(2);
    const { state, outcomes } = run([
      [sf, 3],
      [sf, 4],
      [bill, 5],
      [ledger, 6],
      [ledger, 7],
      [sf, 8],
    ]);
    assert.deepEqual(kinds(outcomes), ['waiting', 'duplicate', 'waiting', 'fired', 'duplicate', 'duplicate']);
    assert.equal(state?.round, 1);
  });

  it('a success older than the window does not count, and one that ages out is missing again', () => {
    const { state, outcomes } = run([
      [upstreamEvent.salesforce!(0), 7 * 60],
      [upstreamEvent.salesforce!(60), 61],
      [upstreamEvent.billing!(200), 201],
      [upstreamEvent.ledger!(500), 501],
    ]);
    assert.deepEqual(kinds(outcomes), ['stale', 'waiting', 'waiting', 'waiting']);
    assert.deepEqual((outcomes[3] as { missing: string[] }).missing, ['salesforce'], 'salesforce at 10:00 is older than 6 h at 17:21');
    assert.deepEqual(missingUpstreams(join, state, at(501)), [{ name: 'salesforce', why: 'stale' }]);
    const refreshed = applyToJoin(join, state, upstreamEvent.salesforce!(502), at(503));
    assert.equal(refreshed.outcome.kind, 'fired');
  });

  it('a failure is recorded, alerted once per streak, replaces that upstream, keeps the others', () => {
    const failure = upstreamEvent.billing!(40, true);
    const { state, outcomes } = run([
      [upstreamEvent.salesforce!(0), 1],
      [upstreamEvent.billing!(10), 11],
      [failure, 41],
      [failure, 42],
      [upstreamEvent.billing!(50, true), 51],
      [upstreamEvent.ledger!(60), 61],
    ]);
    assert.deepEqual(kinds(outcomes), ['waiting', 'waiting', 'failed', 'duplicate', 'failed', 'waiting']);
    assert.equal((outcomes[2] as { alert: boolean }).alert, true);
    assert.equal((outcomes[4] as { alert: boolean }).alert, false, 'the second failure of the streak is not alerted again');
    assert.deepEqual((outcomes[5] as { missing: string[] }).missing, ['billing']);
    assert.equal(state?.upstreams.salesforce?.success?.occurredAt, at(0).toISOString(), 'the other upstreams are kept');
    assert.deepEqual(state?.upstreams.billing?.failure && { ...state.upstreams.billing.failure, eventId: '' }, {
      eventId: '',
      source: 'airbyte',
      connector: 'billing',
      occurredAt: at(50).toISOString(),
      message: 'connection refused',
      since: at(40).toISOString(),
      count: 2,
    });
    assert.deepEqual(missingUpstreams(join, state, at(62)), [{ name: 'billing', why: 'failed' }]);

    const recovered = run([[upstreamEvent.billing!(70), 71], [upstreamEvent.billing!(80, true), 81]], state);
    assert.deepEqual(kinds(recovered.outcomes), ['fired', 'failed']);
    assert.equal((recovered.outcomes[1] as { alert: boolean }).alert, true, 'a new streak after a success alerts again');
  });

  it('a failure older than the success held is old news', () => {
    const { outcomes } = run([
      [upstreamEvent.billing!(30), 31],
      [upstreamEvent.billing!(20, true), 32],
    ]);
    assert.deepEqual(kinds(outcomes), ['waiting', 'superseded']);
  });

  it('second round: fires again only after a full new set, and ignores loads from before the last firing', () => {
    const first = run([
      [upstreamEvent.salesforce!(0), 1],
      [upstreamEvent.billing!(1), 2],
      [upstreamEvent.ledger!(2), 3],
    ]);
    const late = upstreamEvent.salesforce!(2.5); // finished before the firing at minute 3: that run read it
    const second = run(
      [
        [late, 4],
        [upstreamEvent.salesforce!(10), 11],
        [upstreamEvent.billing!(12), 13],
        [upstreamEvent.salesforce!(14), 15],
        [upstreamEvent.ledger!(16), 17],
      ],
      first.state,
    );
    assert.deepEqual(kinds(second.outcomes), ['superseded', 'waiting', 'waiting', 'waiting', 'fired']);
    const fired = second.outcomes[4];
    assert.ok(fired?.kind === 'fired');
    assert.equal(fired.firing.round, 2);
    assert.equal(fired.firing.upstreams.salesforce?.occurredAt, at(14).toISOString(), 'the newest success of each upstream is the one listed');
    assert.deepEqual(second.state?.firings.map((f) => f.round), [2, 1]);
  });

  it('records the run the firing started', () => {
    const { state } = run([
      [upstreamEvent.salesforce!(0), 1],
      [upstreamEvent.billing!(1), 2],
      [upstreamEvent.ledger!(2), 3],
    ]);
    assert.deepEqual(state!.runs, {}, 'a firing starts with no run recorded: its run is merged in when its action has an outcome');
  });

  it('ignores events that are not an upstream, and upstream events that are neither success nor failure', () => {
    const other = syncEvent({ connector: { id: 'someone_else' } });
    assert.deepEqual(applyToJoin(join, undefined, other, at(0)).outcome, { kind: 'ignored', reason: 'not-an-upstream' });
    const started = syncEvent({ source: 'fivetran', type: 'sync.started', connector: { id: 'sf_prod' }, sync: { status: 'running' } });
    assert.deepEqual(applyToJoin(join, undefined, started, at(0)).outcome, { kind: 'ignored', reason: 'not-a-result' });
    assert.equal(applyToJoin(join, undefined, started, at(0)).changed, false);
    assert.deepEqual(joinsFor(started, [join]), []);
    assert.deepEqual(joinsFor(upstreamEvent.ledger!(0), [join]), [join]);
  });

  it('plans the firing job under the action id a route would give it, so an event starts it once', () => {
    const run = joinRun(join);
    assert.deepEqual({ actionId: run.actionId, target: run.target, route: run.route, action: run.action }, { actionId: 'dbt-job-70403103936004', target: { kind: 'dbt-cloud', id: '70403103936004' }, route: 'join finance mart', action: FINANCE.dbtJob });
  });

  it('follows the routing file when upstreams are added or removed', () => {
    const { state } = run([[upstreamEvent.salesforce!(0), 1]]);
    const narrower = compileJoin({ ...FINANCE, upstreams: [FINANCE.upstreams[0], { name: 'crm', match: { source: 'fivetran', connectorId: 'crm' } }] });
    const t = applyToJoin(narrower, state, syncEvent({ connector: { id: 'crm' }, occurredAt: at(2).toISOString() }), at(3));
    assert.equal(t.outcome.kind, 'fired');
    assert.deepEqual(Object.keys(t.state.upstreams), ['salesforce', 'crm']);
  });

  describe('property: for any interleaving with duplicates, one firing per complete fresh set', () => {
    const names = join.upstreams.map((u) => u.name);
    // Successes in the order they occurred (one a minute); duplicates are redeliveries of an
    // earlier success, inserted anywhere after it.
    const scenario = fc
      .array(fc.integer({ min: 0, max: names.length - 1 }), { minLength: 1, maxLength: 40 })
      .chain((order) =>
        fc.tuple(
          fc.constant(order),
          fc.array(fc.tuple(fc.nat({ max: order.length - 1 }), fc.nat({ max: order.length - 1 })), { maxLength: 30 }),
        ),
      );

    it('matches a reference count, and every firing holds one fresh success per upstream', () => {
      fc.assert(
        fc.property(scenario, ([order, dups]) => {
          const originals = order.map((u, i) => upstreamEvent[names[u]!]!(i));
          const deliveries: Array<[SyncEvent, number]> = originals.map((e, i) => [e, i]);
          // A duplicate of event i delivered at position >= i (processed at that minute).
          for (const [i, extra] of dups) {
            const position = Math.min(deliveries.length, i + 1 + (extra % Math.max(1, deliveries.length - i)));
            deliveries.splice(position, 0, [originals[i]!, deliveries[position - 1]![1]]);
          }
          const { state, outcomes } = run(deliveries);

          let expected = 0;
          let seen = new Set<number>();
          for (const u of order) {
            seen.add(u);
            if (seen.size === names.length) {
              expected++;
              seen = new Set();
            }
          }
          const firings = outcomes.filter((o): o is Extract<JoinOutcome, { kind: 'fired' }> => o.kind === 'fired');
          assert.equal(firings.length, expected);
          assert.equal(state?.round ?? 0, expected);
          const counted = new Set<string>();
          let previous = Number.NEGATIVE_INFINITY;
          for (const { firing } of firings) {
            assert.deepEqual(Object.keys(firing.upstreams).sort(), [...names].sort());
            for (const success of Object.values(firing.upstreams)) {
              assert.ok(!counted.has(success.eventId), 'no success counts in two firings');
              counted.add(success.eventId);
              assert.ok(Date.parse(success.occurredAt) >= previous, 'no success from before the previous firing');
            }
            previous = Date.parse(firing.firedAt);
          }
        }),
        { seed: 1212, numRuns: 300 },
      );
    });

    it('any arrival order, with duplicates: firings never reuse a success or include a stale one', () => {
      const shuffled = fc
        .array(fc.tuple(fc.integer({ min: 0, max: names.length - 1 }), fc.integer({ min: 0, max: 600 })), { minLength: 1, maxLength: 30 })
        .chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray([...events.keys(), ...events.keys()], { minLength: events.length })));
      fc.assert(
        fc.property(shuffled, ([events, arrival]) => {
          const built = events.map(([u, minute]) => upstreamEvent[names[u]!]!(minute));
          let clock = 0;
          const deliveries = arrival.map((i): [SyncEvent, number] => {
            clock = Math.max(clock + 1, events[i]![1]);
            return [built[i]!, clock];
          });
          const { outcomes } = run(deliveries);
          const counted = new Set<string>();
          for (const outcome of outcomes) {
            if (outcome.kind !== 'fired') continue;
            const firedAt = Date.parse(outcome.firing.firedAt);
            for (const success of Object.values(outcome.firing.upstreams)) {
              assert.ok(!counted.has(success.eventId));
              counted.add(success.eventId);
              assert.ok(firedAt - Date.parse(success.occurredAt) <= join.withinMs);
            }
          }
        }),
        { seed: 4242, numRuns: 300 },
      );
    });
  });
});
