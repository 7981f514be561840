import { secretManagerClient } from '../../shared/secret-manager-client.js';
import { Secret } from '../../shared/secrets.js';
import { baseUrlSetting, ConfigError } from '../../shared/settings.js';
import { AIRBYTE_API_BASE_URL, AirbyteClient } from '../../vendors/airbyte.js';
import { DBT_CLOUD_BASE_URL, DbtCloudAdminClient } from '../../vendors/dbt-cloud.js';
import { FIVETRAN_API_BASE_URL, FivetranClient } from '../../vendors/fivetran.js';
import type { RetryPolicy } from '../../vendors/retry.js';
import { CliError, EXIT } from '../errors.js';
import type { ConnectVendor } from './report.js';

type Env = Record<string, string | undefined>;

/**
 * The vendors' API credentials, from the environment only (values or sm:// references, as
 * the functions' secrets): never a flag, which would land in shell history and `ps`. The
 * Fivetran and Airbyte names are the ones the freshness sweep reads.
 */
export const CREDENTIALS: Record<ConnectVendor, { settings: string[]; what: string }> = {
  fivetran: { settings: ['FIVETRAN_API_KEY', 'FIVETRAN_API_SECRET'], what: 'a Fivetran API key and its secret (Account settings → API key)' },
  airbyte: { settings: ['AIRBYTE_API_CLIENT_ID', 'AIRBYTE_API_CLIENT_SECRET'], what: "an Airbyte application's client id and secret (Settings → Applications)" },
  'dbt-cloud': { settings: ['DBT_CLOUD_ADMIN_TOKEN'], what: 'a dbt Cloud service token with Account Admin, Admin or Developer permission (the processor\'s Job Runner token cannot manage webhooks)' },
};

export interface VendorClientOptions {
  env: Env;
  project: string;
  retry: RetryPolicy;
}

/** Whether any of the vendor's credential settings is set (what `connect --check` with no vendor checks). */
export function credentialsGiven(env: Env, vendor: ConnectVendor): boolean {
  return CREDENTIALS[vendor].settings.some((name) => Boolean(env[name]?.trim()));
}

function credentials(vendor: ConnectVendor, { env, project }: VendorClientOptions): Secret[] {
  const { settings, what } = CREDENTIALS[vendor];
  const missing = settings.filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    throw new CliError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: connect calls the ${vendor === 'dbt-cloud' ? 'dbt Cloud' : vendor === 'fivetran' ? 'Fivetran' : 'Airbyte'} API with ${what}`,
      `set ${settings.join(' and ')} in the environment, to the value or to an sm://projects/PROJECT/secrets/NAME reference (never a flag: it would land in shell history)`,
      EXIT.environment,
    );
  }
  try {
    return settings.map((name) => new Secret(name, env[name], { projectId: project, client: () => secretManagerClient(env) }));
  } catch (error) {
    throw new CliError((error as Error).message, 'use sm://projects/PROJECT/secrets/NAME, or the value itself', EXIT.usage);
  }
}

function base(env: Env, name: string, fallback: string): string {
  try {
    return baseUrlSetting(env, name, fallback);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, `unset ${name} to use ${fallback}`, EXIT.usage);
    throw error;
  }
}

export function fivetranClient(options: VendorClientOptions): FivetranClient {
  const [apiKey, apiSecret] = credentials('fivetran', options) as [Secret, Secret];
  return new FivetranClient({ apiKey, apiSecret, baseUrl: base(options.env, 'FIVETRAN_API_BASE_URL', FIVETRAN_API_BASE_URL), retry: options.retry });
}

export function airbyteClient(options: VendorClientOptions): AirbyteClient {
  const [clientId, clientSecret] = credentials('airbyte', options) as [Secret, Secret];
  return new AirbyteClient({ clientId, clientSecret, baseUrl: base(options.env, 'AIRBYTE_API_BASE_URL', AIRBYTE_API_BASE_URL), retry: options.retry });
}

export function dbtCloudClient(options: VendorClientOptions): DbtCloudAdminClient {
  const [token] = credentials('dbt-cloud', options) as [Secret];
  return new DbtCloudAdminClient({ token, baseUrl: base(options.env, 'DBT_CLOUD_BASE_URL', DBT_CLOUD_BASE_URL), retry: options.retry });
}
