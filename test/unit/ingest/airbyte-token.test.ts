import assert from 'node:assert/strict';
import { checkToken, offeredTokens, type TokenCheck } from '../../../functions/ingest/airbyte/token.js';

const TOKEN = 'ab-7f3c9e1d2b4a';
const accepted = (...values: string[]) => values.map((v) => Buffer.from(v));

describe('Airbyte token', () => {
  describe('offeredTokens', () => {
    const cases: Array<{ name: string; query: unknown; authorization?: string; expected: string[] }> = [
      { name: 'query string', query: { token: TOKEN }, expected: [TOKEN] },
      { name: 'bearer header', query: {}, authorization: `Bearer ${TOKEN}`, expected: [TOKEN] },
      { name: 'bearer, any case and spacing', query: {}, authorization: `bearer   ${TOKEN}  `, expected: [TOKEN] },
      { name: 'both', query: { token: 'q' }, authorization: 'Bearer h', expected: ['q', 'h'] },
      { name: 'repeated query parameter', query: { token: ['a', 'b'] }, expected: ['a', 'b'] },
      { name: 'basic auth is not a token', query: {}, authorization: 'Basic dXNlcjpwYXNz', expected: [] },
      { name: 'empty token', query: { token: '' }, expected: [] },
      { name: 'nothing', query: undefined, expected: [] },
    ];
    for (const { name, query, authorization, expected } of cases) {
      it(name, () => assert.deepEqual(offeredTokens(query, authorization), expected));
    }
  });

  describe('checkToken', () => {
    const cases: Array<{ name: string; offered: string[]; accepted: Buffer[]; expected: TokenCheck }> = [
      { name: 'exact match', offered: [TOKEN], accepted: accepted(TOKEN), expected: 'valid' },
      { name: 'match on a rotated second value', offered: [TOKEN], accepted: accepted('old', TOKEN), expected: 'valid' },
      { name: 'one of two offered matches (proxy adds its own bearer)', offered: ['proxy-token', TOKEN], accepted: accepted(TOKEN), expected: 'valid' },
      { name: 'wrong token', offered: ['nope'], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'prefix of the token', offered: [TOKEN.slice(0, -1)], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'longer than the token (length mismatch does not throw)', offered: [`${TOKEN}x`], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'case matters', offered: [TOKEN.toUpperCase()], accepted: accepted(TOKEN), expected: 'mismatch' },
      { name: 'no token offered', offered: [], accepted: accepted(TOKEN), expected: 'missing' },
      { name: 'empty accepted value never matches', offered: [''], accepted: accepted(''), expected: 'mismatch' },
    ];
    for (const { name, offered, accepted: values, expected } of cases) {
      it(`${name} → ${expected}`, () => assert.equal(checkToken(offered, values), expected));
    }
  });
});
