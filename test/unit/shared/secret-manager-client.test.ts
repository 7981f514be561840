import assert from 'node:assert/strict';
import { fakeSecretManager, MAX_PAYLOAD_BYTES, type FakeSecretManager } from '../../../functions/local/fake-secret-manager.js';
import { secretManagerClient } from '../../../functions/shared/secret-manager-client.js';
import { Secret, SecretRevokedError, secretSetting } from '../../../functions/shared/secrets.js';

// The real @google-cloud/secret-manager client (its HTTP/JSON transport) against the
// Secret Manager stand-in: what the functions and `postload connect` run, minus gRPC.

const NAME = 'projects/postload-local/secrets/postload-fivetran-webhook-secret';

describe('Secret Manager: the real client library against the stand-in', () => {
  let sm: FakeSecretManager;
  let env: Record<string, string>;

  before(async () => {
    sm = fakeSecretManager();
    await sm.start();
    env = { SECRET_MANAGER_EMULATOR_HOST: sm.host, GOOGLE_CLOUD_PROJECT: 'postload-local' };
  });
  after(() => sm.stop());
  beforeEach(() => {
    sm.reset();
    sm.createSecret(NAME);
  });

  it('Secret reads every enabled version, newest first, through the library with its retries off (the call options once threw a TypeError in google-gax)', async () => {
    sm.addVersion(NAME, 'first');
    sm.addVersion(NAME, 'second');
    sm.addVersion(NAME, 'third');
    sm.setState(NAME, 2, 'DISABLED');
    const secret = secretSetting({ ...env, FIVETRAN_WEBHOOK_SECRET: `sm://${NAME}` }, 'FIVETRAN_WEBHOOK_SECRET');
    assert.deepEqual((await secret.acceptedValues()).map(String), ['third', 'first']);
    assert.equal(await secret.currentValue(), 'third');
    const list = sm.requests.find((r) => r.url.includes('/versions?'))!;
    assert.match(decodeURIComponent(list.url), /filter=state:ENABLED/);
    assert.equal(list.headers.authorization, undefined, 'emulator mode sends no credentials');
  });

  it('a pinned version is read as is; a disabled one is FAILED_PRECONDITION, which revokes at once', async () => {
    sm.addVersion(NAME, 'v1');
    const pinned = secretSetting({ ...env, S: `sm://${NAME}/versions/1` }, 'S');
    assert.equal(await pinned.currentValue(), 'v1');
    sm.setState(NAME, 1, 'DISABLED');
    const again = secretSetting({ ...env, S: `sm://${NAME}/versions/1` }, 'S');
    await assert.rejects(again.acceptedValues(), (error: Error) => error instanceof SecretRevokedError && /is in DISABLED state/.test(String((error.cause as Error).message)));
  });

  it('a secret that does not exist is NOT_FOUND (gRPC code 5), and one the identity may not read PERMISSION_DENIED (7): both revoke', async () => {
    const missing = new Secret('S', 'sm://projects/postload-local/secrets/nope', { client: () => secretManagerClient(env) });
    await assert.rejects(missing.acceptedValues(), (error: Error) => error instanceof SecretRevokedError && (error.cause as { code: number }).code === 5);
    sm.addVersion(NAME, 'v1');
    sm.deny(NAME);
    const denied = new Secret('S', `sm://${NAME}`, { client: () => secretManagerClient(env) });
    await assert.rejects(denied.acceptedValues(), (error: Error) => error instanceof SecretRevokedError && (error.cause as { code: number }).code === 7);
  });

  it('addSecretVersion numbers versions from 1 and answers them ENABLED; listSecretVersions follows the pages newest first', async () => {
    const client = await secretManagerClient(env);
    for (let i = 1; i <= 5; i++) {
      const [version] = await client.addSecretVersion({ parent: NAME, payload: { data: Buffer.from(`value ${i}`) } });
      assert.equal(version.name, `${NAME}/versions/${i}`);
      assert.equal(version.state, 'ENABLED');
    }
    const [versions] = await client.listSecretVersions({ parent: NAME, pageSize: 2 });
    assert.deepEqual(versions.map((v) => v.name!.split('/').pop()), ['5', '4', '3', '2', '1']);
    assert.equal(sm.requests.filter((r) => r.url.includes('/versions?')).length, 3, 'three pages of at most 2');
    assert.deepEqual(sm.enabledValues(NAME), ['value 5', 'value 4', 'value 3', 'value 2', 'value 1']);
  });

  it('refuses a payload over 64 KiB and an unknown filter with INVALID_ARGUMENT (3), rather than store or ignore it', async () => {
    const client = await secretManagerClient(env);
    await assert.rejects(client.addSecretVersion({ parent: NAME, payload: { data: Buffer.alloc(MAX_PAYLOAD_BYTES + 1) } }), (error: { code: number }) => error.code === 3);
    await assert.rejects(client.listSecretVersions({ parent: NAME, filter: 'create_time>2021' }), (error: { code: number }) => error.code === 3);
    assert.deepEqual(sm.versions(NAME), []);
  });

  it('getSecret says whether the container exists', async () => {
    const client = await secretManagerClient(env);
    const [secret] = await client.getSecret({ name: NAME });
    assert.equal(secret.name, NAME);
    await assert.rejects(client.getSecret({ name: 'projects/postload-local/secrets/other' }), (error: { code: number }) => error.code === 5);
  });
});
