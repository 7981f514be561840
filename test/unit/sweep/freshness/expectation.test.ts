import assert from 'node:assert/strict';
import { resolveExpectation, type VendorFacts } from '../../../../functions/sweep/freshness/expectation.js';
import { DurationError, formatSpan, parseFreshnessDuration } from '../../../../functions/sweep/freshness/duration.js';
import { learnExpectation, MIN_GAPS } from '../../../../functions/sweep/freshness/learned.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const facts = (fields: Partial<VendorFacts>): VendorFacts => ({ vendor: 'fivetran', schedule: { kind: 'interval', everyMs: 6 * HOUR, text: 'sync_frequency 360 min' }, paused: null, succeededAt: null, failedAt: null, name: null, readAt: NOW, ...fields });

describe('freshness expectations: where they come from', () => {
  it('a routing rule wins over the vendor, the vendor over history; each says its source', () => {
    const rule = { index: 1, label: 'source "fivetran"', expectation: { kind: 'every' as const, everyMs: HOUR, graceMs: 30 * MIN } };
    const history = Array.from({ length: 12 }, (_, i) => NOW - i * 2 * HOUR);
    assert.deepEqual(resolveExpectation(rule, facts({}), history, NOW), { kind: 'every', everyMs: HOUR, graceMs: 30 * MIN, source: 'routing', detail: 'routing file, freshness rule 2 (source "fivetran")' });
    assert.equal(resolveExpectation(undefined, facts({}), history, NOW).source, 'fivetran');
    assert.equal(resolveExpectation(undefined, undefined, history, NOW).source, 'learned');
    assert.deepEqual(resolveExpectation(undefined, undefined, history.slice(0, 5), NOW), { kind: 'none', source: 'none', detail: 'learning: 4 of 10 gaps between successful syncs seen' });
  });

  it('Fivetran: sync_frequency plus its start offset (at most one interval) before late, one interval of grace; manual expects nothing', () => {
    const six = resolveExpectation(undefined, facts({}), [], NOW);
    assert.deepEqual([six.kind, six.kind === 'every' && six.everyMs, six.kind === 'every' && six.graceMs], ['every', 7 * HOUR, 6 * HOUR]);
    const five = resolveExpectation(undefined, facts({ schedule: { kind: 'interval', everyMs: 5 * MIN, text: 'sync_frequency 5 min' } }), [], NOW);
    assert.equal(five.kind === 'every' && five.everyMs, 10 * MIN, 'the offset is fixed per destination: never more than one interval');
    const manual = resolveExpectation(undefined, facts({ schedule: { kind: 'manual', text: 'schedule_type manual' } }), [], NOW);
    assert.deepEqual([manual.kind, manual.source], ['none', 'fivetran']);
  });

  it('Airbyte: a basic schedule is late past one interval and overdue past two, as Airbyte\'s own status page says; a Quartz cron one period; an unreadable schedule is learned', () => {
    const basic = resolveExpectation(undefined, facts({ vendor: 'airbyte', schedule: { kind: 'interval', everyMs: 24 * HOUR, text: 'Every 24 HOURS' } }), [], NOW);
    assert.deepEqual([basic.kind === 'every' && basic.everyMs, basic.kind === 'every' && basic.graceMs, basic.source], [24 * HOUR, 24 * HOUR, 'airbyte']);
    const cron = resolveExpectation(undefined, facts({ vendor: 'airbyte', schedule: { kind: 'cron', spec: { expression: '0 0 */6 * * ?', timezone: 'UTC', dialect: 'quartz' }, text: '0 0 */6 * * ? UTC' } }), [], NOW);
    assert.deepEqual([cron.kind, cron.kind === 'cron' && cron.graceMs], ['cron', 6 * HOUR]);
    const legacy = resolveExpectation(undefined, facts({ vendor: 'airbyte', schedule: { kind: 'unknown', text: 'basic (no timing)' } }), [], NOW);
    assert.equal(legacy.source, 'none');
  });

  it('learned: never from fewer than 10 gaps; late past the 90th percentile gap, overdue a median gap later; duplicates and sub-minute gaps ignored', () => {
    const hourly = Array.from({ length: MIN_GAPS + 1 }, (_, i) => NOW - i * HOUR);
    assert.deepEqual(learnExpectation(hourly), { everyMs: HOUR, graceMs: HOUR, gaps: 10 });
    assert.deepEqual(learnExpectation(hourly.slice(1)), { gaps: 9 });
    assert.deepEqual(learnExpectation([...hourly.slice(1), ...hourly.slice(1), NOW - 9 * HOUR + 10_000]), { gaps: 9 }, 'the same sync seen twice is one sample, and a sync seconds after another is no gap');
    // A weekday-only daily load: its weekend gap (3 days) sets the 90th percentile.
    const weekdays: number[] = [];
    for (let d = 0; weekdays.length < 25; d++) {
      const day = new Date(Date.parse('2026-03-02T06:00:00Z') + d * 24 * HOUR);
      if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6) weekdays.push(day.getTime());
    }
    const learned = learnExpectation(weekdays);
    assert.ok('everyMs' in learned);
    assert.deepEqual([learned.everyMs, learned.graceMs], [72 * HOUR, 24 * HOUR]);
  });

  it('durations: 30m, 1h30m, 2d, 1w and ISO 8601; zero, repeats and junk refused', () => {
    assert.deepEqual(['30m', '1h30m', '2d', '1w', 'PT1H', '90s'].map(parseFreshnessDuration), [30 * MIN, 90 * MIN, 48 * HOUR, 168 * HOUR, HOUR, 90_000]);
    for (const bad of ['0h', '1h1h', '1.5h', 'h', '', 'P1M', '367d']) assert.throws(() => parseFreshnessDuration(bad), DurationError, bad);
    assert.deepEqual([formatSpan(90 * MIN), formatSpan(49 * HOUR + 5 * MIN), formatSpan(5_000)], ['1h 30m', '2d 1h', '5s']);
  });
});
