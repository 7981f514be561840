import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { addConnectCommand } from './connect/register.js';
import { CloudContext } from './context.js';
import { EXIT, isCliError, type ExitCode } from './errors.js';
import { Output, type Io } from './output.js';
import { DEPLOYMENT_NAMES } from '../shared/deployment-names.js';
import { SECRET_SETTINGS, VENDORS, type Vendor } from './payloads.js';

// Each command's module (and the Google client libraries it needs) is loaded when the
// command runs, so `postload --help` answers at once.

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  the answer is no: a check failed, a webhook was refused, an event failed, a dead letter was not replayed
  2  the command line is wrong
  3  could not ask: credentials, project, a missing subscription or collection, an unreachable service
  4  --wait gave up before the processor finished

Environment: GOOGLE_CLOUD_PROJECT (or --project), PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST
for the local stack (npm start), otherwise Application Default Credentials; SYNC_EVENTS_TOPIC,
DEAD_LETTER_SUBSCRIPTION (a name or the full id \`terraform output\` prints), AUDIT_COLLECTION
when not the Terraform defaults.`;

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of at least 0');
  return n;
}

function port(value: string): number {
  const n = nonNegativeInteger(value);
  if (n > 65_535) throw new InvalidArgumentError('must be a port number from 0 to 65535');
  return n;
}

