import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fakeSlack, type FakeSlack } from '../../../../functions/local/fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_CHANNEL, type SlackApiFault } from '../../../../functions/local/fake-slack-api.js';
import { deadlineIn, type AttemptRecord } from '../../../../functions/processor/clients/http-retry.js';
import { classify, SlackApiClient, SlackApiError, SlackApiTransientError } from '../../../../functions/processor/clients/slack-api.js';
import { LOOKUP_MAX_PAGES, LOOKUP_PAGE_SIZE, POSTLOAD_METADATA_TYPE, postExactlyOnce, SlackLookupExhaustedError } from '../../../../functions/processor/clients/slack-app.js';
import { classifyError } from '../../../../functions/processor/errors.js';
import { Secret } from '../../../../functions/shared/secrets.js';

// The Web API client against the stand-in over real HTTP: Slack's answers classified as
// transient or permanent, and a message posted exactly once whatever answer is lost.
describe('the Slack Web API client', () => {
  let slack: FakeSlack;
  const policy = { callTimeoutMs: 2000, minDelayMs: 1, maxDelayMs: 5, maxAttempts: 4 };
  const client = (token = LOCAL_SLACK_BOT_TOKEN) => new SlackApiClient({ token: new Secret('SLACK_BOT_TOKEN', token), policy, baseUrl: `${slack.url}/api` });
  const context = () => ({ deadline: deadlineIn(10_000), attempts: [] as AttemptRecord[] });
  const message = (text: string) => ({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  const once = (api: SlackApiClient, key: string, checkFirst = false) =>
    postExactlyOnce(api, LOCAL_SLACK_CHANNEL, message(key), { ...context(), key: { key, kind: 'test' }, checkFirst, since: new Date(Date.now() - 60_000) });
  const withKey = (key: string) => slack.api.channelMessages(LOCAL_SLACK_CHANNEL).filter((m) => m.metadata?.event_payload.key === key);

  before(async () => {
    slack = fakeSlack({ api: { channels: [{ id: LOCAL_SLACK_CHANNEL, name: 'data-alerts' }, { id: 'C0NOTIN', name: 'x', members: [] }] } });
    await slack.start();
  });
  after(() => slack.stop());
  beforeEach(() => slack.reset());

  it('posts with postload metadata naming the message', async () => {
    const posted = await once(client(), 'event-1/slack');
    assert.equal(posted.recovered, false);
    const [stored] = slack.api.channelMessages(LOCAL_SLACK_CHANNEL);
    assert.equal(stored!.ts, posted.ts);
    assert.deepEqual(stored!.metadata, { event_type: POSTLOAD_METADATA_TYPE, event_payload: { key: 'event-1/slack', kind: 'test' } });
  });

  it('permanent refusals are SlackApiErrors naming what to fix; the token never appears', async () => {
    const refusal = await once(client('xoxb-not-a-known-token-but-long-enough'), 'k').catch((e: unknown) => e);
    assert.ok(refusal instanceof SlackApiError);
    assert.equal(refusal.code, 'invalid_auth');
    assert.equal(classifyError(refusal), 'permanent');
    assert.match(refusal.message, /invalid_auth.*Bot User OAuth Token.*SLACK_BOT_TOKEN/);
    assert.doesNotMatch(refusal.message, /xoxb-not-a-known/);
    const outside = await postExactlyOnce(client(), 'C0NOTIN', message('x'), { ...context(), key: { key: 'k', kind: 'test' }, checkFirst: false, since: new Date() }).catch((e: unknown) => e);
    assert.ok(outside instanceof SlackApiError);
    assert.match(outside.message, /not_in_channel.*invite/);
  });

  it('classifies every documented code: rate limits and internal errors transient, internal ones ambiguous', () => {
    const cases: Array<[string, 'transient' | 'permanent', boolean | undefined]> = [
      ['ratelimited', 'transient', false],
      ['service_unavailable', 'transient', false],
      ['internal_error', 'transient', true],
      ['fatal_error', 'transient', true],
      ['channel_not_found', 'permanent', undefined],
      ['not_in_channel', 'permanent', undefined],
      ['invalid_auth', 'permanent', undefined],
      ['token_revoked', 'permanent', undefined],
      ['missing_scope', 'permanent', undefined],
      ['something_new', 'permanent', undefined],
    ];
    for (const [code, kind, ambiguous] of cases) {
      const error = classify('chat.postMessage', code, { needed: 'chat:write' }, 'SLACK_BOT_TOKEN');
      assert.equal(classifyError(error), kind, code);
      if (error instanceof SlackApiTransientError) assert.equal(error.ambiguous, ambiguous, code);
    }
    assert.match(classify('chat.postMessage', 'missing_scope', { needed: 'chat:write' }, 'SLACK_BOT_TOKEN').message, /missing_scope \(chat:write\)/);
  });

  it('a rate limit is waited out as Retry-After says, then posted once, with no lookup', async () => {
    slack.api.script('chat.postMessage', 'ratelimited', { times: 2, retryAfterSeconds: 0 });
    await once(client(), 'k');
    assert.equal(withKey('k').length, 1);
    assert.equal(slack.requests.filter((r) => r.url.startsWith('/api/conversations.history')).length, 0);
  });

  const lost: SlackApiFault[] = ['posted-then-drop', 'posted-then-internal_error'];
  for (const fault of lost) {
    it(`${fault}: the retry finds the message by its metadata and does not post it again`, async () => {
      slack.api.script('chat.postMessage', fault);
      const posted = await once(client(), 'k');
      assert.equal(posted.recovered, true);
      assert.deepEqual(withKey('k').map((m) => m.ts), [posted.ts]);
    });
  }

  it('internal_error before posting: the lookup finds nothing and the message is posted', async () => {
    slack.api.script('chat.postMessage', 'internal_error');
    const posted = await once(client(), 'k');
    assert.equal(posted.recovered, false);
    assert.equal(withKey('k').length, 1);
  });

  it('a later attempt (checkFirst) finds a message an earlier one posted, and posts one that is not there', async () => {
    const first = await once(client(), 'k');
    const again = await once(client(), 'k', true);
    assert.deepEqual(again, { ts: first.ts, recovered: true });
    const fresh = await once(client(), 'other', true);
    assert.equal(fresh.recovered, false);
    assert.equal(slack.api.channelMessages(LOCAL_SLACK_CHANNEL).length, 2);
  });

  it('a thread reply is looked for among the thread’s replies', async () => {
    const parent = await once(client(), 'incident/alert');
    const reply = () => postExactlyOnce(client(), LOCAL_SLACK_CHANNEL, message('reminder'), { ...context(), key: { key: 'incident/reminder:1', kind: 'reminder' }, threadTs: parent.ts, checkFirst: true, since: new Date(Date.now() - 1000) });
    const first = await reply();
    const second = await reply();
    assert.deepEqual(second, { ts: first.ts, recovered: true });
    assert.equal(slack.api.threadReplies(LOCAL_SLACK_CHANNEL, parent.ts).length, 1);
  });

  it(`the lookup reads at most ${LOOKUP_MAX_PAGES} pages: beyond that it cannot tell, and says so instead of posting`, async () => {
    const api = client();
    for (let i = 0; i < LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE + 1; i++) slack.api.addPersonMessage(LOCAL_SLACK_CHANNEL, `chatter ${i}`);
    const error = await once(api, 'k', true).catch((e: unknown) => e);
    assert.ok(error instanceof SlackLookupExhaustedError, String(error));
    assert.equal(withKey('k').length, 0);
    assert.equal(slack.requests.filter((r) => r.url.startsWith('/api/conversations.history')).length, LOOKUP_MAX_PAGES);
  });

  it('property: whatever answers are lost and however often a delivery retries, each message is in the channel once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ faults: fc.array(fc.constantFrom<SlackApiFault>('ratelimited', 'internal_error', 'posted-then-drop', 'posted-then-internal_error'), { maxLength: 3 }), deliveries: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 4 }),
        async (messages) => {
          slack.reset();
          const api = client();
          for (const [i, m] of messages.entries()) {
            for (const fault of m.faults) slack.api.script('chat.postMessage', fault, { retryAfterSeconds: 0 });
            // Each delivery after the first is a redelivery that could not record the first's outcome.
            for (let d = 0; d < m.deliveries; d++) await once(api, `key-${i}`, d > 0).catch(() => undefined);
            // The policy allows four tries: with three faults at most, the message is always out.
            assert.equal(withKey(`key-${i}`).length, 1, `key-${i} with ${m.faults.join(', ') || 'no fault'}, ${m.deliveries} deliveries`);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
