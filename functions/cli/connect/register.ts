import { Command, InvalidArgumentError } from 'commander';
import type { CloudContext } from '../context.js';
import { CliError, EXIT, type ExitCode } from '../errors.js';
import type { Output } from '../output.js';
import type { CommandDeps } from './command.js';

type Run = (opts: { json?: boolean; project?: string; url?: string }, action: (context: CloudContext, out: Output) => Promise<ExitCode>) => () => Promise<void>;

interface Shared {
  ingestUrl?: string;
  dryRun?: boolean;
  check?: boolean;
  newSecret?: boolean;
  json?: boolean;
  project?: string;
}

const HELP = `
It registers the ingest function's URL as the vendor's webhook, or updates the one already
pointing there (a second run changes nothing), and stores the secrets it generates (random,
32 bytes) as new Secret Manager versions, which the functions accept beside the old ones.

The ingest URL: --ingest-url, or POSTLOAD_INGEST_URL; it is \`terraform output -raw ingest_url\`.
API credentials come from the environment only (values or sm:// references), never flags:
  Fivetran   FIVETRAN_API_KEY, FIVETRAN_API_SECRET   (FIVETRAN_API_BASE_URL)
  Airbyte    AIRBYTE_API_CLIENT_ID, AIRBYTE_API_CLIENT_SECRET   (AIRBYTE_API_BASE_URL)
  dbt Cloud  DBT_CLOUD_ADMIN_TOKEN   (DBT_CLOUD_BASE_URL, DBT_CLOUD_ACCOUNT_ID)
The webhook secrets: FIVETRAN_WEBHOOK_SECRET, AIRBYTE_WEBHOOK_TOKEN, DBT_CLOUD_WEBHOOK_SECRET as
sm:// references, or Terraform's secrets postload-… in the project (--project).

Exit codes:
  0  done (or --check: every registration as postload expects)
  1  --check found a difference; a notification slot belongs to another tool (--force); the vendor refused the change
  2  the command line is wrong: a URL that is not HTTPS, no scope, an unknown group, workspace, account or job
  3  could not ask: credentials missing or refused, an unreachable API or Secret Manager, rate-limited`;

function jobId(value: string, previous: number[] = []): number[] {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a dbt Cloud job id (a number)');
  return [...previous, n];
}

/**
 * `postload connect fivetran|airbyte|dbt-cloud` and `postload connect --check`. The options
 * every vendor shares live on `connect` itself (commander gives them to it wherever they
 * appear on the line); each vendor's own are on its subcommand.
 */
export function addConnectCommand(root: Command, run: Run, env: Record<string, string | undefined>, deps: CommandDeps = {}): Command {
  const connect = root
    .command('connect')
    .description("register postload's webhooks with Fivetran, Airbyte and dbt Cloud through their APIs; --check compares what is registered")
    .option('--ingest-url <url>', 'the ingest function\'s URL (default: POSTLOAD_INGEST_URL; `terraform output -raw ingest_url`)')
    .option('--dry-run', 'print the plan; change nothing')
    .option('--check', "compare the vendors' registrations with what postload expects; exit 1 on any difference")
    .option('--new-secret', 'a new secret even when one is stored (Fivetran, Airbyte); a new webhook with a new secret (dbt Cloud)')
    .option('--json', 'print JSON')
    .addHelpText('after', HELP);
  const shared = (): Shared => connect.opts<Shared>();
  const options = (own: Record<string, unknown>) => {
    const s = shared();
    return { ingestUrl: s.ingestUrl, dryRun: Boolean(s.dryRun), check: Boolean(s.check), newSecret: Boolean(s.newSecret), ...own };
  };
  // The ingest URL goes to `run` as the command's URL: connect works on the deployment it names,
  // never on a local stack that happens to run in this clone (vendors cannot reach 127.0.0.1).
  const go = (own: { project?: string }, action: (context: CloudContext, out: Output) => Promise<ExitCode>) => {
    const url = shared().ingestUrl ?? env.POSTLOAD_INGEST_URL?.trim();
    return run({ json: Boolean(shared().json), project: own.project ?? shared().project, ...(url ? { url } : {}) }, action)();
  };

  connect.action(() =>
    go({}, async (context, out) => {
      if (!shared().check) throw new CliError('name a vendor: postload connect fivetran|airbyte|dbt-cloud, or check them all with --check', 'run postload connect --help', EXIT.usage);
      const { connectCheckCommand } = await import('./command.js');
      return connectCheckCommand({ ingestUrl: shared().ingestUrl }, context, out, deps);
    }),
  );

  connect
    .command('fivetran')
    .description('a Fivetran webhook for the whole account (--account) or one group (--group)')
    .option('--account', 'an account webhook: every connector of the account')
    .option('--group <id>', "a group webhook: that destination's connectors")
    .option('--inactive', 'create it inactive (Fivetran tests the URL only when it is activated: run connect again then)')
    .addHelpText('after', `\nShared options (see postload connect --help): --ingest-url, --dry-run, --check, --new-secret, --json\n${HELP}`)
    .action((opts: { account?: boolean; group?: string; inactive?: boolean; project?: string }) =>
      go(opts, async (context, out) => {
        if (opts.account && opts.group) throw new CliError('--account and --group are two scopes: choose one', 'pass --account for every connector, or --group GROUP_ID for one destination', EXIT.usage);
        const scope = opts.account ? { type: 'account' as const } : opts.group ? { type: 'group' as const, groupId: opts.group } : undefined;
        const { connectCommand } = await import('./command.js');
        return connectCommand('fivetran', options({ ...(scope ? { fivetranScope: scope } : {}), inactive: Boolean(opts.inactive) }), context, out, deps);
      }),
    );

  connect
    .command('airbyte')
    .description("a workspace's notification webhooks (one URL per notification type; the token rides in the URL)")
    .option('--workspace <id>', "the workspace (its id, from the workspace's URL)")
    .option('--notifications <types>', 'which types, comma-separated (default: failure,success,connectionUpdate,connectionUpdateActionRequired,syncDisabled,syncDisabledWarning)')
    .option('--force', "replace another tool's URL in a slot postload needs (otherwise connect refuses and changes nothing)")
    .addHelpText('after', `\nShared options (see postload connect --help): --ingest-url, --dry-run, --check, --new-secret, --json\n${HELP}`)
    .action((opts: { workspace?: string; notifications?: string; force?: boolean; project?: string }) =>
      go(opts, async (context, out) => {
        const { connectCommand } = await import('./command.js');
        const notifications = opts.notifications?.split(',').map((t) => t.trim()).filter(Boolean);
        return connectCommand('airbyte', options({ ...(opts.workspace ? { workspace: opts.workspace } : {}), ...(notifications ? { notifications } : {}), force: Boolean(opts.force) }), context, out, deps);
      }),
    );

  connect
    .command('dbt-cloud')
    .description("a dbt Cloud webhook for the account's job runs (all jobs, or --job each)")
    .option('--account <id>', 'the dbt Cloud account (default: DBT_CLOUD_ACCOUNT_ID)')
    .option('--job <id>', 'a job to follow (repeat it; none: every job of the account)', jobId)
    .addHelpText('after', `\nShared options (see postload connect --help): --ingest-url, --dry-run, --check, --new-secret, --json\n${HELP}`)
    .action((opts: { account?: string; job?: number[]; project?: string }) =>
      go(opts, async (context, out) => {
        const { connectCommand } = await import('./command.js');
        return connectCommand('dbt-cloud', options({ ...(opts.account ? { dbtAccount: opts.account } : {}), jobs: opts.job ?? [] }), context, out, deps);
      }),
    );
  return connect;
}