/** The `postload` program. Every action resolves to an exit code; nothing calls process.exit here. */
export function program(io: Io, setExit: (code: ExitCode) => void): Command {
  const root = new Command('postload')
    .description('Operate postload: register the webhooks with the vendors, send signed test webhooks, replay dead letters, read the audit trail, check a configuration.')
    .option('--project <id>', 'Google Cloud project (default: GOOGLE_CLOUD_PROJECT, or the emulators\' postload-local, or ADC\'s)')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  // --project may come before or after the subcommand.
  const run = (opts: { json?: boolean; project?: string }, action: (context: CloudContext, out: Output) => Promise<ExitCode>) => async () => {
    const out = new Output(io, Boolean(opts.json));
    const context = new CloudContext(io.env, opts.project ?? root.opts<{ project?: string }>().project);
    try {
      setExit(await action(context, out));
    } catch (error) {
      out.endProgress();
      if (isCliError(error)) {
        out.error(`postload: ${error.message}${error.fix ? `\n  fix: ${error.fix}` : ''}`);
        setExit(error.exitCode);
      } else {
        out.error(`postload: unexpected error: ${(error as Error).stack ?? String(error)}`);
        setExit(EXIT.failed);
      }
    } finally {
      await context.close();
    }
  };

  root
    .command('send')
    .description('send a webhook authenticated as the vendor does: its own test (--test, starts nothing), or a real event, named first')
    .addArgument(new Argument('<vendor>', 'who sends it').choices(VENDORS))
    .option('--url <url>', "the ingest function's endpoint, e.g. http://127.0.0.1:8080/fivetran (not needed with --dry-run)")
    .option('--test', "send what the vendor's own test sends (starts nothing) and follow it to its audit record")
    .option('--event <name>', 'a real event: Fivetran sync_end, sync_start, ...; Airbyte sync-succeeded|sync-failed; dbt Cloud job.run.completed|started|errored')
    .option('--status <status>', 'Fivetran SUCCESSFUL|FAILURE|RESCHEDULED|..., Airbyte succeeded|failed, dbt Cloud Success|Errored|Cancelled')
    .option('--connector <id>', 'Fivetran connector id, Airbyte connection id, dbt Cloud job id')
    .option('--routing <file>', 'the routing file a real event is planned with, to name the dbt jobs and joins it starts (default: ROUTING_CONFIG)')
    .option('--dry-run', 'print what would be sent and what it would start; send nothing')
    .option('--secret <value>', `the secret or an sm:// reference (default: ${Object.values(SECRET_SETTINGS).join(' / ')})`)
    .option('--wait', 'follow the event in the audit trail until the processor is done, and print what happened (--test always does)')
    .addOption(new Option('--timeout <seconds>', 'how long --wait waits').argParser(positiveInteger).default(60))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  postload send fivetran --test --url http://127.0.0.1:8080/fivetran --secret local-fivetran-secret\n  postload send fivetran --event sync_end --connector orders_pg --routing terraform/routing.json --dry-run\n  AIRBYTE_WEBHOOK_TOKEN=sm://postload-airbyte-webhook-token postload send airbyte --test --url "$(terraform output -raw airbyte_webhook_url)"\n${EXIT_CODES_HELP}`,
    )
    .action(
      (
        vendor: Vendor,
        opts: { url?: string; test?: boolean; event?: string; status?: string; connector?: string; routing?: string; dryRun?: boolean; secret?: string; wait?: boolean; timeout: number; json?: boolean },
      ) =>
        run(opts, async (context, out) =>
          (await import('./send.js')).send(
            vendor,
            {
              ...(opts.url ? { url: opts.url } : {}),
              event: opts.event,
              status: opts.status,
              connector: opts.connector,
              secret: opts.secret,
              ...(opts.routing ? { routing: opts.routing } : {}),
              test: Boolean(opts.test),
              dryRun: Boolean(opts.dryRun),
              wait: Boolean(opts.wait),
              timeoutSeconds: opts.timeout,
            },
            context,
            out,
          ),
        )(),
    );

  root
    .command('replay')
    .description('republish dead letters to the topic (data and original attributes), acknowledging each only after its publish is confirmed')
    .addOption(new Option('--limit <n>', 'replay at most this many').argParser(positiveInteger).default(100))
    .option('--dry-run', 'show what would be replayed; publish and acknowledge nothing')
    .option('--event <id>', 'replay only the dead letters of this event id')
    .option('--subscription <name>', `the dead-letter subscription, a name or the full id \`terraform output -raw dead_letter_subscription\` prints (default: DEAD_LETTER_SUBSCRIPTION, else ${DEPLOYMENT_NAMES.deadLetterSubscription.name})`)
    .option('--topic <name>', `the topic to republish to, a name or the full id \`terraform output -raw sync_events_topic\` prints (default: SYNC_EVENTS_TOPIC, else ${DEPLOYMENT_NAMES.topic.name})`)
    .option('--json', 'print JSON')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((opts: { limit: number; dryRun?: boolean; event?: string; subscription?: string; topic?: string; json?: boolean }) =>
      run(opts, async (context, out) =>
        (await import('./replay.js')).replayCommand(
          { limit: opts.limit, dryRun: Boolean(opts.dryRun), ...(opts.event ? { eventId: opts.event } : {}), ...(opts.subscription ? { subscription: opts.subscription } : {}), ...(opts.topic ? { topic: opts.topic } : {}) },
          context,
          out,
        ),
      )(),
    );

  root
    .command('events')
    .description('the sync history from the audit trail, newest first')
    .option('--connector <id>', 'only this connector (Fivetran connector id, Airbyte connection id)')
    .option('--source <source>', 'only fivetran, airbyte or dbt-cloud')
    .option('--type <type>', 'only this SyncEvent type, e.g. sync.failed')
    .option('--status <status>', 'only this sync status (succeeded, failed, ...)')
    .option('--outcome <outcome>', "only this processor outcome (processed, retrying, failed, received)")
    .option('--since <when>', 'how far back: 30m, 24h, 7d or an ISO date', '24h')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveInteger).default(50))
    .option('--json', 'print JSON')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((opts: { connector?: string; source?: string; type?: string; status?: string; outcome?: string; since: string; limit: number; json?: boolean; project?: string }) =>
      run(opts, async (context, out) => {
        const { json: _json, project: _project, since, ...filters } = opts;
        const { listEvents, parseSince } = await import('./event-report.js');
        return listEvents({ ...filters, since: parseSince(since) }, context, out);
      })(),
    );

  root
    .command('event')
    .description("one event's story: deliveries, each action with its requests and errors, the dbt run, the Slack messages")
    .argument('<id>', 'the event id (the ingest answer and `postload events` print it)')
    .option('--json', 'print JSON')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((id: string, opts: { json?: boolean }) => run(opts, async (context, out) => (await import('./event-report.js')).showEvent(id, context, out))());

  root
    .command('ui')
    .description('serve the status page on 127.0.0.1: connectors, events, runs, joins, quarantined events and dead letters (read-only, from the audit trail)')
    .addOption(new Option('--port <port>', 'port on 127.0.0.1 (0: any free one)').argParser(port).default(8089))
    .addOption(new Option('--refresh <seconds>', 'how often the pages reload themselves (0: never)').argParser(nonNegativeInteger).default(60))
    .addHelpText('after', `\nExamples:\n  postload ui                      # the local stack's, when npm start runs (or with FIRESTORE_EMULATOR_HOST)\n  postload ui --project my-project # a deployment's, with your Application Default Credentials\n${EXIT_CODES_HELP}`)
    .action((opts: { port: number; refresh: number; project?: string }) =>
      run(opts, async (context, out) => (await import('./ui.js')).uiCommand({ port: opts.port, refreshSeconds: opts.refresh }, context, out))(),
    );

  root
    .command('check')
    .description('check a configuration before deploying: routing schema, settings, secrets, dbt Cloud jobs (reads the environment as the functions would)')
    .option('--routing <file>', 'the routing file to check (default: ROUTING_CONFIG)')
    .option('--json', 'print JSON')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((opts: { routing?: string; json?: boolean; project?: string }) =>
      run(opts, async (_context, out) => {
        const { checkCommand } = await import('./check.js');
        // The functions take their project from GOOGLE_CLOUD_PROJECT; --project stands in for it.
        const project = opts.project ?? root.opts<{ project?: string }>().project;
        return checkCommand(project ? { ...io.env, GOOGLE_CLOUD_PROJECT: project } : io.env, opts.routing ? { routing: opts.routing } : {}, out);
      })());

  addConnectCommand(root, run);

  for (const command of root.commands.flatMap((c) => [c, ...c.commands])) {
    command
      .option('--project <id>', 'Google Cloud project (as before the subcommand)')
      .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
      .showHelpAfterError('(run with --help for usage)')
      .exitOverride();
  }
  return root;
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const cli = program(io, (c) => (code = c));
  try {
    await cli.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exitCode 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
  return code;
}
