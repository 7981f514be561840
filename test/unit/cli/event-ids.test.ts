import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MIN_PREFIX, resolveEventId } from '../../../functions/cli/event-ids.js';

// `postload event ID` takes the 8 characters `postload events` and the live log print: a
// unique prefix names its event, an ambiguous one is said so, a short one is refused.
// (The range query itself runs against the Firestore emulator in test/integration/cli/audit-trail.test.ts.)

/** The trail's one query, over ids in memory: those starting with the prefix, in id order, at most `limit`. */
function trailOf(ids: string[]) {
  const queries: Array<{ prefix: string; limit: number }> = [];
  return {
    queries,
    idsStartingWith: async (prefix: string, limit: number) => {
      queries.push({ prefix, limit });
      return ids.filter((id) => id.startsWith(prefix)).sort().slice(0, limit);
    },
  };
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));

describe('cli/event-ids: id prefixes', () => {
  it('a unique prefix of 8+ characters is its event; the whole id is itself; nothing matching is undefined', async () => {
    const trail = trailOf(['e44cfe98aa', 'e44cfe99bb', '0123456789']);
    assert.equal(await resolveEventId(trail, 'e44cfe98'), 'e44cfe98aa');
    assert.equal(await resolveEventId(trail, '0123456789'), '0123456789');
    assert.equal(await resolveEventId(trail, 'ffffffff'), undefined);
    // One bounded query: never a scan.
    assert.ok(trail.queries.every((q) => q.limit <= 6));
  });

  it('an ambiguous prefix is refused, naming the events it starts', async () => {
    const trail = trailOf(['e44cfe98aa', 'e44cfe98bb']);
    await assert.rejects(resolveEventId(trail, 'e44cfe98'), (e: Error & { exitCode: number; fix: string }) => {
      assert.match(e.message, /"e44cfe98" is ambiguous: it starts 2 events' ids \(e44cfe98aa, e44cfe98bb\)/);
      assert.equal(e.fix, 'give more of the id');
      assert.equal(e.exitCode, 1);
      return true;
    });
  });

  it(`a prefix shorter than ${MIN_PREFIX} characters is a usage error (exit 2), before any query`, async () => {
    const trail = trailOf(['e44cfe98aa']);
    await assert.rejects(resolveEventId(trail, 'e44cfe9'), (e: Error & { exitCode: number }) => e.exitCode === 2 && /too short/.test(e.message));
    assert.equal(trail.queries.length, 0);
  });

  it('property: any id is found by each of its prefixes that no other id shares, and never mistaken for another', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(hex(32), { minLength: 1, maxLength: 20 }), fc.nat(), fc.integer({ min: MIN_PREFIX, max: 32 }), async (ids, pick, length) => {
        const id = ids[pick % ids.length]!;
        const prefix = id.slice(0, length);
        const sharing = ids.filter((other) => other.startsWith(prefix));
        const found = await resolveEventId(trailOf(ids), prefix).catch((e: Error) => e);
        if (sharing.length === 1 || prefix === id) assert.equal(found, id);
        else assert.ok(found instanceof Error && /ambiguous/.test(found.message));
      }),
      { seed: 32, numRuns: 200 },
    );
  });
});
