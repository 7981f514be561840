import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { checkFivetranSignature } from '../../../functions/ingest/fivetran/signature.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { CloudContext } from '../../../functions/cli/context.js';
import { EXIT } from '../../../functions/cli/errors.js';
import { Output } from '../../../functions/cli/output.js';
import { literalSecretWarning, redactUrl, send, signRequest } from '../../../functions/cli/send.js';
import { fakeSecretManager, type FakeSecretManager } from '../../../functions/local/fake-secret-manager.js';
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

/** A routing file that starts nothing: a real event may be sent once it is planned. */
const NO_ROUTES = '{"version":1,"routes":[]}';

describe('cli/send: --secret sm://NAME is read from Secret Manager, never typed (issue 25, finding 11)', () => {
  const NAME = 'postload-fivetran-webhook-secret';
  const VALUE = 'the-fivetran-secret-as-secret-manager-holds-it';
  let secrets: FakeSecretManager;
  let server: Server;
  let url: string;
  let received: Array<{ body: string; signature: string | undefined }>;

  before(async () => {
    secrets = fakeSecretManager();
    await secrets.start();
    // The ingest function's answer to a webhook it published (handler.ts): 202 with the event id.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ body, signature: req.headers['x-fivetran-signature-256'] as string | undefined });
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5', type: 'test' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fivetran`;
  });
  after(async () => {
    await secrets.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    received = [];
    secrets.reset();
  });

  /** The CLI's context for a deployment: its project, and Secret Manager at the stand-in (as the environment says). */
  function context(): CloudContext {
    return { env: { SECRET_MANAGER_EMULATOR_HOST: secrets.host }, localStack: undefined, auditCollection: 'syncEvents', emulated: false, ready: async () => {}, project: async () => 'my-data-platform' } as unknown as CloudContext;
  }

  function capture() {
    const text = { stdout: '', stderr: '' };
    const sink = (key: 'stdout' | 'stderr') => new Writable({ write: (chunk, _e, done) => ((text[key] += String(chunk)), done()) });
    return { text, out: new Output({ stdout: sink('stdout'), stderr: sink('stderr'), env: {} }, { json: false }) };
  }

  it('signs with the newest enabled version of the secret, without a warning, and never prints the value', async () => {
    const resource = `projects/my-data-platform/secrets/${NAME}`;
    secrets.createSecret(resource);
    secrets.addVersion(resource, 'an-older-value-of-the-secret');
    secrets.addVersion(resource, VALUE);
    const { text, out } = capture();
    await send('fivetran', { url, secret: `sm://${NAME}`, test: true, wait: false, timeoutSeconds: 5 }, context(), out);
    assert.equal(received.length, 1);
    assert.equal(checkFivetranSignature(Buffer.from(received[0]!.body), received[0]!.signature, [Buffer.from(VALUE)]), 'valid');
    assert.doesNotMatch(text.stderr, /warning/);
    assert.ok(!text.stdout.includes(VALUE) && !text.stderr.includes(VALUE));
  });

  it('a reference Secret Manager cannot answer stops before anything is sent, naming the setting', async () => {
    const { out } = capture();
    await assert.rejects(
      send('fivetran', { url, secret: 'sm://no-such-secret', test: true, wait: false, timeoutSeconds: 5 }, context(), out),
      (e: Error & { fix: string }) => /FIVETRAN_WEBHOOK_SECRET/.test(e.message) && /gcloud secrets versions access/.test(e.fix),
    );
    assert.equal(received.length, 0);
  });
});

describe('cli/send: an accepted webhook is never hidden', () => {
  let server: Server;
  let url: string;
  let bodies: string[];

  before(async () => {
    bodies = [];
    // The ingest function's answer to a webhook it published (handler.ts): 202 with the event id.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'e44cfe98aa0011223344556677889900', type: 'sync.succeeded' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fivetran`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** A context whose Firestore fails once asked (an emulator gone, a permission missing). */
  function failingContext(failure: Error): CloudContext {
    return {
      env: {},
      localStack: undefined,
      auditCollection: 'syncEvents',
      emulated: true,
      ready: async () => {},
      project: async () => 'postload-local',
      firestore: async () => {
        throw failure;
      },
    } as unknown as CloudContext;
  }

  function capture(json = false) {
    const text = { stdout: '', stderr: '' };
    const sink = (key: 'stdout' | 'stderr') => new Writable({ write: (chunk, _e, done) => ((text[key] += String(chunk)), done()) });
    return { text, out: new Output({ stdout: sink('stdout'), stderr: sink('stderr'), env: {} }, { json }) };
  }

  it('following fails: the answer and the id are printed first, then "accepted as <id>; could not follow it", exit 5', async () => {
    const { text, out } = capture();
    // A development value: a real secret typed here would add the --secret warning to stderr.
    const code = await send('fivetran', { url, secret: DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET, event: 'sync_end', routing: NO_ROUTES, wait: true, timeoutSeconds: 5 }, failingContext(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 })), out);
    assert.equal(code, EXIT.notFollowed);
    assert.equal(code, 5);
    assert.equal(bodies.length, 1, 'sent once');
    assert.match(text.stdout, /^✔ fivetran sync_end SUCCESSFUL \(connector \S+\) → http:\/\/127\.0\.0\.1:\d+\/fivetran: 202 \{"id":"e44cfe98aa0011223344556677889900"/m);
    assert.match(text.stderr, /^postload: accepted as e44cfe98aa0011223344556677889900; could not follow it: .*did not answer.*\n  fix: .*follow it with: postload event e44cfe98aa0011223344556677889900\n$/);
  });

  it('with --json: one document that has the answer and why following failed', async () => {
    const { text, out } = capture(true);
    const code = await send('fivetran', { url, secret: 's', test: true, wait: false, timeoutSeconds: 5 }, failingContext(new Error('Could not load the default credentials')), out);
    assert.equal(code, 5);
    const result = JSON.parse(text.stdout) as { status: number; answer: { id: string }; event: null; followError: string };
    assert.deepEqual([result.status, result.answer.id, result.event], [202, 'e44cfe98aa0011223344556677889900', null]);
    assert.match(result.followError, /no Google Cloud credentials/);
  });

  it('refuses a URL of another vendor\'s endpoint before sending (the answer would blame the wrong secret)', async () => {
    const { out } = capture();
    const before = bodies.length;
    await assert.rejects(
      send('fivetran', { url: url.replace(/fivetran$/, 'airbyte'), secret: 's', test: true, wait: false, timeoutSeconds: 5 }, failingContext(new Error('unused')), out),
      (e: Error & { fix: string; exitCode: number }) => /--url ends in \/airbyte, the airbyte endpoint, but this is a fivetran webhook/.test(e.message) && /\/fivetran/.test(e.fix) && e.exitCode === 2,
    );
    assert.equal(bodies.length, before);
  });

  it('no --url and no local stack: a usage error naming npm start and the Terraform output', async () => {
    const { out } = capture();
    await assert.rejects(send('airbyte', { secret: 's', test: true, wait: false, timeoutSeconds: 5 }, failingContext(new Error('unused')), out), (e: Error & { fix: string }) => /npm start/.test(e.fix) && /terraform output -raw airbyte_webhook_url/.test(e.fix));
  });
});
