import assert from 'node:assert/strict';
import fc from 'fast-check';
import { staleReason } from '../../../../functions/processor/planning/staleness.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T12:00:00Z');

describe('processor/planning/staleness (issue 25, finding 4)', () => {
  it('an event the ingest function marked stale is stale, saying when it happened and when it arrived', () => {
    const reason = staleReason({ stale: true, occurredAt: '2026-11-01T00:00:00Z', receivedAt: '2026-12-01T11:59:00Z' }, NOW, 90);
    assert.match(reason ?? '', /received it at 2026-12-01T11:59:00Z, more than its stale age \(STALE_EVENT_AGE_HOURS\) after it happened at 2026-11-01T00:00:00Z/);
  });

  it('an event received longer ago than the audit retention is stale: no record can say it was not processed already', () => {
    assert.match(staleReason({ occurredAt: '2026-08-01T00:00:00Z', receivedAt: '2026-08-01T00:00:01Z' }, NOW, 90) ?? '', /more than AUDIT_RETENTION_DAYS \(90 days\) ago/);
    assert.equal(staleReason({ occurredAt: '2026-08-01T00:00:00Z', receivedAt: '2026-11-30T00:00:00Z' }, NOW, 90), undefined, 'an old load received recently is for the ingest function to judge');
  });

  it('property: stale exactly when marked, or received more than the retention ago', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: -5 * DAY, max: 400 * DAY }), fc.integer({ min: 1, max: 3650 }), (marked, age, retentionDays) => {
        const receivedAt = new Date(NOW - age).toISOString();
        const reason = staleReason({ ...(marked ? { stale: true } : {}), occurredAt: receivedAt, receivedAt }, NOW, retentionDays);
        assert.equal(reason !== undefined, marked || age > retentionDays * DAY);
      }),
      { seed: 4, numRuns: 300 },
    );
  });
});
