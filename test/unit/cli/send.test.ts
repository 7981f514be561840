import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { checkFivetranSignature } from '../../../functions/ingest/fivetran/signature.js';
import { redactUrl, signRequest } from '../../../functions/cli/send.js';

describe('cli/send: authenticates as each vendor does', () => {
  it('Fivetran: X-Fivetran-Signature-256 that the ingest function accepts, over exactly the bytes sent', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (body, secret) => {
        const request = signRequest('fivetran', 'http://127.0.0.1:1/fivetran', body, secret);
        assert.equal(request.body, body);
        assert.equal(checkFivetranSignature(Buffer.from(body), request.headers['X-Fivetran-Signature-256'], [Buffer.from(secret)]), 'valid');
        assert.notEqual(checkFivetranSignature(Buffer.from(`${body} `), request.headers['X-Fivetran-Signature-256'], [Buffer.from(secret)]), 'valid');
      }),
      { seed: 16, numRuns: 100 },
    );
  });

  it('dbt Cloud: Authorization is the lowercase hex HMAC-SHA256 of the body, no prefix', () => {
    const body = '{"eventId":"wev_1"}';
    const request = signRequest('dbt-cloud', 'http://127.0.0.1:1/dbt-cloud', body, 'whsec');
    assert.equal(request.headers.authorization, createHmac('sha256', 'whsec').update(body).digest('hex'));
    assert.match(request.headers.authorization!, /^[0-9a-f]{64}$/);
  });

  it('Airbyte: the token rides in the URL (encoded), never in a header; printed URLs mask it', () => {
    const request = signRequest('airbyte', 'https://ingest.example/airbyte?x=1', '{}', 'a&b=c');
    const url = new URL(request.url);
    assert.equal(url.searchParams.get('token'), 'a&b=c');
    assert.equal(url.searchParams.get('x'), '1');
    assert.deepEqual(Object.keys(request.headers), ['content-type']);
    assert.ok(!redactUrl(request.url).includes('a%26b'));
    assert.match(redactUrl(request.url), /token=…/);
  });
});
