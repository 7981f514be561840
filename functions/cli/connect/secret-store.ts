import { randomBytes } from 'node:crypto';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { CliError, EXIT, explainGoogleError } from '../errors.js';

/** The Secret Manager secret a webhook secret setting names, which connect adds versions to. */
export interface SecretTarget {
  /** The functions' setting: FIVETRAN_WEBHOOK_SECRET, AIRBYTE_WEBHOOK_TOKEN, DBT_CLOUD_WEBHOOK_SECRET. */
  setting: string;
  /** projects/P/secrets/S */
  name: string;
}

/** The secrets Terraform creates for the webhooks (terraform/secrets.tf, name_prefix "postload"). */
export const WEBHOOK_SECRETS = {
  fivetran: { setting: 'FIVETRAN_WEBHOOK_SECRET', id: 'postload-fivetran-webhook-secret' },
  airbyte: { setting: 'AIRBYTE_WEBHOOK_TOKEN', id: 'postload-airbyte-webhook-token' },
  'dbt-cloud': { setting: 'DBT_CLOUD_WEBHOOK_SECRET', id: 'postload-dbt-cloud-webhook-secret' },
} as const;

const REFERENCE = /^sm:\/\/(?:projects\/([^/]+)\/secrets\/)?([A-Za-z0-9_-]+)(\/versions\/[^/]+)?$/;

/**
 * Where connect writes a webhook secret: the setting's sm:// reference (the same variable the
 * functions read), or Terraform's default secret in the project. A literal value cannot take
 * a new version, and a reference pinned to one version would never read it: both refused.
 */
export function secretTarget(env: Record<string, string | undefined>, which: keyof typeof WEBHOOK_SECRETS, project: string): SecretTarget {
  const { setting, id } = WEBHOOK_SECRETS[which];
  const raw = env[setting]?.trim();
  if (!raw) return { setting, name: `projects/${project}/secrets/${id}` };
  const match = REFERENCE.exec(raw);
  if (!match) {
    throw new CliError(
      `${setting} holds a value, not a Secret Manager reference: connect stores the webhook's secret as a new version of a secret, so it needs one`,
      `unset ${setting} to use Terraform's secret ${id} in ${project}, or set it to sm://projects/PROJECT/secrets/NAME (\`terraform output secret_ids\` names it)`,
      EXIT.usage,
    );
  }
  if (match[3]) {
    throw new CliError(
      `${setting} pins one version (${raw}): the functions would never read the version connect adds`,
      `reference the secret without a version, as Terraform does: sm://projects/${match[1] ?? project}/secrets/${match[2]}`,
      EXIT.usage,
    );
  }
  return { setting, name: `projects/${match[1] ?? project}/secrets/${match[2]}` };
}

/** A new secret: 32 random bytes as 64 hex characters (URL-safe, for Airbyte's token too). */
export function newSecretValue(): string {
  return randomBytes(32).toString('hex');
}

const CALL = { timeout: 15_000 };

/**
 * The three Secret Manager calls connect makes. Values pass through memory only: never
 * printed, never logged, never written to a file.
 */
export class SecretStore {
  constructor(
    private readonly client: () => Promise<Pick<SecretManagerServiceClient, 'listSecretVersions' | 'accessSecretVersion' | 'addSecretVersion'>>,
    private readonly project: string,
  ) {}

  /** The enabled versions' names, newest first. */
  async enabledVersions(target: SecretTarget): Promise<string[]> {
    return this.call(target, 'list the versions of', async (client) => {
      const [versions] = await client.listSecretVersions({ parent: target.name, filter: 'state:ENABLED' }, CALL);
      return versions.flatMap((v) => (v.name ? [v.name] : [])).sort((a, b) => versionNumber(b) - versionNumber(a));
    });
  }

  async read(target: SecretTarget, version: string): Promise<string> {
    return this.call(target, 'read', async (client) => {
      const [response] = await client.accessSecretVersion({ name: version }, CALL);
      const data = response.payload?.data;
      if (data === undefined || data === null) throw new CliError(`${version} has no payload`, undefined, EXIT.environment);
      // As the functions read it (functions/shared/secrets.ts): a trailing newline is no part of the secret.
      return (typeof data === 'string' ? data : Buffer.from(data).toString('utf8')).replace(/[\r\n]+$/, '');
    });
  }

  /** Adds a version and answers its name. */
  async add(target: SecretTarget, value: string): Promise<string> {
    return this.call(target, 'add a version to', async (client) => {
      const [version] = await client.addSecretVersion({ parent: target.name, payload: { data: Buffer.from(value, 'utf8') } }, CALL);
      if (!version.name) throw new CliError(`Secret Manager added a version to ${target.name} but did not name it`, undefined, EXIT.environment);
      return version.name;
    });
  }

  private async call<T>(target: SecretTarget, what: string, work: (client: Awaited<ReturnType<SecretStore['client']>>) => Promise<T>): Promise<T> {
    try {
      return await work(await this.client());
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 5) {
        throw new CliError(
          `Secret Manager: ${target.name} does not exist (${target.setting})`,
          `apply Terraform first (it creates the secret), or set ${target.setting} to the sm:// reference of the secret to use`,
          EXIT.environment,
        );
      }
      if (code === 7) {
        throw new CliError(
          `Secret Manager: permission denied to ${what} ${target.name} (${target.setting})`,
          'your account needs roles/secretmanager.secretVersionAdder and roles/secretmanager.secretAccessor on the webhook secrets (docs/deploy.md lists the roles)',
          EXIT.environment,
        );
      }
      throw explainGoogleError(error, `Secret Manager (${target.name})`, this.project);
    }
  }
}

function versionNumber(name: string): number {
  return Number(name.slice(name.lastIndexOf('/') + 1)) || 0;
}
