import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkSlackSignature, SLACK_MAX_AGE_SECONDS, signSlackRequest } from '../../../functions/shared/slack-signature.js';

// Slack's own worked example (api.slack.com/authentication/verifying-requests-from-slack):
// this signing secret, timestamp and body give exactly this signature.
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const DOC_NOW_MS = Number(DOC_TIMESTAMP) * 1000 + 30_000;

describe('Slack request signatures (v0 HMAC over v0:timestamp:body)', () => {
  const secrets = [Buffer.from(DOC_SECRET)];
  const check = (body: string, timestamp: string | undefined, signature: string | undefined, nowMs = DOC_NOW_MS, keys = secrets) =>
    checkSlackSignature(Buffer.from(body), timestamp, signature, keys, nowMs);

  it("signs Slack's documented example exactly as Slack does", () => {
    assert.deepEqual(signSlackRequest(DOC_BODY, DOC_SECRET, Number(DOC_TIMESTAMP)), { 'x-slack-request-timestamp': DOC_TIMESTAMP, 'x-slack-signature': DOC_SIGNATURE });
  });

  it("accepts Slack's documented example, in upper-case hex too", () => {
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE), 'valid');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, `v0=${DOC_SIGNATURE.slice(3).toUpperCase()}`), 'valid');
  });

  it('refuses one changed byte of the body, another timestamp, another secret', () => {
    assert.equal(check(`${DOC_BODY.slice(0, -1)}d`, DOC_TIMESTAMP, DOC_SIGNATURE), 'mismatch');
    assert.equal(check(DOC_BODY, String(Number(DOC_TIMESTAMP) + 1), DOC_SIGNATURE), 'mismatch');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE, DOC_NOW_MS, [Buffer.from('another-secret-of-the-same-length')]), 'mismatch');
  });

  it('accepts any enabled secret version (rotation), and an empty secret never matches', () => {
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE, DOC_NOW_MS, [Buffer.from('new-secret-not-yet-used-by-slack'), Buffer.from(DOC_SECRET)]), 'valid');
    const unsigned = signSlackRequest(DOC_BODY, '', Number(DOC_TIMESTAMP))['x-slack-signature'];
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, unsigned, DOC_NOW_MS, [Buffer.alloc(0)]), 'mismatch');
  });

  it('refuses a request more than five minutes old, or from more than five minutes ahead, as stale', () => {
    const signedAt = Number(DOC_TIMESTAMP) * 1000;
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE, signedAt + SLACK_MAX_AGE_SECONDS * 1000), 'valid');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE, signedAt + SLACK_MAX_AGE_SECONDS * 1000 + 1001), 'stale');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE, signedAt - SLACK_MAX_AGE_SECONDS * 1000 - 1001), 'stale');
  });

  it('missing and malformed headers are named as such', () => {
    assert.equal(check(DOC_BODY, undefined, DOC_SIGNATURE), 'missing');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, undefined), 'missing');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, '  '), 'missing');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE.slice(3)), 'malformed');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, `v1=${DOC_SIGNATURE.slice(3)}`), 'malformed');
    assert.equal(check(DOC_BODY, DOC_TIMESTAMP, `${DOC_SIGNATURE}00`), 'malformed');
    assert.equal(check(DOC_BODY, '1531420618.5', DOC_SIGNATURE), 'malformed');
  });

  it('property: what is signed verifies; any other body, secret or timestamp does not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 2_000_000_000 }), fc.uint8Array({ minLength: 1, maxLength: 300 }), (body, secret, seconds, other) => {
        const headers = signSlackRequest(body, secret, seconds);
        const verify = (b: Uint8Array, s: string) => checkSlackSignature(b, headers['x-slack-request-timestamp'], headers['x-slack-signature'], [Buffer.from(s)], seconds * 1000);
        assert.equal(verify(body, secret), 'valid');
        if (!Buffer.from(other).equals(Buffer.from(body))) assert.equal(verify(other, secret), 'mismatch');
        assert.equal(verify(body, `${secret}x`), 'mismatch');
      }),
    );
  });
});
