import assert from 'node:assert/strict';
import { deliveredMessages, fakeSlack } from '../../../functions/local/fake-slack.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';

// The stand-in must answer as Slack documents it (api.slack.com/messaging/webhooks),
// or the processor's tests of Slack's answers prove nothing.
describe('the Slack stand-in answers as Slack incoming webhooks do', () => {
  let slack: RecordingServer;
  const post = async (body: string, path = '/services/T0/B0/secret') => {
    const response = await fetch(`${slack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, body: await response.text(), retryAfter: response.headers.get('retry-after'), type: response.headers.get('content-type')?.split(';')[0] };
  };
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

  before(async () => {
    slack = fakeSlack();
    await slack.start();
  });
  after(() => slack.stop());
  beforeEach(() => slack.reset());

  it('posts a message with text and blocks: 200 ok, and it is delivered', async () => {
    const message = { text: 'done', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Sync' } }, section('x'.repeat(3000))] };
    assert.deepEqual(await post(JSON.stringify(message)), { status: 200, body: 'ok', retryAfter: null, type: 'text/plain' });
    assert.deepEqual(deliveredMessages(slack), [message]);
  });

  const invalid: Array<[string, string]> = [
    ['a body that is not JSON', 'text=hello'],
    ['a JSON body that is not an object', '["hello"]'],
    ['no text and no blocks', '{}'],
    ['a text that is not a string', '{"text":5}'],
    ['a text over 40,000 characters', JSON.stringify({ text: 'x'.repeat(40_001) })],
    ['more than 50 blocks', JSON.stringify({ text: 't', blocks: Array.from({ length: 51 }, () => section('s')) })],
    ['a section text over 3,000 characters', JSON.stringify({ text: 't', blocks: [section('x'.repeat(3001))] })],
    ['a header over 150 characters', JSON.stringify({ text: 't', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] })],
  ];
  for (const [name, body] of invalid) {
    it(`${name}: 400 invalid_payload (plain text), not delivered`, async () => {
      assert.deepEqual(await post(body), { status: 400, body: 'invalid_payload', retryAfter: null, type: 'text/plain' });
      assert.deepEqual(deliveredMessages(slack), []);
    });
  }

  it('a URL that is no webhook: 404 no_service', async () => {
    assert.deepEqual(await post('{"text":"t"}', '/services/T0/secret'), { status: 404, body: 'no_service', retryAfter: null, type: 'text/plain' });
  });

  it('scripted rate limit: 429 with Retry-After in seconds, then the next message is posted', async () => {
    slack.script({ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' });
    assert.deepEqual(await post('{"text":"t"}'), { status: 429, body: 'rate_limited', retryAfter: '1', type: 'text/plain' });
    assert.deepEqual(await post('{"text":"t"}'), { status: 200, body: 'ok', retryAfter: null, type: 'text/plain' });
    assert.equal(deliveredMessages(slack).length, 1);
  });
});
