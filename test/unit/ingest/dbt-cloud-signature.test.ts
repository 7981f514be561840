import assert from 'node:assert/strict';
import type { CheckResult } from '../../../functions/ingest/authenticate.js';
import { checkDbtCloudSignature, signDbtCloudPayload } from '../../../functions/ingest/dbt-cloud/signature.js';
import { fixtureText } from '../../support/webhook-fixtures.js';

const SECRET = 'dbt-hmac-secret-for-tests';
const BODY = Buffer.from(fixtureText('dbt-cloud', 'job.run.completed-errored'));
const VALID = signDbtCloudPayload(BODY, SECRET);
const secrets = (...values: string[]) => values.map((v) => Buffer.from(v));

describe('dbt Cloud signature (Authorization header)', () => {
  it('is the lower-case hex HMAC-SHA256 dbt documents (Python hmac.new(secret, body, sha256).hexdigest())', () => {
    // RFC 4231-style known answer, computed independently of this code.
    assert.equal(signDbtCloudPayload('The quick brown fox jumps over the lazy dog', 'key'), 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
    assert.match(VALID, /^[0-9a-f]{64}$/);
  });

  const cases: Array<{ name: string; body?: Buffer; header: string | undefined; secrets: Buffer[]; expected: CheckResult }> = [
    { name: 'valid (lower-case hex, as dbt Cloud sends it)', header: VALID, secrets: secrets(SECRET), expected: 'valid' },
    { name: 'upper-case hex (the same digest)', header: VALID.toUpperCase(), secrets: secrets(SECRET), expected: 'valid' },
    { name: 'valid for the newer of two rotated secrets', header: VALID, secrets: secrets('the-old-secret', SECRET), expected: 'valid' },
    { name: 'missing header', header: undefined, secrets: secrets(SECRET), expected: 'missing' },
    { name: 'blank header', header: '  ', secrets: secrets(SECRET), expected: 'missing' },
    { name: 'wrong length: one digit short', header: VALID.slice(0, 63), secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'wrong length: one byte too many', header: `${VALID}ab`, secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'a scheme dbt Cloud does not send (Bearer)', header: `Bearer ${VALID}`, secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'base64 instead of hex', header: Buffer.from(VALID, 'hex').toString('base64'), secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'wrong: one hex digit changed', header: `${VALID.slice(0, 63)}${VALID.endsWith('0') ? '1' : '0'}`, secrets: secrets(SECRET), expected: 'mismatch' },
    { name: 'wrong secret', header: VALID, secrets: secrets('not-the-secret'), expected: 'mismatch' },
    { name: 'body changed after signing (Errored → Success)', body: Buffer.from(BODY.toString().replace('"Errored"', '"Success"')), header: VALID, secrets: secrets(SECRET), expected: 'mismatch' },
    { name: 'body re-serialised (same JSON, other bytes)', body: Buffer.from(JSON.stringify(JSON.parse(BODY.toString()))), header: VALID, secrets: secrets(SECRET), expected: 'mismatch' },
    { name: 'an empty secret never authenticates', header: signDbtCloudPayload(BODY, ''), secrets: secrets(''), expected: 'mismatch' },
  ];

  for (const { name, body = BODY, header, secrets: accepted, expected } of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(checkDbtCloudSignature(body, header, accepted), expected);
    });
  }
});
