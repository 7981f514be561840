import assert from 'node:assert/strict';
import { checkFivetranSignature, signFivetranPayload, type SignatureCheck } from '../../../functions/ingest/fivetran/signature.js';
import { fixtureText } from '../../support/webhook-fixtures.js';

const SECRET = 'whsec_postload_test';
const BODY = Buffer.from(fixtureText('fivetran', 'sync_end-successful'));
const VALID = signFivetranPayload(BODY, SECRET);
const secrets = (...values: string[]) => values.map((v) => Buffer.from(v));

describe('Fivetran signature', () => {
  it('matches an HMAC-SHA256 computed independently (openssl-style hex)', () => {
    // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style known answer.
    assert.equal(
      signFivetranPayload('The quick brown fox jumps over the lazy dog', 'key'),
      'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  const cases: Array<{ name: string; body?: Buffer; header: string | undefined; secrets: Buffer[]; expected: SignatureCheck }> = [
    { name: 'valid lower-case hex', header: VALID, secrets: secrets(SECRET), expected: 'valid' },
    { name: 'valid upper-case hex', header: VALID.toUpperCase(), secrets: secrets(SECRET), expected: 'valid' },
    { name: 'valid with surrounding whitespace', header: ` ${VALID} `, secrets: secrets(SECRET), expected: 'valid' },
    { name: 'valid for the second of two rotated secrets', header: VALID, secrets: secrets('old-secret', SECRET), expected: 'valid' },
    { name: 'missing header', header: undefined, secrets: secrets(SECRET), expected: 'missing' },
    { name: 'empty header', header: '', secrets: secrets(SECRET), expected: 'missing' },
    { name: 'too short (wrong length)', header: VALID.slice(0, 63), secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'too long (wrong length)', header: `${VALID}00`, secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'sha256= prefix, which Fivetran does not send', header: `sha256=${VALID}`, secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'not hex', header: `${VALID.slice(0, 63)}g`, secrets: secrets(SECRET), expected: 'malformed' },
    { name: 'wrong hex (one digit changed)', header: `${VALID.slice(0, 63)}${VALID.endsWith('0') ? '1' : '0'}`, secrets: secrets(SECRET), expected: 'mismatch' },
    { name: 'wrong secret', header: VALID, secrets: secrets('another-secret'), expected: 'mismatch' },
    { name: 'tampered body', body: Buffer.from(BODY.toString().replace('SUCCESSFUL', 'FAILURE')), header: VALID, secrets: secrets(SECRET), expected: 'mismatch' },
    { name: 're-serialised body (whitespace added)', body: Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 2)), header: VALID, secrets: secrets(SECRET), expected: 'mismatch' },
    { name: 'empty secret never authenticates', header: signFivetranPayload(BODY, ''), secrets: secrets(''), expected: 'mismatch' },
    { name: 'no accepted secret at all', header: VALID, secrets: [], expected: 'mismatch' },
  ];

  for (const { name, body = BODY, header, secrets: accepted, expected } of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(checkFivetranSignature(body, header, accepted), expected);
    });
  }
});
