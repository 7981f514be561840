import type { Deadline } from '../../processor/clients/http-retry.js';
import type { FivetranClient, FivetranWebhook, FivetranWebhookScope } from '../../vendors/fivetran.js';
import { VendorApiError } from '../../vendors/vendor-error.js';
import { CliError, EXIT } from '../errors.js';
import { checkFivetran, planFivetran, scopeName, type FivetranPlan, type FivetranWanted } from './fivetran-plan.js';
import type { ConnectReport, Finding } from './report.js';
import type { Io } from './io.js';
import { newSecretValue, type SecretTarget } from './secret-store.js';

/**
 * When Fivetran's creation test fails right after connect added a new secret version, the
 * ingest function may not have read that version yet: it re-reads Secret Manager on a
 * failed signature at most every 30 s, and backs off up to 60 s while the secret had no
 * version at all (functions/shared/secrets.ts). These waits (65 s in all) cover both.
 */
export const TEST_RETRY_WAITS_MS = [10_000, 20_000, 35_000];

async function readScope(client: FivetranClient, scope: FivetranWebhookScope, deadline: Deadline): Promise<void> {
  if (scope.type !== 'group') return;
  if (!(await client.getGroup({ deadline, groupId: scope.groupId }))) {
    throw new CliError(`Fivetran has no group ${scope.groupId} (or these API credentials may not see it)`, 'the group id is the destination\'s id: Fivetran shows it in the destination\'s settings; or pass --account for every group', EXIT.usage);
  }
}

/** `postload connect fivetran`: reads, plans, and (unless dryRun) applies. Every read happens before the first change. */
export async function connectFivetran(client: FivetranClient, io: Io, wanted: FivetranWanted, secret: SecretTarget, dryRun: boolean): Promise<ConnectReport> {
  await readScope(client, wanted.scope, io.deadline);
  const [webhooks, secretVersions] = await Promise.all([client.listWebhooks({ deadline: io.deadline }), io.store.enabledVersions(secret)]);
  const plan = planFivetran({ webhooks, secretVersions }, wanted);
  const report: ConnectReport = {
    vendor: 'fivetran',
    target: scopeName(wanted.scope),
    url: wanted.url,
    dryRun,
    changes: [],
    notes: plan.duplicates.map((w) => `webhook ${w.id} points here too (left alone; delete it in Fivetran so nothing is sent twice)`),
  };
  if (dryRun) {
    report.changes.push(...describe(plan, wanted, secret));
    return report;
  }

  let value: string;
  let added = false;
  if (plan.secret.kind === 'generate') {
    value = newSecretValue();
    const version = await io.store.add(secret, value);
    added = true;
    report.changes.push({ verb: 'add-version', subject: secret.name, detail: `${versionOf(version)}: a new random secret, 32 bytes (${plan.secret.why}); the ingest function accepts it beside the versions already enabled` });
  } else {
    value = await io.store.read(secret, plan.secret.version);
  }

  if (plan.webhook.kind === 'create') {
    const { url, events, active } = plan.webhook;
    const created = await tested(io, url, 'create the webhook', added && active, () => client.createWebhook({ deadline: io.deadline, scope: wanted.scope, fields: { url, events, active, secret: value } }));
    report.changes.push({ verb: 'create', subject: `${scopeName(wanted.scope)} webhook ${created.id}`, detail: `${created.events.join(', ')}; ${created.active ? 'active (Fivetran tested the URL: it answered 2xx)' : 'inactive: run connect again without --inactive to activate it (Fivetran tests the URL then)'}` });
    return report;
  }
  const { id, changed, ...fields } = plan.webhook;
  const update = () => client.updateWebhook({ deadline: io.deadline, id, fields: { ...fields, secret: value } });
  const updated = fields.active ? await tested(io, wanted.url, `activate webhook ${id}`, added, update) : await update();
  report.changes.push(
    changed.length > 0
      ? { verb: 'update', subject: `${scopeName(wanted.scope)} webhook ${id}`, detail: `${changed.join('; ')}; now ${summary(updated)}` }
      : { verb: 'keep', subject: `${scopeName(wanted.scope)} webhook ${id}`, detail: `${summary(updated)}; secret sent again (Fivetran never shows it, so it cannot be compared)` },
  );
  return report;
}

function summary(webhook: FivetranWebhook): string {
  return `${webhook.active ? 'active' : 'inactive'}, events ${webhook.events.join(', ')}`;
}

function versionOf(name: string): string {
  return `version ${name.slice(name.lastIndexOf('/') + 1)}`;
}

/**
 * A call after which Fivetran tests the URL (creating an active webhook, or activating one):
 * it POSTs a test and refuses with a 400 unless it is answered 2xx. After a new secret
 * version the test is tried again while the ingest function may still be reading it;
 * otherwise a 400 is final and says what to do.
 */
async function tested<T>(io: Io, url: string, what: string, retry: boolean, call: () => Promise<T>): Promise<T> {
  const waits = retry ? [...TEST_RETRY_WAITS_MS] : [];
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof VendorApiError && error.details.status === 400)) throw error;
      const wait = waits.shift();
      if (wait === undefined || wait >= io.deadline.remainingMs()) {
        throw new CliError(
          `Fivetran refused to ${what}: ${error.message}. Fivetran POSTs a test to ${url} first and changes nothing unless it is answered 2xx`,
          'deploy the ingest function first (terraform apply) and check its logs for the test; or pass --inactive to create the webhook inactive now and run connect again once the function is up',
          EXIT.failed,
        );
      }
      io.say(`Fivetran's test of ${url} was not answered 2xx; the ingest function may not have read the new secret version yet: trying again in ${wait / 1000} s`);
      await io.sleep(wait);
    }
  }
}

function describe(plan: FivetranPlan, wanted: FivetranWanted, secret: SecretTarget): ConnectReport['changes'] {
  const changes: ConnectReport['changes'] = [];
  if (plan.secret.kind === 'generate') changes.push({ verb: 'add-version', subject: secret.name, detail: `a new random secret (${plan.secret.why})` });
  if (plan.webhook.kind === 'create') {
    changes.push({ verb: 'create', subject: `${scopeName(wanted.scope)} webhook`, detail: `${plan.webhook.events.join(', ')}; ${plan.webhook.active ? 'active (Fivetran tests the URL first)' : 'inactive'}` });
  } else if (plan.webhook.changed.length > 0) {
    changes.push({ verb: 'update', subject: `${scopeName(wanted.scope)} webhook ${plan.webhook.id}`, detail: plan.webhook.changed.join('; ') });
  } else {
    changes.push({ verb: 'keep', subject: `${scopeName(wanted.scope)} webhook ${plan.webhook.id}`, detail: 'as postload expects (the secret would be sent again: Fivetran never shows it)' });
  }
  return changes;
}

/** `postload connect --check` for Fivetran. */
export async function checkFivetranRegistration(client: FivetranClient, io: Pick<Io, 'store' | 'deadline'>, url: string, scope: FivetranWebhookScope | undefined, secret: SecretTarget): Promise<Finding[]> {
  if (scope) await readScope(client, scope, io.deadline);
  const [webhooks, secretVersions] = await Promise.all([client.listWebhooks({ deadline: io.deadline }), io.store.enabledVersions(secret)]);
  return checkFivetran({ webhooks, secretVersions }, url, scope, secret.name);
}
