import assert from 'node:assert/strict';
import { fakeAirbyte, type FakeAirbyte } from '../../../functions/local/fake-airbyte.js';
import { RecordingServer } from '../../../functions/local/recording-server.js';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { AirbyteClient } from '../../../functions/vendors/airbyte.js';

// Airbyte's workspace notifications, client against stand-in: one URL per type, and a PATCH
// that merges (WorkspacesHandler.kt patchNotificationItem), which `postload connect` relies
// on to leave the other types and every e-mail setting alone.
describe('Airbyte workspaces: the client against the stand-in', () => {
  let airbyte: FakeAirbyte;
  let client: AirbyteClient;
  const deadline = () => deadlineIn(10_000);

  beforeEach(async () => {
    airbyte = fakeAirbyte();
    await airbyte.start();
    client = new AirbyteClient({ baseUrl: `${airbyte.url}/v1`, clientId: new Secret('I', airbyte.clientId), clientSecret: new Secret('S', airbyte.clientSecret) });
  });
  afterEach(() => airbyte.stop());

  it('a PATCH sets only the types given; the other types and e-mail stay; the answer is the whole workspace', async () => {
    const workspace = airbyte.workspaces.add({ webhooks: { failure: { url: 'https://hooks.slack.com/services/T/B/X' } } });
    workspace.notifications.failure!.email = true;
    const after = await client.setWebhooks({ deadline: deadline(), workspaceId: workspace.workspaceId, webhooks: { success: { enabled: true, url: 'https://p.example/airbyte?token=t' } } });
    assert.deepEqual(after.webhooks.success, { enabled: true, url: 'https://p.example/airbyte?token=t' });
    assert.deepEqual(after.webhooks.failure, { enabled: true, url: 'https://hooks.slack.com/services/T/B/X' });
    assert.deepEqual(after.webhooks.syncDisabled, { enabled: false, url: null }, 'an unset type: off, no URL');
    assert.equal(workspace.notifications.failure!.email, true);
    assert.deepEqual(airbyte.requests.at(-1)!.json, { notifications: { success: { webhook: { enabled: true, url: 'https://p.example/airbyte?token=t' } } } });
  });

  it('an unknown workspace is null (404 problem); every workspace is listed over pages of 100', async () => {
    assert.equal(await client.getWorkspace({ deadline: deadline(), workspaceId: '00000000-0000-4000-8000-000000000000' }), null);
    for (let i = 0; i < 130; i++) airbyte.workspaces.add();
    const all = await client.listWorkspaces({ deadline: deadline() });
    assert.equal(all.length, 130);
    assert.deepEqual(airbyte.requests.filter((r) => r.url.startsWith('/v1/workspaces?')).map((r) => new URL(r.url, 'http://x').searchParams.get('offset')), ['0', '100']);
  });

  it('notify posts where the workspace sends a type, unsigned, once; nothing when the type is off', async () => {
    const receiver = new RecordingServer('receiver', () => ({ status: 500 }));
    await receiver.start();
    try {
      const workspace = airbyte.workspaces.add({ webhooks: { success: { url: `${receiver.url}/airbyte?token=t` }, failure: { url: `${receiver.url}/off`, enabled: false } } });
      assert.equal(await airbyte.workspaces.notify(workspace.workspaceId, 'success', '{"text":"x"}'), 500);
      assert.equal(await airbyte.workspaces.notify(workspace.workspaceId, 'failure', '{"text":"x"}'), null);
      assert.equal(receiver.requests.length, 1, 'never retried');
      assert.equal(receiver.requests[0]!.headers.authorization, undefined);
      assert.equal(receiver.requests[0]!.headers['x-fivetran-signature-256'], undefined);
    } finally {
      await receiver.stop();
    }
  });

  it('refuses an unknown notification type with a 400 problem', async () => {
    const workspace = airbyte.workspaces.add();
    const { access_token: token } = (await (await fetch(`${airbyte.url}/v1/applications/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: airbyte.clientId, client_secret: airbyte.clientSecret }) })).json()) as { access_token: string };
    const response = await fetch(`${airbyte.url}/v1/workspaces/${workspace.workspaceId}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ notifications: { onSuccess: { webhook: { url: 'x' } } } }) });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { title: string }).title, 'bad-request');
  });
});
