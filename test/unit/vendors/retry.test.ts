import assert from 'node:assert/strict';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { RecordingServer } from '../../../functions/local/recording-server.js';
import { requestJson } from '../../../functions/vendors/request.js';
import type { RetryPolicy } from '../../../functions/vendors/retry.js';

// Retries are for `postload connect` (a person waits); the sweep asks for none.
describe('vendor requests with a retry policy', () => {
  let server: RecordingServer;
  let waits: number[];
  const policy = (): RetryPolicy => ({ attempts: 4, maxWaitMs: 60_000, backoffMs: 1_000, sleep: async (ms) => void waits.push(ms) });
  const call = (method: 'GET' | 'POST', retry?: RetryPolicy) =>
    requestJson({ method, url: `${server.url}/x`, headers: {}, label: `${method} /x` }, { vendor: 'fivetran', timeoutMs: 2_000, deadline: deadlineIn(600_000), ...(retry ? { retry } : {}) });

  beforeEach(async () => {
    waits = [];
    server = new RecordingServer('vendor', () => ({ status: 200, body: { ok: true } }));
    await server.start();
  });
  afterEach(() => server.stop());

  it('a 429 waits its Retry-After (or the backoff) and is sent again, a POST too: it was not carried out', async () => {
    server.script({ status: 429, headers: { 'retry-after': '42' } }, { status: 429 });
    assert.deepEqual((await call('POST', policy())).json, { ok: true });
    assert.deepEqual(waits, [42_000, 2_000]);
    assert.equal(server.requests.length, 3);
  });

  it('an unavailable GET is retried with backoff; an unavailable POST is not (it may have been carried out)', async () => {
    server.script({ status: 503 }, { status: 502 });
    assert.deepEqual((await call('GET', policy())).json, { ok: true });
    assert.deepEqual(waits, [1_000, 2_000]);
    server.script({ status: 503 });
    await assert.rejects(call('POST', policy()), /HTTP 503/);
    assert.equal(server.requests.length, 4);
  });

  it('no policy, no retry (the sweep); a wait longer than the policy allows is not waited for', async () => {
    server.script({ status: 429, headers: { 'retry-after': '1' } });
    await assert.rejects(call('GET'), /HTTP 429/);
    server.script({ status: 429, headers: { 'retry-after': '3600' } });
    await assert.rejects(call('GET', policy()), /retry after 3600 s/);
    assert.deepEqual(waits, []);
  });
});
