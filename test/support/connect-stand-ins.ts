import { checkDbtCloudSignature } from '../../functions/ingest/dbt-cloud/signature.js';
import { checkFivetranSignature } from '../../functions/ingest/fivetran/signature.js';
import { fakeAirbyte, type FakeAirbyte } from '../../functions/local/fake-airbyte.js';
import { fakeDbtCloud, type FakeDbtCloud } from '../../functions/local/fake-dbt-cloud.js';
import { fakeFivetran, type FakeFivetran } from '../../functions/local/fake-fivetran.js';
import { fakeSecretManager, type FakeSecretManager } from '../../functions/local/fake-secret-manager.js';
import { RecordingServer, type Reply } from '../../functions/local/recording-server.js';

// What `postload connect` talks to in the integration tests: the three vendor stand-ins,
// the Secret Manager stand-in holding Terraform's three (empty) webhook secrets, and a
// stand-in for the ingest function that answers 202 only to a delivery signed with an
// enabled version (Fivetran, dbt Cloud) or carrying one as its token (Airbyte), as the
// real function does. The end-to-end test runs the real function instead.

export const PROJECT = 'postload-local';
export const SECRETS = {
  fivetran: `projects/${PROJECT}/secrets/postload-fivetran-webhook-secret`,
  airbyte: `projects/${PROJECT}/secrets/postload-airbyte-webhook-token`,
  dbtCloud: `projects/${PROJECT}/secrets/postload-dbt-cloud-webhook-secret`,
};
export const DBT_ACCOUNT = 70;
export const DBT_JOBS = [501, 502];
export const DBT_ADMIN_TOKEN = 'dbt-admin-token-for-tests';
export const WORKSPACE = '6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e';
export const GROUP = 'warehouse_group';

export interface StandIns {
  sm: FakeSecretManager;
  fivetran: FakeFivetran;
  airbyte: FakeAirbyte;
  dbt: FakeDbtCloud;
  ingest: RecordingServer;
  /** The environment `postload connect` runs with. */
  env: Record<string, string>;
  /** Everything the stand-ins recorded, for "nothing was changed" checks. */
  writes(): string[];
  stop(): Promise<void>;
}

/** A fake ingest function: signatures and tokens checked against the Secret Manager stand-in. */
function fakeIngest(sm: FakeSecretManager): RecordingServer {
  const accepted = (secret: string) => sm.enabledValues(secret).map((v) => Buffer.from(v));
  return new RecordingServer('ingest', (request): Reply => {
    const url = new URL(request.url, 'http://ingest.local');
    const body = Buffer.from(request.body);
    const header = (name: string) => request.headers[name] as string | undefined;
    const ok: Reply = { status: 202, body: { id: 'accepted' } };
    const refused: Reply = { status: 401, body: { error: 'unauthorized' } };
    if (url.pathname === '/fivetran') return checkFivetranSignature(body, header('x-fivetran-signature-256'), accepted(SECRETS.fivetran)) === 'valid' ? ok : refused;
    if (url.pathname === '/dbt-cloud') return checkDbtCloudSignature(body, header('authorization'), accepted(SECRETS.dbtCloud)) === 'valid' ? ok : refused;
    if (url.pathname === '/airbyte') return sm.enabledValues(SECRETS.airbyte).includes(url.searchParams.get('token') ?? '') ? ok : refused;
    return { status: 404, body: { error: 'not_found' } };
  });
}

export async function startStandIns(): Promise<StandIns> {
  const sm = fakeSecretManager();
  const fivetran = fakeFivetran();
  const airbyte = fakeAirbyte();
  const dbt = fakeDbtCloud({ accounts: [DBT_ACCOUNT], jobs: DBT_JOBS, token: DBT_ADMIN_TOKEN });
  const ingest = fakeIngest(sm);
  await Promise.all([sm.start(), fivetran.start(), airbyte.start(), dbt.start(), ingest.start()]);
  for (const name of Object.values(SECRETS)) sm.createSecret(name);
  fivetran.groups.add(GROUP);
  airbyte.workspaces.add({ workspaceId: WORKSPACE });
  const env = {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    SECRET_MANAGER_EMULATOR_HOST: sm.host,
    POSTLOAD_INGEST_URL: ingest.url,
    FIVETRAN_API_KEY: fivetran.apiKey,
    FIVETRAN_API_SECRET: fivetran.apiSecret,
    FIVETRAN_API_BASE_URL: `${fivetran.url}/v1`,
    AIRBYTE_API_CLIENT_ID: airbyte.clientId,
    AIRBYTE_API_CLIENT_SECRET: airbyte.clientSecret,
    AIRBYTE_API_BASE_URL: `${airbyte.url}/v1`,
    DBT_CLOUD_ADMIN_TOKEN: DBT_ADMIN_TOKEN,
    DBT_CLOUD_BASE_URL: dbt.url,
  };
  const servers = [sm, fivetran, airbyte, dbt];
  // In the order they arrived, across servers.
  const log: string[] = [];
  for (const server of servers) {
    server.onRequest = (r) => {
      if (r.method !== 'GET' && !r.url.endsWith('/applications/token')) log.push(`${server.name}: ${r.method} ${r.url}`);
    };
  }
  return {
    sm,
    fivetran,
    airbyte,
    dbt,
    ingest,
    env,
    writes: () => [...log],
    stop: async () => {
      await Promise.all([...servers, ingest].map((s) => s.stop()));
    },
  };
}
