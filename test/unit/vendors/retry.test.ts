import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { RecordingServer } from '../../../functions/local/recording-server.js';
import { requestJson } from '../../../functions/vendors/request.js';
import { withRetries, type RetryPolicy } from '../../../functions/vendors/retry.js';
import { VendorApiError } from '../../../functions/vendors/vendor-error.js';

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

// The policy's guarantees over any sequence of answers, on a fake clock that moves only when
// it is waited on (so the deadline is exact): fast-check, no server.
describe('the retry policy, for any sequence of answers', () => {
  type Answer = { kind: 'ok' } | { kind: 'rate-limited'; retryAfterMs?: number } | { kind: 'unavailable' } | { kind: 'refused' } | { kind: 'garbage' };
  const answer: fc.Arbitrary<Answer> = fc.oneof(
    fc.constant<Answer>({ kind: 'ok' }),
    fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }).map((ms): Answer => (ms === undefined ? { kind: 'rate-limited' } : { kind: 'rate-limited', retryAfterMs: ms })),
    fc.constant<Answer>({ kind: 'unavailable' }),
    fc.constant<Answer>({ kind: 'refused' }),
    fc.constant<Answer>({ kind: 'garbage' }),
  );

  it('never sends more than `attempts` requests, never sends a write again after it was unavailable, re-sends only after a 429 or an unavailable GET, waits what the vendor asked (else the doubling backoff), never longer than maxWaitMs or the deadline, and ends with the last answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(answer, { minLength: 1, maxLength: 8 }),
        fc.constantFrom<'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'>('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 200_000 }),
        async (answers, method, attempts, budgetMs) => {
          let now = 0;
          const waits: number[] = [];
          const seen: Answer[] = [];
          const policy: RetryPolicy = { attempts, maxWaitMs: 60_000, backoffMs: 1_000, sleep: async (ms) => void (waits.push(ms), (now += ms)) };
          const deadline = deadlineIn(budgetMs, () => now);
          const once = async () => {
            const next = answers[Math.min(seen.length, answers.length - 1)]!;
            seen.push(next);
            if (next.kind === 'ok') return { status: 200, json: { ok: true } };
            throw new VendorApiError('dbt-cloud', next.kind, next.kind, { ...(next.kind === 'rate-limited' && next.retryAfterMs !== undefined ? { retryAfterMs: next.retryAfterMs } : {}) });
          };
          const outcome = await withRetries({ method, url: 'http://vendor.invalid/x', headers: {}, label: 'x' }, { vendor: 'dbt-cloud', timeoutMs: 1_000, deadline }, policy, once).then(
            () => 'ok',
            (error: unknown) => (error as VendorApiError).failure,
          );
          assert.ok(seen.length <= attempts);
          assert.equal(outcome, seen.at(-1)!.kind, 'the last answer is what the caller gets');
          assert.equal(waits.length, seen.length - 1, 'one wait before each request sent again');
          seen.slice(0, -1).forEach((earlier, i) => {
            assert.ok(earlier.kind === 'rate-limited' || (earlier.kind === 'unavailable' && method === 'GET'), `re-sent after ${earlier.kind} (${method})`);
            const expected = earlier.kind === 'rate-limited' && earlier.retryAfterMs !== undefined ? earlier.retryAfterMs : 1_000 * 2 ** i;
            assert.equal(waits[i], expected);
            assert.ok(waits[i]! <= policy.maxWaitMs);
          });
          assert.ok(now < budgetMs || waits.length === 0, 'no wait runs past the deadline');
          // It stopped for a reason: success, a final kind of answer, no attempts left, or a wait it may not make.
          const last = seen.at(-1)!;
          if (last.kind === 'rate-limited' || (last.kind === 'unavailable' && method === 'GET')) {
            const wouldWait = last.kind === 'rate-limited' && last.retryAfterMs !== undefined ? last.retryAfterMs : 1_000 * 2 ** (seen.length - 1);
            assert.ok(seen.length === attempts || wouldWait > policy.maxWaitMs || wouldWait >= budgetMs - now, 'gave up only when it had to');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
