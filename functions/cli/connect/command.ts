import { deadlineIn } from '../../processor/clients/http-retry.js';
import { secretManagerClient } from '../../shared/secret-manager-client.js';
import { AIRBYTE_NOTIFICATION_TYPES, type AirbyteNotificationType } from '../../vendors/airbyte.js';
import { CONNECT_RETRY, type RetryPolicy } from '../../vendors/retry.js';
import type { CloudContext } from '../context.js';
import { CliError, EXIT, type ExitCode } from '../errors.js';
import type { Output } from '../output.js';
import { AIRBYTE_TYPES } from './airbyte-plan.js';
import { checkAirbyteRegistration, connectAirbyte } from './airbyte.js';
import { checkDbtCloudRegistration, connectDbtCloud } from './dbt-cloud.js';
import { endpointsFrom } from './endpoints.js';
import { checkFivetranRegistration, connectFivetran } from './fivetran.js';
import type { Io } from './io.js';
import { printFindings, printReport } from './print.js';
import { VENDOR_NAMES, type ConnectReport, type ConnectVendor, type Finding } from './report.js';
import { SecretStore, secretTarget } from './secret-store.js';
import { airbyteClient, credentialsGiven, CREDENTIALS, dbtCloudClient, fivetranClient, type VendorClientOptions } from './vendor-clients.js';
import { explainVendorError } from './vendor-errors.js';

export interface ConnectOptions {
  /** The ingest function's URL (--ingest-url, else POSTLOAD_INGEST_URL). */
  ingestUrl?: string | undefined;
  dryRun: boolean;
  check: boolean;
  newSecret: boolean;
  /** Fivetran: --account (a boolean) or --group G. */
  fivetranScope?: { type: 'account' } | { type: 'group'; groupId: string };
  inactive?: boolean;
  /** Airbyte. */
  workspace?: string;
  notifications?: string[];
  force?: boolean;
  /** dbt Cloud: --account A (or DBT_CLOUD_ACCOUNT_ID), --job J …. */
  dbtAccount?: string;
  jobs?: number[];
}

/** A run of connect takes at most this long, Fivetran's creation test and its waits included. */
const RUN_BUDGET_MS = 10 * 60_000;

export interface CommandDeps {
  sleep?: (ms: number) => Promise<void>;
}

/** `postload connect <vendor>` (and `--check` for one vendor). */
export async function connectCommand(vendor: ConnectVendor, options: ConnectOptions, context: CloudContext, out: Output, deps: CommandDeps = {}): Promise<ExitCode> {
  const endpoints = endpointsFrom(options.ingestUrl ?? context.env.POSTLOAD_INGEST_URL);
  const wanted = vendorWanted(vendor, options, context.env);
  const { io, clients } = await setUp(context, (text) => out.error(text), deps);
  const secret = secretTarget(context.env, vendor, await context.project());
  try {
    if (options.check) {
      const findings = await checkOne(vendor, clients, io, endpoints, options, wanted, secret);
      printFindings(findings, [], out);
      return findings.every((f) => f.ok) ? EXIT.ok : EXIT.failed;
    }
    let report: ConnectReport;
    if (vendor === 'fivetran') {
      report = await connectFivetran(fivetranClient(clients), io, { scope: wanted.fivetranScope!, url: endpoints.fivetran, active: !options.inactive, newSecret: options.newSecret }, secret, options.dryRun);
    } else if (vendor === 'airbyte') {
      report = await connectAirbyte(airbyteClient(clients), io, options.workspace!, { url: endpoints.airbyte, types: wanted.types, force: Boolean(options.force), newSecret: options.newSecret }, secret, options.dryRun);
    } else {
      report = await connectDbtCloud(dbtCloudClient(clients), io, { accountId: wanted.dbtAccount!, url: endpoints.dbtCloud, jobIds: options.jobs ?? [], newSecret: options.newSecret }, secret, options.dryRun);
    }
    printReport(report, out);
    return EXIT.ok;
  } catch (error) {
    throw explainVendorError(error, vendor);
  }
}

/**
 * `postload connect --check`: every vendor whose API credentials are set, each registration
 * pointing at postload compared with what postload expects. Exit 1 on any difference.
 */
export async function connectCheckCommand(options: Pick<ConnectOptions, 'ingestUrl'>, context: CloudContext, out: Output, deps: CommandDeps = {}): Promise<ExitCode> {
  const { findings, skipped } = await checkRegistrations(options, context, (text) => out.error(text), deps);
  printFindings(findings, skipped, out);
  return findings.every((f) => f.ok) ? EXIT.ok : EXIT.failed;
}

/**
 * What `connect --check` finds, as data (for a status page as much as for the command):
 * a finding per registration or missing one, and the vendors skipped for want of credentials.
 * Throws a CliError when it cannot ask (no credentials at all, refused, unreachable).
 */
