import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectorDocId, invalidDocId } from '../../../../functions/processor/store/document-ids.js';

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
