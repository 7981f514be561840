import assert from 'node:assert/strict';
import { runChecks, type CheckResult } from '../../../functions/cli/check.js';
import { fakeSlack, type FakeSlack } from '../../../functions/local/fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN } from '../../../functions/local/fake-slack-api.js';

// `postload check` for the Slack app: the token (auth.test), its scopes, the channel
// membership (a one-message history read), and whether buttons can be verified and pressed,
// against the Web API stand-in. No value is printed.

process.env.METADATA_SERVER_DETECTION ??= 'none';

describe('postload check with Slack app targets', () => {
  let slack: FakeSlack;
  const NARROW = 'xoxb-narrow-scopes-token-for-the-check-000';
  before(async () => {
    slack = fakeSlack({
      api: {
        tokens: { [LOCAL_SLACK_BOT_TOKEN]: {}, [NARROW]: { scopes: ['chat:write'] } },
        channels: [{ id: 'C0ALERTS', name: 'data-alerts' }, { id: 'C0LONELY', name: 'lonely', members: [] }],
      },
    });
    await slack.start();
  });
  after(() => slack.stop());

  const env = (channel = 'C0ALERTS', extra: Record<string, string> = {}) => ({
    ROUTING_CONFIG: JSON.stringify({ slack: { app: { channel } }, routes: [{ name: 'all', match: { source: 'fivetran' } }] }),
    FIVETRAN_WEBHOOK_SECRET: 'fivetran-secret-for-the-check-0123456789',
    AIRBYTE_WEBHOOK_TOKEN: 'airbyte-token-for-the-check-0123456789',
    DBT_CLOUD_WEBHOOK_SECRET: 'dbt-cloud-secret-for-the-check-0123456789',
    SYNC_EVENT_SIGNING_KEY: 'check-sync-event-signing-key-0123456789',
    GOOGLE_CLOUD_PROJECT: 'postload-local',
    SLACK_BOT_TOKEN: LOCAL_SLACK_BOT_TOKEN,
    SLACK_API_BASE_URL: `${slack.url}/api`,
    SLACK_SIGNING_SECRET: 'slack-signing-secret-for-the-check-0123',
    SLACK_ACTION_USERS: 'U0ALICE',
    ...extra,
  });
  const slackLines = (results: CheckResult[]) => results.filter((r) => r.check.startsWith('Slack'));

  it('a good token, channel and button settings pass, naming the bot and its scopes, and print no token', async () => {
    const results = await runChecks(env());
    assert.deepEqual(
      slackLines(results).map((r) => [r.check, r.ok]),
      [
        ['Slack app token SLACK_BOT_TOKEN', true],
        ['Slack channel C0ALERTS', true],
        ['Slack buttons', true],
      ],
    );
    assert.match(slackLines(results)[0]!.detail, /bot U0POSTLOAD .* scopes chat:write, channels:history/);
    assert.ok(!JSON.stringify(results).includes(LOCAL_SLACK_BOT_TOKEN));
  });

  it('an app that is not in the channel: said, with how to invite it', async () => {
    const [, channel] = slackLines(await runChecks(env('C0LONELY')));
    assert.deepEqual([channel!.check, channel!.ok], ['Slack channel C0LONELY', false]);
    assert.match(channel!.detail, /not_in_channel.*invite it there/);
  });

  it('a channel id that does not exist: channel_not_found', async () => {
    const [, channel] = slackLines(await runChecks(env('C0NOSUCH')));
    assert.match(channel!.detail, /channel_not_found/);
  });

  it('a token Slack refuses: invalid_auth, and the channel is not checked with it', async () => {
    const [token, channel] = slackLines(await runChecks(env('C0ALERTS', { SLACK_BOT_TOKEN: 'xoxb-revoked-token-for-the-check-000000' })));
    assert.equal(token!.ok, false);
    assert.match(token!.detail, /invalid_auth/);
    assert.match(channel!.detail, /not checked: SLACK_BOT_TOKEN was refused/);
  });

  it('a token without the history scope, or usergroups:read when groups are named: the missing scopes are named', async () => {
    const [token, channel] = slackLines(await runChecks(env('C0ALERTS', { SLACK_BOT_TOKEN: NARROW, SLACK_ACTION_GROUPS: 'S0ONCALL' })));
    assert.equal(token!.ok, false);
    assert.match(token!.detail, /lacks usergroups:read, channels:history \(or groups:history for private channels\)/);
    assert.match(channel!.detail, /missing_scope \(channels:history\)/);
  });

  it('without SLACK_SIGNING_SECRET, or with nobody allowed, the buttons check fails', async () => {
    const unsigned = slackLines(await runChecks(env('C0ALERTS', { SLACK_SIGNING_SECRET: '' }))).at(-1)!;
    assert.deepEqual([unsigned.ok, /every button press would be refused/.test(unsigned.detail)], [false, true]);
    const nobody = slackLines(await runChecks(env('C0ALERTS', { SLACK_ACTION_USERS: '' }))).at(-1)!;
    assert.deepEqual([nobody.ok, /nobody may press them/.test(nobody.detail)], [false, true]);
  });

  it('webhook-only deployments get no Slack app lines', async () => {
    const results = await runChecks({ ...env(), ROUTING_CONFIG: JSON.stringify({ routes: [{ name: 'all', match: { source: 'fivetran' } }] }), SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/webhook-only-0123456789' });
    assert.deepEqual(slackLines(results), []);
  });
});
