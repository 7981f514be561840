import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideClaims, eventStatus, mergeEventStatus, type ActionStatus, type ActionView } from '../../../../functions/processor/planning/claims.js';

const NOW = 1_000_000;
const view = (overrides: Partial<ActionView>): ActionView => ({ status: 'retry', claimedBy: null, leaseUntilMs: null, notBeforeMs: null, attempts: 1, uncertain: false, ...overrides });
const job = { actionId: 'dbt-job-1', kind: 'dbt' as const };
const message = { actionId: 'slack', kind: 'slack' as const };

describe('processor/planning/claims', () => {
  const table: Array<[string, ActionView | undefined, string, Record<string, unknown>]> = [
    ['a new action is claimed, attempt 1, no lookup', undefined, 'claim', { attempt: 1, checkFirst: false, takenOver: false }],
    ['a retry is claimed and looks first', view({ status: 'retry', attempts: 1 }), 'claim', { attempt: 2, checkFirst: true }],
    ['a succeeded action is done', view({ status: 'succeeded' }), 'done', {}],
    ['a failed action is done', view({ status: 'failed' }), 'done', {}],
    ['a live claim of another delivery is busy', view({ status: 'pending', claimedBy: 'other', leaseUntilMs: NOW + 1 }), 'busy', {}],
    ['an expired claim is taken over, uncertain, looking first', view({ status: 'pending', claimedBy: 'other', leaseUntilMs: NOW - 1 }), 'claim', { takenOver: true, checkFirst: true }],
    ['a Retry-After not yet passed defers', view({ status: 'retry', notBeforeMs: NOW + 5000 }), 'deferred', { notBeforeMs: NOW + 5000 }],
    ['a Retry-After passed is claimed', view({ status: 'retry', notBeforeMs: NOW - 1 }), 'claim', {}],
  ];
  for (const [name, previous, decision, fields] of table) {
    it(name, () => {
      const result = decideClaims([job], { 'dbt-job-1': previous }, 'me', NOW).get('dbt-job-1')!;
      assert.equal(result.decision, decision);
      for (const [key, value] of Object.entries(fields)) assert.equal((result as Record<string, unknown>)[key], value, key);
    });
  }

  it('a message waits while a job is busy or deferred, and is claimed when every job is claimable or done', () => {
    const busy = { 'dbt-job-1': view({ status: 'pending', claimedBy: 'other', leaseUntilMs: NOW + 1 }) };
    assert.equal(decideClaims([job, message], busy, 'me', NOW).get('slack')?.decision, 'wait');
    const deferred = { 'dbt-job-1': view({ notBeforeMs: NOW + 1 }) };
    assert.equal(decideClaims([job, message], deferred, 'me', NOW).get('slack')?.decision, 'wait');
    assert.equal(decideClaims([job, message], {}, 'me', NOW).get('slack')?.decision, 'claim');
    assert.equal(decideClaims([job, message], { 'dbt-job-1': view({ status: 'succeeded' }) }, 'me', NOW).get('slack')?.decision, 'claim');
  });

  it('property: never two live claims — an action claimed by one delivery is busy for every other until its lease ends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120_000 }), fc.integer({ min: 0, max: 240_000 }), (lease, elapsed) => {
        const held = view({ status: 'pending', claimedBy: 'first', leaseUntilMs: NOW + lease });
        const decision = decideClaims([job], { 'dbt-job-1': held }, 'second', NOW + elapsed).get('dbt-job-1')!;
        if (elapsed < lease) assert.equal(decision.decision, 'busy');
        else assert.ok(decision.decision === 'claim' && decision.checkFirst && decision.takenOver);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('property: any attempt after the first looks before acting', () => {
    const statuses: ActionStatus[] = ['retry', 'waiting', 'pending'];
    fc.assert(
      fc.property(fc.constantFrom(...statuses), fc.integer({ min: 1, max: 50 }), fc.boolean(), (status, attempts, uncertain) => {
        const decision = decideClaims([job], { 'dbt-job-1': view({ status, attempts, uncertain, claimedBy: 'me', leaseUntilMs: NOW + 1 }) }, 'me', NOW).get('dbt-job-1')!;
        assert.ok(decision.decision === 'claim' && decision.checkFirst && decision.attempt === attempts + 1);
      }),
      { seed: 12, numRuns: 200 },
    );
  });

  it('the event is retrying while anything is open, failed if anything failed, else processed', () => {
    assert.equal(eventStatus(['succeeded', 'succeeded']), 'processed');
    assert.equal(eventStatus(['succeeded', 'failed']), 'failed');
    assert.equal(eventStatus(['failed', 'waiting']), 'retrying');
    assert.equal(eventStatus(['pending']), 'retrying');
    assert.equal(eventStatus([]), 'processed');
  });

  it('final statuses are never downgraded', () => {
    for (const final of ['processed', 'failed', 'invalid']) for (const next of ['retrying', 'received', 'processed']) assert.equal(mergeEventStatus(final, next), final);
    assert.equal(mergeEventStatus('retrying', 'processed'), 'processed');
    assert.equal(mergeEventStatus('received', 'retrying'), 'retrying');
  });
});
