import assert from 'node:assert/strict';
import { quarantinedEvent } from '../../../../functions/ingest/quarantine.js';
import { quarantineAlertKeys, quarantineVerdict, utcDay } from '../../../../functions/processor/planning/quarantine-alerts.js';
import { failedSync } from '../../../support/sync-event-fixtures.js';

const NOW = Date.parse('2026-11-29T13:00:00Z');

function quarantined(problems: Array<{ code: string; message: string; pointer?: string | null }>, receivedAt = new Date('2026-11-28T23:59:59.999Z')) {
  return quarantinedEvent({ source: 'fivetran', raw: Buffer.from(JSON.stringify({ event: 'sync_end', n: Math.random() })), parsed: { event: 'sync_end' }, vendorEvent: 'sync_end', problems, receivedAt });
}

describe('processor/planning/quarantine-alerts', () => {
  it('one key per distinct problem code, on the UTC day the event was received', () => {
    const event = quarantined([
      { code: 'schema_violation', message: '/connector_id must be string', pointer: '/connector_id' },
      { code: 'schema_violation', message: '/created must be string', pointer: '/created' },
      { code: 'unrecognised_shape', message: 'no data' },
    ]);
    assert.deepEqual(quarantineAlertKeys(event, NOW), [
      { day: '2026-11-28', source: 'fivetran', vendorEvent: 'sync_end', code: 'schema_violation' },
      { day: '2026-11-28', source: 'fivetran', vendorEvent: 'sync_end', code: 'unrecognised_shape' },
    ]);
  });

  it('no keys for any other type; a quarantined event that names no problem still has one key', () => {
    assert.deepEqual(quarantineAlertKeys(failedSync(), NOW), []);
    assert.deepEqual(quarantineAlertKeys(quarantined([]), NOW).map((k) => k.code), ['unknown']);
  });

  it('a hand-made event with many codes is held to ten keys', () => {
    const event = quarantined([]);
    event.quarantine!.problems = Array.from({ length: 30 }, (_, i) => ({ code: `c${i}`, message: 'x' }));
    assert.equal(quarantineAlertKeys(event, NOW).length, 10);
  });

  it('the day is the UTC day of the instant (offsets count); the clock decides when the text is no date', () => {
    assert.equal(utcDay('2026-11-29T01:30:00+02:00', NOW), '2026-11-28');
    assert.equal(utcDay('2026-11-28T23:00:00-02:00', NOW), '2026-11-29');
    assert.equal(utcDay('not a date', NOW), '2026-11-29');
    assert.equal(utcDay('+275760-09-13T00:00:00Z', NOW), '2026-11-29', 'an extended year is not a day id');
  });

  it('the verdict: codes whose day document names this event (or none) alert; the others name who already did', () => {
    const keys = quarantineAlertKeys(quarantined([{ code: 'a', message: '' }, { code: 'b', message: '' }, { code: 'c', message: '' }]), NOW);
    const stored: Record<string, string | undefined> = { a: 'me', b: 'other', c: undefined };
    assert.deepEqual(quarantineVerdict('me', keys, (k) => stored[k.code]), { alertCodes: ['a', 'c'], alreadyAlertedBy: ['other'] });
    assert.deepEqual(quarantineVerdict('me', keys, () => 'other'), { alertCodes: [], alreadyAlertedBy: ['other'] });
  });
});
