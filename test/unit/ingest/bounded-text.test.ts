import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clip, dateTimeOrNull, head, tail } from '../../../functions/ingest/bounded-text.js';

/** No lone surrogate: `Buffer.from(text)` round-trips (a lone one becomes U+FFFD). */
const wellFormed = (text: string): boolean => Buffer.from(text, 'utf8').toString('utf8') === text;

describe('bounded text', () => {
  it('cuts to the bound without splitting a surrogate pair (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.integer({ min: 2, max: 40 }), (text, max) => {
        for (const cut of [head(text, max), tail(text, max), clip(text, max)]) {
          assert.ok(cut.length <= max, `${cut.length} > ${max}`);
          assert.ok(wellFormed(cut), JSON.stringify(cut));
        }
        if (text.length <= max) assert.equal(clip(text, max), text);
      }),
      { numRuns: 300, seed: 20261129 },
    );
  });

  it('keeps the beginning with head and the end with tail', () => {
    assert.equal(head('abcdef', 3), 'abc');
    assert.equal(tail('abcdef', 3), '…ef');
    assert.equal(clip('abcdef', 4), 'abc…');
  });

  it('accepts only the date-times the SyncEvent schema accepts', () => {
    assert.equal(dateTimeOrNull('2022-09-10T07:14:17.900Z'), '2022-09-10T07:14:17.900Z');
    assert.equal(dateTimeOrNull('2026-11-29T12:51:03.418227Z'), '2026-11-29T12:51:03.418227Z');
    for (const bad of ['2026-05-22 10:00:00', 'yesterday', '', 42, null, undefined, '2026-02-30T00:00:00Z']) assert.equal(dateTimeOrNull(bad), null, String(bad));
  });
});
