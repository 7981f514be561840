import type { AirbyteClient, AirbyteNotificationType, AirbyteWorkspace } from '../../vendors/airbyte.js';
import { VendorApiError } from '../../vendors/vendor-error.js';
import { CliError, EXIT } from '../errors.js';
import { checkAirbyteWorkspace, planAirbyte, sendsToPostload, urlWithToken, type AirbytePlan, type AirbyteWanted, type SlotPlan } from './airbyte-plan.js';
import type { Io } from './io.js';
import { TEST_RETRY_WAITS_MS } from './fivetran.js';
import type { ConnectReport, Finding } from './report.js';
import { newSecretValue, type SecretTarget } from './secret-store.js';

/**
 * What connect sends to postload's Airbyte URL before pointing Airbyte at it. The ingest
 * function classifies a notification starting "This is a test" as Airbyte's Test button
 * (NotificationsHandler.kt's test messages) and publishes it as type `test`, which starts
 * nothing; the text says who sent it.
 */
export const AIRBYTE_PROBE = JSON.stringify({ text: 'This is a test from postload connect: the ingest function accepts the Airbyte token. It starts nothing.' });

/**
 * Airbyte never retries a notification, so before it sends any to postload, connect makes
 * sure the ingest function accepts the token (like Fivetran's creation test, which Airbyte
 * lacks). A token added a moment ago may take up to 30 s to be read (the function re-reads
 * Secret Manager on a failed check at most that often): the probe is repeated meanwhile.
 */
async function probe(io: Io, url: string, shown: string): Promise<void> {
  const waits = [...TEST_RETRY_WAITS_MS];
  for (;;) {
    const status = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: AIRBYTE_PROBE, signal: AbortSignal.timeout(15_000) }).then(
      (response) => response.status,
      (error: unknown) => `no answer (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name})`,
    );
    if (typeof status === 'number' && status >= 200 && status < 300) return;
    const wait = waits.shift();
    if (wait === undefined || wait >= io.deadline.remainingMs()) {
      throw new CliError(
        `the ingest function at ${shown} does not accept the Airbyte token (last answer: ${status}), so Airbyte was not changed: it never retries a notification, and each would be lost`,
        'deploy the ingest function first (terraform apply), check that AIRBYTE_WEBHOOK_TOKEN names the secret it reads, and run connect again',
        EXIT.failed,
      );
    }
    io.say(`the ingest function at ${shown} answered ${status} to the new token; it may not have read it yet: trying again in ${wait / 1000} s`);
    await io.sleep(wait);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function readWorkspace(client: AirbyteClient, workspaceId: string, io: Pick<Io, 'deadline'>): Promise<AirbyteWorkspace> {
  if (!UUID.test(workspaceId)) {
    throw new CliError(`"${workspaceId.slice(0, 80)}" is not an Airbyte workspace id (a UUID)`, "copy it from the workspace's URL: …/workspaces/WORKSPACE_ID/…", EXIT.usage);
  }
  const workspace = await client.getWorkspace({ deadline: io.deadline, workspaceId });
  if (!workspace) throw new CliError(`Airbyte has no workspace ${workspaceId} (or this application may not see it)`, "copy the id from the workspace's URL (…/workspaces/WORKSPACE_ID/…), and check that the application belongs to its organisation", EXIT.usage);
  return workspace;
}

async function newestToken(io: Io, secret: SecretTarget): Promise<{ version: string; value: string } | null> {
  const [newest] = await io.store.enabledVersions(secret);
  return newest ? { version: newest, value: await io.store.read(secret, newest) } : null;
}

/**
 * `postload connect airbyte --workspace W`. Airbyte keeps one webhook URL per notification
 * type, so connect may only take a slot that is free or already postload's; another tool's
 * URL makes it refuse, before any change, unless --force.
 */
