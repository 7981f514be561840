import assert from 'node:assert/strict';
import fc from 'fast-check';
import { signingKey, signStandardWebhook, standardWebhookHeaders, verifyStandardWebhook } from '../../../functions/shared/standard-webhooks.js';

// The published Standard Webhooks test vector (github.com/standard-webhooks/standard-webhooks,
// the reference libraries' tests): reproducing it is what says a receiver's library accepts ours.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

function key(secret: string): Buffer {
  const k = signingKey(secret);
  assert.ok(Buffer.isBuffer(k), JSON.stringify(k));
  return k;
}

describe('shared/standard-webhooks', () => {
  it('reproduces the published test vector exactly', () => {
    assert.equal(signStandardWebhook(key(VECTOR.secret), VECTOR.id, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
  });

  it('verifies the vector, and among several signatures finds the one that matches', () => {
    const headers = { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: `v1,bm9wZQ== ${VECTOR.signature}` };
    assert.equal(verifyStandardWebhook(key(VECTOR.secret), headers, VECTOR.body, VECTOR.timestamp), 'valid');
  });

  it('refuses a changed body, id or timestamp, a stale or future timestamp, and missing headers', () => {
    const k = key(VECTOR.secret);
    const ok = { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: VECTOR.signature };
    assert.equal(verifyStandardWebhook(k, ok, '{"test": 2432232315}', VECTOR.timestamp), 'mismatch');
    assert.equal(verifyStandardWebhook(k, { ...ok, id: 'msg_other' }, VECTOR.body, VECTOR.timestamp), 'mismatch');
    assert.equal(verifyStandardWebhook(k, { ...ok, timestamp: String(VECTOR.timestamp + 1) }, VECTOR.body, VECTOR.timestamp), 'mismatch');
    assert.equal(verifyStandardWebhook(k, ok, VECTOR.body, VECTOR.timestamp + 301), 'stale');
    assert.equal(verifyStandardWebhook(k, ok, VECTOR.body, VECTOR.timestamp - 301), 'stale');
    assert.equal(verifyStandardWebhook(k, { ...ok, signature: undefined }, VECTOR.body, VECTOR.timestamp), 'missing');
    assert.equal(verifyStandardWebhook(k, { ...ok, signature: 'v2,' + VECTOR.signature.slice(3) }, VECTOR.body, VECTOR.timestamp), 'mismatch');
  });

  it('takes only whsec_ secrets of 24 to 64 random bytes', () => {
    assert.ok('problem' in (signingKey('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') as object));
    assert.ok('problem' in (signingKey('whsec_not base64!') as object));
    assert.ok('problem' in (signingKey(`whsec_${Buffer.alloc(16).toString('base64')}`) as object));
    assert.ok('problem' in (signingKey(`whsec_${Buffer.alloc(65).toString('base64')}`) as object));
    assert.ok(Buffer.isBuffer(signingKey(`whsec_${Buffer.alloc(32, 7).toString('base64')}`)));
  });

  it('property: what one secret signs it verifies, and no other secret does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 24, maxLength: 64 }), fc.uint8Array({ minLength: 24, maxLength: 64 }), fc.string(), fc.string({ minLength: 1, maxLength: 40 }), (a, b, body, id) => {
        const ka = key(`whsec_${Buffer.from(a).toString('base64')}`);
        const kb = key(`whsec_${Buffer.from(b).toString('base64')}`);
        const headers = standardWebhookHeaders(ka, id, 1_700_000_000, body);
        const given = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] };
        assert.equal(verifyStandardWebhook(ka, given, body, 1_700_000_000), 'valid');
        if (!ka.equals(kb)) assert.equal(verifyStandardWebhook(kb, given, body, 1_700_000_000), 'mismatch');
      }),
    );
  });
});
