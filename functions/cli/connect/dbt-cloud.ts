import type { DbtCloudAdminClient, DbtCloudWebhook, DbtCloudWebhookBody } from '../../vendors/dbt-cloud.js';
import { CliError, EXIT, isCliError } from '../errors.js';
import { checkDbtCloud, describeJobs, planDbtCloud, type DbtCloudPlan, type DbtCloudWanted } from './dbt-cloud-plan.js';
import type { Io } from './io.js';
import type { ConnectReport, Finding } from './report.js';
import type { SecretTarget } from './secret-store.js';
import { explainVendorError } from './vendor-errors.js';

async function readAccount(client: DbtCloudAdminClient, io: Pick<Io, 'deadline'>, accountId: string, jobIds: readonly number[]): Promise<DbtCloudWebhook[]> {
  if (!/^\d+$/.test(accountId)) throw new CliError(`"${accountId.slice(0, 80)}" is not a dbt Cloud account id (a number)`, 'it is the number in your dbt Cloud URLs: /deploy/ACCOUNT/…', EXIT.usage);
  let webhooks: DbtCloudWebhook[];
  try {
    webhooks = await client.listWebhooks({ deadline: io.deadline, accountId });
  } catch (error) {
    if ((error as { details?: { status?: number } }).details?.status === 404) {
      throw new CliError(
        `dbt Cloud answered 404 for account ${accountId} at ${client.baseUrl}: there is no such account there, or the token may not see it`,
        'check the account id (the number in /deploy/ACCOUNT/… URLs), DBT_CLOUD_BASE_URL (your account\'s access URL) and the token\'s account',
        EXIT.usage,
      );
    }
    throw error;
  }
  for (const jobId of jobIds) {
    if (!(await client.jobExists({ deadline: io.deadline, accountId, jobId }))) {
      throw new CliError(`dbt Cloud account ${accountId} has no job ${jobId}`, 'the job id is the number in the job\'s URL (/deploy/ACCOUNT/projects/P/jobs/JOB)', EXIT.usage);
    }
  }
  return webhooks;
}

/**
 * `postload connect dbt-cloud --account A [--job J …]`. dbt Cloud answers a webhook's
 * hmac_secret once, to its creation: it goes straight into Secret Manager as a new version
 * (never printed, never written to a file). Should that fail, the new webhook is deleted
 * again; it is created inactive, so it never sent a delivery no one could verify.
 */
export async function connectDbtCloud(client: DbtCloudAdminClient, io: Io, wanted: DbtCloudWanted, secret: SecretTarget, dryRun: boolean): Promise<ConnectReport> {
  const webhooks = await readAccount(client, io, wanted.accountId, wanted.jobIds);
  const secretVersions = await io.store.enabledVersions(secret);
  const plan = planDbtCloud({ webhooks, secretVersions }, wanted);
  const report: ConnectReport = {
    vendor: 'dbt-cloud',
    target: `account ${wanted.accountId}`,
    url: wanted.url,
    dryRun,
    changes: [],
    notes: 'duplicates' in plan ? plan.duplicates.map((w) => `webhook ${w.id} points here too (left alone; delete it in dbt Cloud, or each run is reported twice)`) : [],
  };
  if (dryRun) {
    report.changes.push(...describe(plan, secret));
    return report;
  }
  if (plan.kind === 'keep') {
    report.changes.push({ verb: 'keep', subject: `webhook ${plan.webhook.id}`, detail: `active, ${plan.webhook.eventTypes.join(', ')}, ${describeJobs(plan.webhook.jobIds.map(Number))}` });
    return report;
  }
  if (plan.kind === 'update') {
    const updated = await client.updateWebhook({ deadline: io.deadline, accountId: wanted.accountId, id: plan.id, body: plan.body });
    report.changes.push({ verb: 'update', subject: `webhook ${plan.id}`, detail: `${plan.changed.join('; ')}; now ${updated.active ? 'active' : 'inactive'}, ${updated.eventTypes.join(', ')}` });
    return report;
  }
  // Every new webhook starts inactive and is activated only once its hmac_secret is stored and
  // the ingest function can have read it: dbt Cloud shows the secret only in the answer to the
  // creation (so it cannot be stored first), the function re-reads a secret on a failed check
  // only every 30 s (up to 60 s while it had no version), and dbt Cloud deactivates a webhook
  // after five failed deliveries in a row.
  const created = await createAndStore(client, io, wanted.accountId, { ...plan.body, active: false }, secret);
  report.changes.push(...created.changes);
  const wait = secretVersions.length > 0 ? SECRET_PICKUP_MS : SECRET_PICKUP_AFTER_NONE_MS;
  io.say(`waiting ${wait / 1000} s before activating webhook ${created.id}, so the ingest function has read its new secret when dbt Cloud first sends`);
  await io.sleep(wait);
  try {
    await client.updateWebhook({ deadline: io.deadline, accountId: wanted.accountId, id: created.id, body: plan.body });
  } catch (error) {
    const why = explainVendorError(error, 'dbt-cloud');
    if (!isCliError(why)) throw why;
    throw new CliError(
      `${why.message}; webhook ${created.id} was created inactive and its hmac_secret is stored, but it was not activated`,
      `run the same postload connect again: it activates webhook ${created.id}${plan.kind === 'replace' ? ' (then delete the old one it replaces in dbt Cloud, Account settings → Webhooks)' : ''}`,
      why.exitCode,
    );
  }
  report.changes.push({ verb: 'update', subject: `webhook ${created.id}`, detail: 'activated' });
  if (plan.kind === 'replace') {
    for (const old of plan.old) {
      await client.deleteWebhook({ deadline: io.deadline, accountId: wanted.accountId, id: old.id });
      report.changes.push({ verb: 'delete', subject: `webhook ${old.id}`, detail: `replaced: ${plan.why}` });
    }
  }
  return report;
}

