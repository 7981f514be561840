import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { optionalString } from './settings.js';

type Env = Record<string, string | undefined>;

/**
 * Secret Manager has no emulator, so postload has a stand-in (functions/local/
 * fake-secret-manager.ts) and this setting to reach it: `host:port`, local only. Unset (every
 * deployment), the client is the library's default (gRPC, Application Default Credentials),
 * exactly as before. Set, the same client library speaks HTTP/JSON to that host without
 * credentials (its REST transport, `fallback: true`), so the code under test is the real one.
 */
export const SECRET_MANAGER_EMULATOR_HOST = 'SECRET_MANAGER_EMULATOR_HOST';

const clients = new Map<string, Promise<SecretManagerServiceClient>>();

/** One client per target, created on first use: a deployment with literal values never loads the library. */
export function secretManagerClient(env: Env): Promise<SecretManagerServiceClient> {
  const host = optionalString(env, 'SECRET_MANAGER_EMULATOR_HOST') ?? '';
  let client = clients.get(host);
  if (!client) {
    client = import('@google-cloud/secret-manager').then(({ SecretManagerServiceClient }) => (host ? emulatorClient(SecretManagerServiceClient, host) : new SecretManagerServiceClient()));
    clients.set(host, client);
  }
  return client;
}

function emulatorClient(Client: typeof SecretManagerServiceClient, host: string): SecretManagerServiceClient {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(host);
  if (!match) throw new Error(`SECRET_MANAGER_EMULATOR_HOST must be host:port, got "${host}"`);
  // The REST transport asks its auth client for nothing but `fetch`: this one adds no
  // credentials, as the Pub/Sub and Firestore clients do for their emulators.
  const noCredentials = { getRequestHeaders: async () => new Headers(), fetch: (url: string, init: RequestInit) => fetch(url, init) };
  return new Client({ fallback: true, protocol: 'http', apiEndpoint: match[1] ?? match[2]!, port: Number(match[3]), authClient: noCredentials } as ConstructorParameters<typeof SecretManagerServiceClient>[0]);
}