export async function connectAirbyte(client: AirbyteClient, io: Io, workspaceId: string, wanted: AirbyteWanted, secret: SecretTarget, dryRun: boolean): Promise<ConnectReport> {
  const workspace = await readWorkspace(client, workspaceId, io);
  const token = await newestToken(io, secret);
  const plan = planAirbyte({ workspace, token }, wanted);
  const occupied = plan.slots.filter((s) => s.action === 'occupied');
  if (occupied.length > 0) {
    const free = wanted.types.filter((t) => !occupied.some((s) => s.type === t));
    throw new CliError(
      `Airbyte workspace ${workspaceId}: ${occupied.map((s) => `${s.type} ${s.why}`).join('; ')}. Airbyte has one webhook URL per notification type, and connect never replaces another tool's without --force: nothing was changed`,
      `pass --force to point ${occupied.length > 1 ? 'them' : 'it'} at postload instead${free.length > 0 ? `, or --notifications ${free.join(',')} to leave ${occupied.length > 1 ? 'them' : 'it'} as ${occupied.length > 1 ? 'they are' : 'it is'}` : ''}`,
      EXIT.failed,
    );
  }
  const report: ConnectReport = { vendor: 'airbyte', target: `workspace ${workspaceId}`, url: wanted.url, dryRun, changes: [], notes: [] };
  const toSet = plan.slots.filter((s) => s.action === 'set' || s.action === 'take-over');
  if (dryRun) {
    report.changes.push(...describe(plan, secret, wanted.url));
    return report;
  }
  let value: string;
  if (plan.token.kind === 'generate') {
    value = newSecretValue();
    const version = await io.store.add(secret, value);
    report.changes.push({ verb: 'add-version', subject: secret.name, detail: `version ${version.slice(version.lastIndexOf('/') + 1)}: a new random token, 32 bytes (${plan.token.why}); it travels in the URL because Airbyte cannot sign` });
  } else {
    value = plan.token.value;
  }
  if (toSet.length > 0) {
    const url = urlWithToken(wanted.url, value);
    await probe(io, url, `${wanted.url}?token=…`);
    const webhooks = Object.fromEntries(toSet.map((s) => [s.type, { enabled: true, url }])) as Partial<Record<AirbyteNotificationType, { enabled: boolean; url: string }>>;
    const after = await client.setWebhooks({ deadline: io.deadline, workspaceId, webhooks });
    const wrong = toSet.filter((s) => after.webhooks[s.type].url !== url || !after.webhooks[s.type].enabled);
    if (wrong.length > 0) throw new VendorApiError('airbyte', 'garbage', `Airbyte PATCH /v1/workspaces/${workspaceId}: the answer does not show postload's URL on ${wrong.map((s) => s.type).join(', ')}`);
  }
  report.changes.push(...slotChanges(plan, wanted.url));
  return report;
}

/** One line per outcome: "notifications failure, success → URL?token=… (no webhook yet)". */
function slotChanges(plan: AirbytePlan, url: string): ConnectReport['changes'] {
  const groups = new Map<string, SlotPlan[]>();
  for (const slot of plan.slots) groups.set(`${slot.action === 'keep'}|${slot.why}`, [...(groups.get(`${slot.action === 'keep'}|${slot.why}`) ?? []), slot]);
  return [...groups.values()].map((slots) => {
    const subject = `notification${slots.length > 1 ? 's' : ''} ${slots.map((s) => s.type).join(', ')}`;
    const { action, why } = slots[0]!;
    return action === 'keep' ? { verb: 'keep', subject, detail: why } : { verb: 'update', subject, detail: `→ ${url}?token=… (${why})` };
  });
}

function describe(plan: AirbytePlan, secret: SecretTarget, url: string): ConnectReport['changes'] {
  return [...(plan.token.kind === 'generate' ? [{ verb: 'add-version' as const, subject: secret.name, detail: `a new random token (${plan.token.why})` }] : []), ...slotChanges(plan, url)];
}

/**
 * `postload connect --check` for Airbyte: the workspace given, or every workspace the
 * application sees that sends anything to postload (at least one must).
 */
export async function checkAirbyteRegistration(client: AirbyteClient, io: Io, url: string, workspaceId: string | undefined, secret: SecretTarget): Promise<Finding[]> {
  const workspaces = workspaceId ? [await readWorkspace(client, workspaceId, io)] : (await client.listWorkspaces({ deadline: io.deadline })).filter((w) => sendsToPostload(w, url));
  const versions = await io.store.enabledVersions(secret);
  const accepted = await Promise.all(versions.map((v) => io.store.read(secret, v)));
  const findings = workspaces.map((w) => checkAirbyteWorkspace(w, url, accepted));
  if (workspaces.length === 0) findings.push({ vendor: 'airbyte', subject: 'workspaces', ok: false, details: [`no workspace this application sees sends notifications to ${url}`], fix: 'postload connect airbyte --workspace WORKSPACE_ID' });
  if (versions.length === 0) findings.push({ vendor: 'airbyte', subject: secret.name, ok: false, details: ['no enabled version: the ingest function refuses every Airbyte notification'], fix: `postload connect airbyte --workspace ${workspaceId ?? 'WORKSPACE_ID'}` });
  return findings;
}
