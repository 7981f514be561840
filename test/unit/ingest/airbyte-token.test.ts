import assert from 'node:assert/strict';
import { checkToken, offeredTokens, type TokenCheck } from '../../../functions/ingest/airbyte/token.js';

const TOKEN = 'ab-7f3c9e1d2b4a';
const accepted = (...values: string[]) => values.map((v) => Buffer.from(v));

describe('Airbyte token', () => {
  describe('offeredTokens', () => {
    const cases: Array<{ name: string; query: unknown; authorization?: string; expected: unknown[] }> = [
      { name: 'query string', query: { token: TOKEN }, expected: [TOKEN] },
      { name: 'bearer header', query: {}, authorization: `Bearer ${TOKEN}`, expected: [TOKEN] },
      { name: 'bearer, any case and spacing', query: {}, authorization: `bearer   ${TOKEN}  `, expected: [TOKEN] },
      { name: 'both', query: { token: 'q' }, authorization: 'Bearer h', expected: ['q', 'h'] },
      { name: 'repeated query parameter', query: { token: ['a', 'b'] }, expected: ['a', 'b'] },
      { name: 'basic auth is not a token', query: {}, authorization: 'Basic dXNlcjpwYXNz', expected: [] },
      { name: 'empty token (counted, so it cannot pad a second one)', query: { token: '' }, expected: [''] },
      { name: 'bearer without a token', query: {}, authorization: 'Bearer ', expected: [null] },
      { name: 'a thousand repeats are all counted', query: { token: Array.from({ length: 1000 }, (_, i) => `t${i}`) }, expected: Array.from({ length: 1000 }, (_, i) => `t${i}`) },
      { name: 'nothing', query: undefined, expected: [] },
    ];
    for (const { name, query, authorization, expected } of cases) {
      it(name, () => assert.deepEqual(offeredTokens(query, authorization), expected));
    }
  });

  describe('checkToken', () => {
    const cases: Array<{ name: string; offered: unknown[]; accepted: Buffer[]; expected: TokenCheck }> = [
      { name: 'exact match', offered: [TOKEN], accepted: accepted(TOKEN), expected: 'valid' },
      { name: 'match on a rotated second value', offered: [TOKEN], accepted: accepted('old', TOKEN), expected: 'valid' },
      { name: 'two offered, one of them right: refused', offered: ['guess', TOKEN], accepted: accepted(TOKEN), expected: 'malformed' },
      { name: 'the right token twice: refused', offered: [TOKEN, TOKEN], accepted: accepted(TOKEN), expected: 'malformed' },
      { name: 'a token that is not a string (?token[a]=x)', offered: [{ a: TOKEN }], accepted: accepted(TOKEN), expected: 'malformed' },
      { name: 'an empty token alone counts as none', offered: [''], accepted: accepted(TOKEN), expected: 'missing' },
      { name: 'wrong token', offered: ['nope'], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'prefix of the token', offered: [TOKEN.slice(0, -1)], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'longer than the token (length mismatch does not throw)', offered: [`${TOKEN}x`], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'case matters', offered: [TOKEN.toUpperCase()], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'no token offered', offered: [], accepted: accepted(TOKEN), expected: 'missing' },
      { name: 'empty accepted value never matches', offered: ['x'], accepted: accepted(''), expected: 'mismatch' },
    ];
    for (const { name, offered, accepted: values, expected } of cases) {
      it(`${name} → ${expected}`, () => assert.equal(checkToken(offered, values), expected));
    }
  });
});