/** The ingest function's least interval between two re-reads of a secret, plus a second (functions/shared/secrets.ts). */
export const SECRET_PICKUP_MS = 31_000;
/** The same when it had no version: it then backs off up to 60 s between tries. */
export const SECRET_PICKUP_AFTER_NONE_MS = 61_000;

async function createAndStore(client: DbtCloudAdminClient, io: Io, accountId: string, body: DbtCloudWebhookBody, secret: SecretTarget): Promise<{ id: string; changes: ConnectReport['changes'] }> {
  const { webhook, hmacSecret } = await client.createWebhook({ deadline: io.deadline, accountId, body });
  let version: string;
  try {
    version = await io.store.add(secret, hmacSecret);
  } catch (error) {
    // Without its secret stored, the webhook's deliveries could never be verified: undo it.
    const undone = await client.deleteWebhook({ deadline: io.deadline, accountId, id: webhook.id }).then(
      () => `the new webhook ${webhook.id} was deleted again: nothing changed`,
      () => `and deleting the new webhook ${webhook.id} failed too: delete it in dbt Cloud (Account settings → Webhooks)`,
    );
    if (error instanceof CliError) throw new CliError(`${error.message}; ${undone}`, error.fix, error.exitCode);
    throw error;
  }
  return {
    id: webhook.id,
    changes: [
      { verb: 'create', subject: `webhook ${webhook.id}`, detail: `${webhook.eventTypes.join(', ')}, ${describeJobs(webhook.jobIds.map(Number))}, inactive at first` },
      { verb: 'add-version', subject: secret.name, detail: `version ${version.slice(version.lastIndexOf('/') + 1)}: the webhook's hmac_secret, which dbt Cloud shows only now (not printed)` },
    ],
  };
}

function describe(plan: DbtCloudPlan, secret: SecretTarget): ConnectReport['changes'] {
  switch (plan.kind) {
    case 'create':
    case 'replace':
      return [
        { verb: 'create', subject: 'webhook', detail: `${plan.body.event_types.join(', ')}, ${describeJobs(plan.body.job_ids)}, inactive at first` },
        { verb: 'add-version', subject: secret.name, detail: 'its hmac_secret, as dbt Cloud answers it' },
        { verb: 'update', subject: 'the new webhook', detail: 'activated once the ingest function can have read its secret' },
        ...(plan.kind === 'replace' ? plan.old.map((w) => ({ verb: 'delete' as const, subject: `webhook ${w.id}`, detail: `replaced: ${plan.why}` })) : []),
      ];
    case 'update':
      return [{ verb: 'update', subject: `webhook ${plan.id}`, detail: plan.changed.join('; ') }];
    case 'keep':
      return [{ verb: 'keep', subject: `webhook ${plan.webhook.id}`, detail: 'as postload expects' }];
  }
}

/** `postload connect --check` for dbt Cloud. */
export async function checkDbtCloudRegistration(client: DbtCloudAdminClient, io: Io, url: string, accountId: string, jobIds: number[] | undefined, secret: SecretTarget): Promise<Finding[]> {
  const webhooks = await readAccount(client, io, accountId, jobIds ?? []);
  const secretVersions = await io.store.enabledVersions(secret);
  return checkDbtCloud({ webhooks, secretVersions }, url, accountId, jobIds, secret.name);
}
