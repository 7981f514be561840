import assert from 'node:assert/strict';
import { fakeSlack, deliveredMessages, type FakeSlack } from '../../../functions/local/fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_CHANNEL } from '../../../functions/local/fake-slack-api.js';
import { pressButton } from '../../../functions/local/slack-interactivity.js';
import { checkSlackSignature } from '../../../functions/shared/slack-signature.js';

// The Web API stand-in must answer as Slack documents (fake-slack-api.ts cites the pages),
// or the app mode's tests of Slack's answers prove nothing.
describe('the Slack Web API stand-in answers as Slack documents', () => {
  let slack: FakeSlack;
  const call = async (method: string, args: Record<string, unknown>, { token = LOCAL_SLACK_BOT_TOKEN, get = false }: { token?: string | null; get?: boolean } = {}) => {
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const response = get
      ? await fetch(`${slack.url}/api/${method}?${new URLSearchParams(Object.entries(args).map(([k, v]): [string, string] => [k, String(v)]))}`, { headers: auth })
      : await fetch(`${slack.url}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...auth }, body: JSON.stringify(args) });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), scopes: response.headers.get('x-oauth-scopes'), body: (await response.json()) as Record<string, unknown> };
  };
  const post = (text: string, extra: Record<string, unknown> = {}) => call('chat.postMessage', { channel: LOCAL_SLACK_CHANNEL, text, ...extra });

  before(async () => {
    slack = fakeSlack({
      api: {
        tokens: { [LOCAL_SLACK_BOT_TOKEN]: {}, 'xoxb-only-chat-write-token-for-tests-000': { scopes: ['chat:write'] }, 'xoxb-public-poster-token-for-tests-00000': { scopes: ['chat:write', 'chat:write.public'], botUserId: 'U0OTHER', appId: 'A0OTHER' } },
        channels: [{ id: LOCAL_SLACK_CHANNEL, name: 'data-alerts' }, { id: 'C0NOTIN', name: 'elsewhere', members: ['U0SOMEONE'] }, { id: 'C0ARCHIVED', name: 'old', archived: true }, { id: 'G0PRIVATE', name: 'secret', private: true }],
        userGroups: { S0ONCALL: ['U0ALICE', 'U0BOB'] },
      },
    });
    await slack.start();
  });
  after(() => slack.stop());
  beforeEach(() => slack.reset());

  it('chat.postMessage posts and answers ok, channel, ts and the message', async () => {
    const { status, body } = await post('hello', { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] });
    assert.equal(status, 200);
    assert.equal(body.ok, true);
    assert.equal(body.channel, LOCAL_SLACK_CHANNEL);
    assert.match(String(body.ts), /^\d+\.\d{6}$/);
    assert.equal((body.message as { text: string }).text, 'hello');
    assert.equal(slack.api.channelMessages(LOCAL_SLACK_CHANNEL).length, 1);
    assert.deepEqual(deliveredMessages(slack), [], 'an API post is not an incoming-webhook delivery');
  });

  it('ts values increase, and a thread reply stays out of the channel history', async () => {
    const parent = String((await post('parent')).body.ts);
    const reply = String((await post('reply', { thread_ts: parent })).body.ts);
    assert.ok(Number(reply) > Number(parent));
    const history = await call('conversations.history', { channel: LOCAL_SLACK_CHANNEL }, { get: true });
    assert.deepEqual((history.body.messages as Array<{ ts: string }>).map((m) => m.ts), [parent]);
    const replies = await call('conversations.replies', { channel: LOCAL_SLACK_CHANNEL, ts: parent }, { get: true });
    assert.deepEqual((replies.body.messages as Array<{ ts: string }>).map((m) => m.ts), [parent, reply]);
    assert.equal((await post('x', { thread_ts: '1.000001' })).body.error, 'thread_not_found');
  });

  it('conversations.history: newest first, paged by cursor, bounded by oldest, metadata only with include_all_metadata', async () => {
    const ts: string[] = [];
    for (let i = 0; i < 5; i++) ts.push(String((await post(`m${i}`, { metadata: { event_type: 'postload_message', event_payload: { key: `k${i}` } } })).body.ts));
    const first = await call('conversations.history', { channel: LOCAL_SLACK_CHANNEL, limit: 2 }, { get: true });
    assert.deepEqual((first.body.messages as Array<{ ts: string }>).map((m) => m.ts), [ts[4], ts[3]]);
    assert.equal(first.body.has_more, true);
    assert.equal((first.body.messages as Array<{ metadata?: unknown }>)[0]!.metadata, undefined);
    const cursor = (first.body.response_metadata as { next_cursor: string }).next_cursor;
    const second = await call('conversations.history', { channel: LOCAL_SLACK_CHANNEL, limit: 2, cursor, include_all_metadata: true }, { get: true });
    assert.deepEqual((second.body.messages as Array<{ metadata: { event_payload: { key: string } } }>).map((m) => m.metadata.event_payload.key), ['k2', 'k1']);
    const bounded = await call('conversations.history', { channel: LOCAL_SLACK_CHANNEL, oldest: ts[2]! }, { get: true });
    assert.deepEqual((bounded.body.messages as Array<{ ts: string }>).map((m) => m.ts), [ts[4], ts[3]]);
    const last = await call('conversations.history', { channel: LOCAL_SLACK_CHANNEL, oldest: ts[2]!, inclusive: true }, { get: true });
    assert.equal((last.body.messages as unknown[]).length, 3);
    assert.equal((last.body.response_metadata as { next_cursor: string }).next_cursor, '');
  });

  it('chat.update replaces the message in place; another app may not, and an unknown ts is message_not_found', async () => {
    const ts = String((await post('before')).body.ts);
    const updated = await call('chat.update', { channel: LOCAL_SLACK_CHANNEL, ts, text: 'after', blocks: [] });
    assert.equal(updated.body.ok, true);
    assert.equal(slack.api.channelMessages(LOCAL_SLACK_CHANNEL)[0]!.text, 'after');
    assert.equal(slack.api.channelMessages(LOCAL_SLACK_CHANNEL).length, 1);
    assert.equal((await call('chat.update', { channel: LOCAL_SLACK_CHANNEL, ts, text: 'x' }, { token: 'xoxb-public-poster-token-for-tests-00000' })).body.error, 'cant_update_message');
    assert.equal((await call('chat.update', { channel: LOCAL_SLACK_CHANNEL, ts: '1.000001', text: 'x' })).body.error, 'message_not_found');
  });

  const refusals: Array<[string, () => Promise<{ status: number; body: Record<string, unknown> }>, string]> = [
    ['no token', () => call('chat.postMessage', { channel: LOCAL_SLACK_CHANNEL, text: 'x' }, { token: null }), 'not_authed'],
    ['an unknown token', () => call('chat.postMessage', { channel: LOCAL_SLACK_CHANNEL, text: 'x' }, { token: 'xoxb-revoked' }), 'invalid_auth'],
    ['an unknown channel', () => call('chat.postMessage', { channel: 'C0NOPE', text: 'x' }), 'channel_not_found'],
    ['a channel the app is not in', () => call('chat.postMessage', { channel: 'C0NOTIN', text: 'x' }), 'not_in_channel'],
    ['an archived channel', () => call('chat.postMessage', { channel: 'C0ARCHIVED', text: 'x' }), 'is_archived'],
    ['no text and no blocks', () => call('chat.postMessage', { channel: LOCAL_SLACK_CHANNEL }), 'no_text'],
    ['a text over 40,000 characters', () => post('x'.repeat(40_001)), 'msg_too_long'],
    ['more than 50 blocks', () => post('x', { blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }), 'invalid_blocks'],
    ['a header over 150 characters', () => post('x', { blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] }), 'invalid_blocks'],
    ['metadata without an event_type', () => post('x', { metadata: { event_payload: {} } }), 'invalid_metadata_format'],
    ['history without the history scope', () => call('conversations.history', { channel: LOCAL_SLACK_CHANNEL }, { token: 'xoxb-only-chat-write-token-for-tests-000', get: true }), 'missing_scope'],
    ['history of a channel the app is not in', () => call('conversations.history', { channel: 'C0NOTIN' }, { get: true }), 'not_in_channel'],
    ['an unknown user group', () => call('usergroups.users.list', { usergroup: 'S0NOPE' }, { get: true }), 'no_such_subteam'],
  ];
  for (const [name, request, error] of refusals) {
    it(`${name}: HTTP 200 ok:false ${error}, nothing posted`, async () => {
      const { status, body } = await request();
      assert.equal(status, 200);
      assert.equal(body.ok, false);
      assert.equal(body.error, error);
      assert.equal(slack.api.messages.length, 0);
    });
  }

  it('missing_scope names the scope needed and the scopes provided', async () => {
    const { body } = await call('conversations.history', { channel: 'G0PRIVATE' }, { token: 'xoxb-only-chat-write-token-for-tests-000', get: true });
    assert.deepEqual(body, { ok: false, error: 'missing_scope', needed: 'groups:history', provided: 'chat:write' });
  });

  it('chat:write.public posts in a public channel the app is not in', async () => {
    assert.equal((await call('chat.postMessage', { channel: 'C0NOTIN', text: 'x' }, { token: 'xoxb-public-poster-token-for-tests-00000' })).body.ok, true);
  });

  it('auth.test names the bot and lists its scopes in x-oauth-scopes', async () => {
    const { body, scopes } = await call('auth.test', {});
    assert.equal(body.ok, true);
    assert.equal(body.user_id, 'U0POSTLOAD');
    assert.equal(scopes, 'chat:write,channels:history,groups:history,usergroups:read');
  });

  it('usergroups.users.list lists a group’s members', async () => {
    assert.deepEqual((await call('usergroups.users.list', { usergroup: 'S0ONCALL' }, { get: true })).body.users, ['U0ALICE', 'U0BOB']);
  });

  it('a scripted rate limit: HTTP 429, Retry-After in seconds, error ratelimited; nothing posted', async () => {
    slack.api.script('chat.postMessage', 'ratelimited', { retryAfterSeconds: 7 });
    const limited = await post('x');
    assert.deepEqual({ status: limited.status, retryAfter: limited.retryAfter, body: limited.body }, { status: 429, retryAfter: '7', body: { ok: false, error: 'ratelimited' } });
    assert.equal(slack.api.messages.length, 0);
    assert.equal((await post('x')).body.ok, true);
  });

  it('a scripted internal_error after posting: the message is in the channel though the answer says it failed', async () => {
    slack.api.script('chat.postMessage', 'posted-then-internal_error');
    assert.deepEqual((await post('x')).body, { ok: false, error: 'internal_error' });
    assert.equal(slack.api.channelMessages(LOCAL_SLACK_CHANNEL).length, 1);
  });

  it('a button press is a signed, form-encoded block_actions payload; its response_url takes five answers', async () => {
    const ts = String((await post('alert', { blocks: [{ type: 'actions', block_id: 'b1', elements: [{ type: 'button', action_id: 'postload.test', text: { type: 'plain_text', text: 'Do it' }, value: '{"a":1}' }] }] })).body.ts);
    const seen: Array<{ body: string; headers: Headers }> = [];
    // Any HTTP server will do as the Request URL: this one records what Slack sent.
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        seen.push({ body: Buffer.concat(chunks).toString(), headers: new Headers(req.headers as Record<string, string>) });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address() as { port: number };
      const result = await pressButton(slack, { requestUrl: `http://127.0.0.1:${address.port}/slack/actions`, signingSecret: 'local-signing-secret', channel: LOCAL_SLACK_CHANNEL, ts, actionId: 'postload.test', user: { id: 'U0ALICE', username: 'alice' } });
      assert.equal(result.status, 200);
      const [request] = seen;
      assert.equal(request!.headers.get('content-type'), 'application/x-www-form-urlencoded');
      assert.equal(checkSlackSignature(Buffer.from(request!.body), request!.headers.get('x-slack-request-timestamp') ?? undefined, request!.headers.get('x-slack-signature') ?? undefined, [Buffer.from('local-signing-secret')], Date.now()), 'valid');
      const payload = JSON.parse(new URLSearchParams(request!.body).get('payload')!) as Record<string, unknown>;
      assert.equal(payload.type, 'block_actions');
      assert.deepEqual(payload.container, { type: 'message', message_ts: ts, channel_id: LOCAL_SLACK_CHANNEL, is_ephemeral: false });
      assert.deepEqual((payload.actions as Array<Record<string, unknown>>).map((a) => [a.action_id, a.block_id, a.value, a.type]), [['postload.test', 'b1', '{"a":1}', 'button']]);
      assert.equal((payload.user as { id: string }).id, 'U0ALICE');
      for (let i = 0; i < 5; i++) assert.equal((await fetch(result.responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"ok"}' })).status, 200);
      assert.equal((await fetch(result.responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"ok"}' })).status, 404);
      assert.equal(slack.api.responses.length, 5);
    } finally {
      server.close();
    }
  });
});