export async function checkRegistrations(options: Pick<ConnectOptions, 'ingestUrl'>, context: CloudContext, say: (text: string) => void, deps: CommandDeps = {}): Promise<{ findings: Finding[]; skipped: string[] }> {
  const endpoints = endpointsFrom(options.ingestUrl ?? context.env.POSTLOAD_INGEST_URL);
  const vendors = (Object.keys(VENDOR_NAMES) as ConnectVendor[]).filter((v) => credentialsGiven(context.env, v));
  if (vendors.length === 0) {
    throw new CliError(
      'no vendor API credentials are set, so there is nothing to check',
      `set ${Object.values(CREDENTIALS).map((c) => c.settings.join(' + ')).join(', or ')} (values or sm:// references)`,
      EXIT.environment,
    );
  }
  const { io, clients } = await setUp(context, say, deps);
  const project = await context.project();
  const findings: Finding[] = [];
  const skipped = (Object.keys(VENDOR_NAMES) as ConnectVendor[])
    .filter((v) => !vendors.includes(v))
    .map((v) => `${VENDOR_NAMES[v]}: not checked (${CREDENTIALS[v].settings.join(' / ')} not set)`);
  for (const vendor of vendors) {
    const secret = secretTarget(context.env, vendor, project);
    const account = context.env.DBT_CLOUD_ACCOUNT_ID?.trim();
    if (vendor === 'dbt-cloud' && !account) {
      findings.push({ vendor, subject: 'account', ok: false, details: ['DBT_CLOUD_ACCOUNT_ID is not set, so no account to check'], fix: 'set DBT_CLOUD_ACCOUNT_ID, or run postload connect dbt-cloud --account ACCOUNT --check' });
      continue;
    }
    try {
      findings.push(...(await checkOne(vendor, clients, io, endpoints, {}, { types: AIRBYTE_TYPES, ...(account ? { dbtAccount: account } : {}) }, secret)));
    } catch (error) {
      throw explainVendorError(error, vendor);
    }
  }
  return { findings, skipped };
}

interface Wanted {
  fivetranScope?: { type: 'account' } | { type: 'group'; groupId: string };
  types: readonly AirbyteNotificationType[];
  dbtAccount?: string;
}

/** The vendor's target from the flags: checked before anything is asked. */
function vendorWanted(vendor: ConnectVendor, options: ConnectOptions, env: Record<string, string | undefined>): Wanted {
  if (vendor === 'fivetran') {
    // --check may look at every webhook pointing here, whatever its scope.
    if (options.check && !options.fivetranScope) return { types: AIRBYTE_TYPES };
    if (!options.fivetranScope) throw new CliError('connect fivetran needs a scope: the whole account, or one group (destination)', 'pass --account, or --group GROUP_ID', EXIT.usage);
    return { fivetranScope: options.fivetranScope, types: AIRBYTE_TYPES };
  }
  if (vendor === 'airbyte') {
    if (!options.workspace && !options.check) throw new CliError('connect airbyte needs the workspace whose notifications go to postload', "pass --workspace WORKSPACE_ID (from the workspace's URL)", EXIT.usage);
    const types = options.notifications ?? [...AIRBYTE_TYPES];
    const unknown = types.filter((t) => !(AIRBYTE_NOTIFICATION_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0 || types.length === 0) {
      throw new CliError(`--notifications: ${unknown.length > 0 ? `${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not an Airbyte notification type` : 'no type given'}`, `use some of ${AIRBYTE_NOTIFICATION_TYPES.join(', ')}`, EXIT.usage);
    }
    return { types: types as AirbyteNotificationType[] };
  }
  const account = options.dbtAccount ?? env.DBT_CLOUD_ACCOUNT_ID?.trim();
  if (!account) throw new CliError('connect dbt-cloud needs the account', 'pass --account ACCOUNT_ID (the number in /deploy/ACCOUNT/… URLs), or set DBT_CLOUD_ACCOUNT_ID', EXIT.usage);
  return { types: AIRBYTE_TYPES, dbtAccount: account };
}

async function setUp(context: CloudContext, say: (text: string) => void, deps: CommandDeps): Promise<{ io: Io; clients: VendorClientOptions }> {
  const project = await context.project();
  // Asked first, as for Pub/Sub and Firestore: without credentials the client would fail later, less clearly.
  if (!context.env.SECRET_MANAGER_EMULATOR_HOST?.trim()) await context.credentials('Secret Manager');
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const retry: RetryPolicy = { ...CONNECT_RETRY, sleep, onWait: ({ label, waitMs, reason }) => say(`${label}: ${reason}; trying again in ${Math.ceil(waitMs / 1000)} s`) };
  const io: Io = { store: new SecretStore(() => secretManagerClient(context.env), project), deadline: deadlineIn(RUN_BUDGET_MS), sleep, say };
  return { io, clients: { env: context.env, project, retry } };
}

async function checkOne(
  vendor: ConnectVendor,
  clients: VendorClientOptions,
  io: Io,
  endpoints: ReturnType<typeof endpointsFrom>,
  options: Pick<ConnectOptions, 'workspace' | 'jobs'>,
  wanted: Wanted,
  secret: ReturnType<typeof secretTarget>,
): Promise<Finding[]> {
  if (vendor === 'fivetran') return checkFivetranRegistration(fivetranClient(clients), io, endpoints.fivetran, wanted.fivetranScope, secret);
  if (vendor === 'airbyte') return checkAirbyteRegistration(airbyteClient(clients), io, endpoints.airbyte, options.workspace, secret);
  return checkDbtCloudRegistration(dbtCloudClient(clients), io, endpoints.dbtCloud, wanted.dbtAccount!, options.jobs && options.jobs.length > 0 ? options.jobs : undefined, secret);
}
