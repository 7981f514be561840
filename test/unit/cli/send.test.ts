import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { checkFivetranSignature } from '../../../functions/ingest/fivetran/signature.js';
import { literalSecretWarning, redactUrl, signRequest } from '../../../functions/cli/send.js';
import { DEVELOPMENT_SECRETS } from '../../../functions/local/local-settings.js';

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

describe('cli/send: a secret typed on the command line is warned about (issue 25, finding 11)', () => {
  it('warns when --secret is the secret itself, naming the better ways, never the value', () => {
    const warning = literalSecretWarning('fivetran', 's3cr3t-value-0123456789', null);
    assert.ok(warning);
    assert.match(warning, /shell history/);
    assert.match(warning, /sm:\/\/NAME/);
    assert.match(warning, /FIVETRAN_WEBHOOK_SECRET/);
    assert.ok(!warning.includes('s3cr3t'));
  });

  it('warns when an Airbyte URL carries its token and no --secret is given', () => {
    assert.match(literalSecretWarning('airbyte', undefined, 'tok-0123456789') ?? '', /--url carries the Airbyte token itself.*AIRBYTE_WEBHOOK_TOKEN/);
  });

  it('does not warn for an sm:// reference, for the environment, or for the local stack\'s public development values', () => {
    assert.equal(literalSecretWarning('fivetran', 'sm://postload-fivetran-webhook-secret', null), undefined);
    assert.equal(literalSecretWarning('dbt-cloud', ' sm://projects/p/secrets/s ', null), undefined);
    assert.equal(literalSecretWarning('fivetran', undefined, null), undefined, 'from FIVETRAN_WEBHOOK_SECRET');
    assert.equal(literalSecretWarning('fivetran', DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET, null), undefined);
    assert.equal(literalSecretWarning('airbyte', undefined, DEVELOPMENT_SECRETS.AIRBYTE_WEBHOOK_TOKEN), undefined);
  });
});
