import assert from 'node:assert/strict';
import { fakeHttpReceiver, type FakeHttpReceiver } from '../../../../functions/local/fake-http-receiver.js';
import { HttpTargetClient, type HttpCall } from '../../../../functions/processor/clients/http-target.js';
import { deadlineIn, type AttemptRecord } from '../../../../functions/processor/clients/http-retry.js';
import { PermanentError, TransientError } from '../../../../functions/processor/errors.js';
import { signingKey } from '../../../../functions/shared/standard-webhooks.js';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const policy = { callTimeoutMs: 2000, minDelayMs: 0, maxDelayMs: 0, maxAttempts: 4 };

describe('processor/clients/http-target against a Standard Webhooks receiver', () => {
  let receiver: FakeHttpReceiver;
  let call: HttpCall;
  const client = new HttpTargetClient({ policy });
  const options = (attempts: AttemptRecord[] = []) => ({ deadline: deadlineIn(10_000), attempts });

  beforeEach(async () => {
    receiver = fakeHttpReceiver({ secret: SECRET });
    await receiver.start();
    call = { label: 'HTTP target refresh', url: `${receiver.url}/refresh`, method: 'POST', headers: { 'x-team': 'data' }, body: JSON.stringify({ dataset: 'stripe' }), idempotencyKey: 'evt.http-1', signingKey: signingKey(SECRET) as Buffer };
  });
  afterEach(() => receiver.stop());

  it('sends a call the receiver verifies, with the Idempotency-Key and webhook-id of the action', async () => {
    const result = await client.call(call, options());
    assert.equal(result.status, 202);
    assert.equal(receiver.effects.length, 1);
    const request = receiver.requests[0]!;
    assert.equal(request.headers['idempotency-key'], 'evt.http-1');
    assert.equal(request.headers['webhook-id'], 'evt.http-1');
    assert.equal(request.headers['x-team'], 'data');
    assert.deepEqual(receiver.effects[0]!.body, { dataset: 'stripe' });
  });

  it('a wrong secret is refused by the receiver (401, permanent)', async () => {
    const wrong = { ...call, signingKey: signingKey(`whsec_${Buffer.alloc(32, 1).toString('base64')}`) as Buffer };
    await assert.rejects(client.call(wrong, options()), (e: unknown) => e instanceof PermanentError && e.status === 401);
    assert.equal(receiver.effects.length, 0);
    assert.equal(receiver.refused[0]!.verdict, 'mismatch');
  });

  it('retries 5xx and 429 (honouring Retry-After) with a fresh signature each time and one effect', async () => {
    receiver.rateLimit(1, 0);
    receiver.failCalls({ status: 503, body: 'down' });
    const attempts: AttemptRecord[] = [];
    await client.call(call, options(attempts));
    assert.deepEqual(attempts.map((a) => a.status), [429, 503, 202]);
    assert.equal(receiver.effects.length, 1);
    assert.equal(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size, 1);
  });

  it('a lost answer: the retry carries the same key, the receiver answers it from its first, one effect', async () => {
    receiver.failCalls('lost');
    const result = await client.call(call, options());
    assert.equal(result.status, 202);
    assert.equal(receiver.effects.length, 1);
    assert.equal(receiver.requests.length, 2);
  });

  it('a redelivery (a second call of the same action) is one effect', async () => {
    await client.call(call, options());
    await client.call(call, options());
    assert.equal(receiver.effects.length, 1);
  });

  it('5xx until the retries run out is transient; a 4xx is permanent with the receiver\'s words', async () => {
    for (let i = 0; i < 6; i++) receiver.script({ status: 500, body: 'boom' });
    await assert.rejects(client.call(call, options()), TransientError);
    receiver.reset();
    receiver.failCalls({ status: 422, body: { error: 'unknown dataset' } });
    await assert.rejects(client.call(call, options()), (e: unknown) => e instanceof PermanentError && /unknown dataset/.test(e.message));
  });

  it('a stale timestamp is refused by the receiver', async () => {
    const late = new HttpTargetClient({ policy, nowSeconds: () => Math.floor(Date.now() / 1000) - 600 });
    await assert.rejects(late.call(call, options()), PermanentError);
    assert.equal(receiver.refused[0]!.verdict, 'stale');
  });
});
