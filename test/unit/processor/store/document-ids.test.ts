import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectorDocId, invalidDocId, quarantineAlertDocId } from '../../../../functions/processor/store/document-ids.js';

describe('processor/store/document-ids', () => {
  it('a/b and a_b are different connectors; ids stay readable', () => {
    assert.notEqual(connectorDocId('fivetran', 'a/b'), connectorDocId('fivetran', 'a_b'));
    assert.equal(connectorDocId('fivetran', 'assimilate_seem'), 'fivetran-assimilate_seem');
    assert.equal(invalidDocId('123'), 'invalid-123');
  });

  it('property: collision-free, valid and bounded (≤ 1,500 bytes, no "/", never "." or "__…__")', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), fc.string({ unit: 'binary', maxLength: 3000 }), (a, b) => {
        for (const id of [connectorDocId('airbyte', a), invalidDocId(a)]) {
          assert.ok(Buffer.byteLength(id, 'utf8') <= 1500);
          assert.ok(!id.includes('/') && id !== '.' && id !== '..' && !/^__.*__$/.test(id));
        }
        if (a !== b) assert.notEqual(connectorDocId('airbyte', a), connectorDocId('airbyte', b));
      }),
      { seed: 5, numRuns: 300 },
    );
  });
});

describe('processor/store/document-ids: quarantine alert days and lone surrogates', () => {
  const loneSurrogates = fc.string({ unit: fc.constantFrom('a', ':', '%', '/', '\uD800', '\uDC00', '\uFFFD', '😀', '-'), maxLength: 12 });

  it('reads as day, source, vendor event and code', () => {
    assert.equal(quarantineAlertDocId('2026-11-29', 'airbyte', 'unknown', 'schema_violation'), '2026-11-29-airbyte%3Aunknown%3Aschema_violation');
  });

  it('a text with a lone surrogate gets an id (encodeURIComponent refuses it), apart from its U+FFFD look-alike', () => {
    assert.match(connectorDocId('fivetran', 'a\uD800'), /^fivetran#[0-9a-f]{64}$/);
    assert.notEqual(connectorDocId('fivetran', 'a\uD800'), connectorDocId('fivetran', 'a\uFFFD'));
  });

  it('property: collision-free over all four parts, valid and bounded, whatever the texts', () => {
    const part = fc.oneof(loneSurrogates, fc.string({ unit: 'binary', maxLength: 700 }));
    const key = fc.tuple(fc.constantFrom('2026-11-28', '2026-11-29'), fc.constantFrom('fivetran', 'airbyte', 'dbt-cloud'), part, part);
    fc.assert(
      fc.property(key, key, (a, b) => {
        const [idA, idB] = [quarantineAlertDocId(...a), quarantineAlertDocId(...b)];
        for (const id of [idA, idB]) {
          assert.ok(Buffer.byteLength(id, 'utf8') <= 1500);
          assert.ok(!id.includes('/') && id !== '.' && id !== '..' && !/^__.*__$/.test(id));
        }
        assert.equal(idA === idB, a.every((v, i) => v === b[i]), `${JSON.stringify(a)} and ${JSON.stringify(b)}`);
      }),
      { seed: 11, numRuns: 500 },
    );
  });

  it('property: the split of vendor event and code cannot be moved (":" inside a part is not the separator)', () => {
    fc.assert(
      fc.property(loneSurrogates, loneSurrogates, loneSurrogates, (x, y, z) => {
        const one = quarantineAlertDocId('2026-11-29', 'airbyte', `${x}:${y}`, z);
        const two = quarantineAlertDocId('2026-11-29', 'airbyte', x, `${y}:${z}`);
        assert.notEqual(one, two);
      }),
      { seed: 12, numRuns: 300 },
    );
  });
});
