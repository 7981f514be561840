import assert from 'node:assert/strict';
import { Timestamp } from '@google-cloud/firestore';
import fc from 'fast-check';
import { cutText, documentSize, valueSize } from '../../../../functions/processor/store/document-size.js';

describe('processor/store/document-size', () => {
  it('follows Firestore\'s documented sizes: strings in UTF-8 bytes + 1, field names included', () => {
    // The worked example of cloud.google.com/firestore/docs/storage-size: a document
    // users/jeff with {type: "Personal", done: false, priority: 1, description: "Learn Cloud Firestore"}.
    const data = { type: 'Personal', done: false, priority: 1, description: 'Learn Cloud Firestore' };
    assert.equal(documentSize('users/jeff', data), 16 + 6 + 5 + (5 + 9) + (5 + 1) + (9 + 8) + (12 + 22) + 32);
    assert.equal(valueSize('é'), 3, 'two bytes and one');
    assert.equal(valueSize(Timestamp.now()), 8);
    assert.equal(valueSize({ a: [1, 'x'] }), 2 + 8 + 2);
  });

  it('property: a cut text fits its byte budget, keeps whole characters and marks the cut', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 4, max: 300 }), (text, max) => {
        const cut = cutText(text, max);
        assert.ok(cut === text ? Buffer.byteLength(text, 'utf8') <= max : Buffer.byteLength(cut, 'utf8') <= max);
        if (cut !== text) {
          assert.ok(cut.endsWith('…'));
          assert.ok(text.startsWith(cut.slice(0, -1)));
          assert.ok(!/[\uD800-\uDBFF]$/.test(cut.slice(0, -1)), 'half a surrogate pair left');
        }
      }),
      { seed: 7, numRuns: 400 },
    );
  });
});
