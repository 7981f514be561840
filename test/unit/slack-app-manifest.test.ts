import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { POSTLOAD_BOT_SCOPES } from '../../functions/local/fake-slack-api.js';

// The Slack app manifest the docs hand out (docs/slack-app-manifest.json) asks for exactly
// the scopes postload uses (the stand-in grants the same), and sends button presses to the
// ingest function's /slack/actions: one fact, one place.
describe('the Slack app manifest', () => {
  const manifest = JSON.parse(readFileSync(new URL('../../docs/slack-app-manifest.json', import.meta.url), 'utf8')) as {
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean; token_rotation_enabled: boolean };
  };

  it('asks for the bot scopes postload uses, and no others', () => {
    assert.deepEqual([...manifest.oauth_config.scopes.bot].sort(), [...POSTLOAD_BOT_SCOPES].sort());
  });

  it('turns interactivity on, pointing at /slack/actions, without socket mode or token rotation', () => {
    assert.equal(manifest.settings.interactivity.is_enabled, true);
    assert.match(manifest.settings.interactivity.request_url, /^https:\/\/[^/]+\/slack\/actions$/);
    assert.equal(manifest.settings.socket_mode_enabled, false);
    assert.equal(manifest.settings.token_rotation_enabled, false);
  });
});
