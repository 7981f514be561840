import assert from 'node:assert/strict';
import { PermanentError, TransientError } from '../../../../functions/processor/errors.js';
import { deadlineIn, type FetchLike } from '../../../../functions/processor/clients/http-retry.js';
import { SlackClient } from '../../../../functions/processor/clients/slack.js';
import { Secret } from '../../../../functions/shared/secrets.js';

const URL_SECRET = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
const policy = { callTimeoutMs: 1000, minDelayMs: 0, maxDelayMs: 0, maxAttempts: 2 };

function answering(status: number, body: string): { fetch: FetchLike; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: async (url) => {
      urls.push(url);
      return { status, headers: { get: () => null }, text: async () => body };
    },
  };
}

describe('processor/slack', () => {
  const message = { text: 'hello', blocks: [] };
  const webhook = new Secret('SLACK_WEBHOOK_URL', URL_SECRET);

  it('posts the message to the webhook', async () => {
    const { fetch, urls } = answering(200, 'ok');
    await new SlackClient({ policy, fetch }).post(webhook, message, { deadline: deadlineIn(5000), attempts: [] });
    assert.deepEqual(urls, [URL_SECRET]);
  });

  const permanent: Array<[number, string, RegExp]> = [
    [400, 'invalid_payload', /could not read/],
    [403, 'invalid_token', /revoked/],
    [404, 'channel_not_found', /deleted/],
    [410, 'channel_is_archived', /archived/],
  ];
  for (const [status, code, advice] of permanent) {
    it(`${status} ${code} is permanent, names the setting, and never the URL`, async () => {
      const { fetch, urls } = answering(status, code);
      await assert.rejects(new SlackClient({ policy, fetch }).post(webhook, message, { deadline: deadlineIn(5000), attempts: [] }), (error: unknown) => {
        assert.ok(error instanceof PermanentError);
        assert.match(error.message, new RegExp(`SLACK_WEBHOOK_URL answered ${status} ${code}`));
        assert.match(error.message, advice);
        assert.doesNotMatch(error.message, /SECRET|hooks\.slack\.com/);
        return true;
      });
      assert.equal(urls.length, 1, 'a 4xx is not retried');
    });
  }

  it('5xx is retried, then transient', async () => {
    const { fetch, urls } = answering(500, 'rollup_error');
    await assert.rejects(new SlackClient({ policy, fetch }).post(webhook, message, { deadline: deadlineIn(5000), attempts: [] }), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
    assert.equal(urls.length, 2);
  });

  describe('webhook URLs are pinned to https://hooks.slack.com/ (issue 25, finding 12)', () => {
    const secretManagerWith = (value: string) => ({
      listSecretVersions: async () => [[{ name: 'projects/p/secrets/slack/versions/1' }]],
      accessSecretVersion: async () => [{ payload: { data: Buffer.from(value) } }],
    });
    const post = (url: string, allowedOrigins?: string[]) => {
      const { fetch, urls } = answering(200, 'ok');
      // Read from Secret Manager, so only the client (not start-up) can check it.
      const secret = new Secret('SLACK_WEBHOOK_URL', 'sm://projects/p/secrets/slack', { client: async () => secretManagerWith(url) as never });
      return { urls, done: new SlackClient({ policy, fetch, ...(allowedOrigins ? { allowedOrigins } : {}) }).post(secret, message, { deadline: deadlineIn(5000), attempts: [] }) };
    };

    for (const url of ['https://evil.example/services/T/B/X', 'http://hooks.slack.com/services/T/B/X', 'https://hooks.slack.com.evil.example/services/T/B/X', 'https://user:pw@hooks.slack.com/services/T/B/X', 'not a url']) {
      it(`refuses ${url} for good, before any request, naming the setting and never the path`, async () => {
        const { urls, done } = post(url);
        await assert.rejects(done, (error: unknown) => {
          assert.ok(error instanceof PermanentError, String(error));
          assert.match(error.message, /^SLACK_WEBHOOK_URL /);
          assert.doesNotMatch(error.message, /services|T\/B\/X|pw/);
          return true;
        });
        assert.deepEqual(urls, []);
      });
    }

    it('posts to another origin only when SLACK_WEBHOOK_HOSTS allows it (the local stand-in, GovSlack)', async () => {
      const { urls, done } = post('http://127.0.0.1:8083/services/T/B/X', ['https://hooks.slack.com', 'http://127.0.0.1:8083']);
      await done;
      assert.deepEqual(urls, ['http://127.0.0.1:8083/services/T/B/X']);
      await assert.rejects(post('http://127.0.0.1:9999/services/T/B/X', ['https://hooks.slack.com', 'http://127.0.0.1:8083']).done, /points to http:\/\/127\.0\.0\.1:9999/);
    });
  });
});
