import assert from 'node:assert/strict';
import sinon from 'sinon';
import { deadlineIn, parseRetryAfter, RetryableRequestError, send, withinDeadline, type FetchLike, type AttemptRecord } from '../../../../functions/processor/clients/http-retry.js';
import { TransientError } from '../../../../functions/processor/errors.js';

const policy = { callTimeoutMs: 1000, minDelayMs: 100, maxDelayMs: 1000, maxAttempts: 4 };

function reply(status: number, headers: Record<string, string> = {}, body = '') {
  return { status, headers: { get: (name: string) => headers[name.toLowerCase()] ?? null }, text: async () => body };
}

/** A fetch stub answering from a list; 'hang' never answers until aborted. */
function scripted(...answers: Array<ReturnType<typeof reply> | 'hang' | Error>) {
  const calls: number[] = [];
  const fetch: FetchLike = (_url, init) => {
    calls.push(Date.now());
    const answer = answers.shift() ?? reply(200);
    if (answer === 'hang') {
      return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));
    }
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return { fetch, calls };
}

describe('processor/http-retry', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_750_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => {
    clock.restore();
    sinon.restore();
  });

  const request = { method: 'POST' as const, url: 'https://hooks.slack.com/services/T0/B0/SECRET', body: '{}' };

  it('returns a 2xx at once', async () => {
    const { fetch, calls } = scripted(reply(200, {}, 'ok'));
    const response = await send(request, { system: 'Slack', label: 'Slack', policy, deadline: deadlineIn(10_000), fetch });
    assert.equal(response.status, 200);
    assert.equal(calls.length, 1);
  });

  it('returns a 4xx without retrying (the caller decides it is permanent)', async () => {
    const { fetch, calls } = scripted(reply(404, {}, 'channel_not_found'));
    const response = await send(request, { system: 'Slack', label: 'Slack', policy, deadline: deadlineIn(10_000), fetch });
    assert.equal(response.status, 404);
    assert.equal(calls.length, 1);
  });

  it('retries 5xx with exponential backoff and jitter, then succeeds', async () => {
    sinon.stub(Math, 'random').returns(0); // jitter factor 1: waits of exactly 100, 200 ms
    const { fetch, calls } = scripted(reply(500), reply(503), reply(200));
    const attempts: AttemptRecord[] = [];
    const done = send(request, { system: 'Slack', label: 'Slack', policy, deadline: deadlineIn(10_000), fetch, attempts });
    await clock.tickAsync(99);
    assert.equal(calls.length, 1);
    await clock.tickAsync(1);
    assert.equal(calls.length, 2);
    await clock.tickAsync(199);
    assert.equal(calls.length, 2);
    await clock.tickAsync(1);
    assert.equal((await done).status, 200);
    assert.deepEqual(attempts.map((a) => a.status), [500, 503, 200]);
  });

  it('stretches backoff by a random factor up to 2 (jitter)', async () => {
    sinon.stub(Math, 'random').returns(0.999);
    const { fetch, calls } = scripted(reply(502), reply(200));
    const done = send(request, { system: 'Slack', label: 'Slack', policy, deadline: deadlineIn(10_000), fetch });
    await clock.tickAsync(150);
    assert.equal(calls.length, 1, 'jittered wait is longer than the base 100 ms');
    await clock.tickAsync(60);
    assert.equal(calls.length, 2);
    await done;
  });

  it('honours Retry-After on 429 instead of the backoff, without spending an attempt', async () => {
    const { fetch, calls } = scripted(reply(429, { 'retry-after': '3' }), reply(429, { 'retry-after': '3' }), reply(429, { 'retry-after': '3' }), reply(429, { 'retry-after': '1' }), reply(200));
    const done = send(request, { system: 'Slack', label: 'Slack', policy, deadline: deadlineIn(60_000), fetch });
    await clock.tickAsync(2_999);
    assert.equal(calls.length, 1, 'no request before Retry-After elapsed');
    await clock.tickAsync(1);
    assert.equal(calls.length, 2);
    await clock.tickAsync(7_000);
    assert.equal((await done).status, 200);
    assert.equal(calls.length, 5, 'four 429s with Retry-After did not use up the four attempts');
  });

  it('gives up at once as transient when Retry-After is longer than the budget left', async () => {
    const { fetch, calls } = scripted(reply(429, { 'retry-after': '120' }));
    await assert.rejects(send(request, { system: 'dbt Cloud', label: 'dbt Cloud job 7', policy, deadline: deadlineIn(30_000), fetch }), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.status, 429);
      assert.equal(error.retryAfterMs, 120_000);
      return true;
    });
    assert.equal(calls.length, 1);
  });

  it('throws a TransientError after the last attempt', async () => {
    const { fetch, calls } = scripted(reply(500), reply(500), reply(500), reply(500), reply(500));
    const done = send(request, { system: 'dbt Cloud', label: 'dbt Cloud job 7', policy, deadline: deadlineIn(60_000), fetch });
    const outcome = assert.rejects(done, (error: unknown) => error instanceof RetryableRequestError && error.status === 500 && /dbt Cloud job 7: HTTP 500/.test(error.message));
    await clock.tickAsync(10_000);
    await outcome;
    assert.equal(calls.length, policy.maxAttempts);
  });

  // The error text is recorded and may reach Slack: a cut inside a surrogate pair would
  // leave invalid UTF-8 there.
  it('quotes the start of an error body without cutting a surrogate pair in half', async () => {
    for (const prefix of ['x', 'xy']) {
      const body = `${prefix}${'😀'.repeat(200)}`;
      const { fetch } = scripted(...Array.from({ length: policy.maxAttempts }, () => reply(500, {}, body)));
      const done = send(request, { system: 'dbt Cloud', label: 'dbt Cloud job 7', policy, deadline: deadlineIn(60_000), fetch });
      const outcome = assert.rejects(done, (error: unknown) => error instanceof RetryableRequestError && error.message.includes(prefix) && !/\p{Cs}/u.test(error.message));
      await clock.tickAsync(10_000);
      await outcome;
    }
  });

  it('stops retrying when the budget runs out, however many attempts are left', async () => {
    sinon.stub(Math, 'random').returns(0);
    const { fetch, calls } = scripted(reply(503), reply(503), reply(503), reply(503));
    const done = send(request, { system: 'Slack', label: 'Slack', policy: { ...policy, maxAttempts: 10 }, deadline: deadlineIn(250), fetch });
    const outcome = assert.rejects(done, TransientError);
    await clock.tickAsync(1_000);
    await outcome;
    assert.ok(calls.length <= 3, `made ${calls.length} requests in a 250 ms budget`);
  });

  it('times out a request that hangs and retries it', async () => {
    const { fetch, calls } = scripted('hang', reply(200));
    const attempts: AttemptRecord[] = [];
    const done = send(request, { system: 'Slack', label: 'Slack', policy, deadline: deadlineIn(10_000), fetch, attempts });
    await clock.tickAsync(1_000 + 200);
    assert.equal((await done).status, 200);
    assert.equal(calls.length, 2);
    assert.match(attempts[0]?.error ?? '', /timed out after 1000 ms/);
  });

  it('cuts the request timeout to the budget left', async () => {
    const { fetch } = scripted('hang');
    const attempts: AttemptRecord[] = [];
    const done = send(request, { system: 'Slack', label: 'Slack', policy: { ...policy, maxAttempts: 1 }, deadline: deadlineIn(300), fetch, attempts });
    const outcome = assert.rejects(done, TransientError);
    await clock.tickAsync(300);
    await outcome;
    assert.match(attempts[0]?.error ?? '', /timed out after 300 ms/);
  });

  it('retries network errors and never repeats their message, which names the secret URL', async () => {
    const leak = Object.assign(new Error(`request to ${request.url} failed, reason: connect ECONNREFUSED`), { code: 'ECONNREFUSED', name: 'FetchError' });
    const { fetch } = scripted(leak, leak, leak, leak);
    const attempts: AttemptRecord[] = [];
    const done = send(request, { system: 'Slack', label: 'Slack webhook SLACK_WEBHOOK_URL', policy, deadline: deadlineIn(60_000), fetch, attempts });
    const outcome = assert.rejects(done, (error: Error) => {
      assert.doesNotMatch(error.message, /SECRET|hooks\.slack\.com/);
      assert.match(error.message, /Slack webhook SLACK_WEBHOOK_URL: network error \(ECONNREFUSED\)/);
      return true;
    });
    await clock.tickAsync(10_000);
    await outcome;
    assert.equal(attempts.length, 4);
    assert.doesNotMatch(JSON.stringify(attempts), /SECRET/);
  });

  describe('parseRetryAfter', () => {
    const now = Date.parse('2026-05-22T00:00:00Z');
    const table: Array<[string | null, number | undefined]> = [
      [null, undefined],
      ['', undefined],
      ['5', 5000],
      ['0', 0],
      ['1.5', 1500],
      ['Fri, 22 May 2026 00:00:30 GMT', 30_000],
      ['Thu, 21 May 2026 23:00:00 GMT', 0],
      ['soon', undefined],
    ];
    for (const [value, expected] of table) {
      it(`${JSON.stringify(value)} → ${expected}`, () => assert.equal(parseRetryAfter(value, now), expected));
    }
  });
});

describe('processor/http-retry withinDeadline', () => {
  it('withinDeadline: a Secret Manager read slower than the deadline is given up as transient', async () => {
    const never = new Promise<string>(() => undefined);
    await assert.rejects(withinDeadline(never, deadlineIn(30), 'read DBT_CLOUD_API_TOKEN'), (error: unknown) => error instanceof TransientError && error.system === 'Secret Manager' && /read DBT_CLOUD_API_TOKEN/.test(error.message));
    assert.equal(await withinDeadline(Promise.resolve('v'), deadlineIn(30), 'read'), 'v');
  });
});
