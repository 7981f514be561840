import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { addConnectCommand } from './connect/register.js';
import { CloudContext } from './context.js';
import { EXIT, isCliError, type ExitCode } from './errors.js';
import { chooseLocalStack } from './local-stack.js';
import { Output, type Io } from './output.js';
import { DEPLOYMENT_NAMES } from '../shared/deployment-names.js';
import { SECRET_SETTINGS, VENDORS, VOCABULARY, type Vendor } from './payloads.js';
import { MIN_PREFIX } from './event-ids.js';
import { eventTypes, oneOf, OUTCOMES, sources, syncStatuses } from './vocabulary.js';

// Each command's module (and the Google client libraries it needs) is loaded when the
// command runs, so `postload --help` answers at once.

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  the answer is no: a check failed, a webhook was refused, an event failed, a dead letter was not replayed
  2  the command line is wrong
  3  could not ask: credentials, project, a missing subscription or collection, an unreachable service
  4  --wait gave up before the processor finished
  5  send: the webhook was accepted, but following it failed (do not send it again)

The local stack: while \`npm start\` runs in this folder, every command uses it with no setup
(it keeps .postload/local-stack.json, or POSTLOAD_STATE_FILE). --project, or
PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST, choose otherwise.
Google Cloud: --project (or GOOGLE_CLOUD_PROJECT) and Application Default Credentials;
SYNC_EVENTS_TOPIC, DEAD_LETTER_SUBSCRIPTION (a name or the full id \`terraform output\` prints),
AUDIT_COLLECTION, CONNECTORS_COLLECTION, FRESHNESS_COLLECTION when not the Terraform defaults.`;

/** What `send --event` and `--status` accept, per vendor. */
function vocabularyHelp(): string {
  const names: Record<Vendor, string> = { fivetran: 'Fivetran', airbyte: 'Airbyte', 'dbt-cloud': 'dbt Cloud' };
  return VENDORS.map((v) => `${names[v]}:\n  --event  ${VOCABULARY[v].events.join(', ')}\n  --status ${VOCABULARY[v].statuses.join(', ')}`).join('\n');
}

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
  const run = (opts: { json?: boolean; wide?: boolean; project?: string; url?: string }, action: (context: CloudContext, out: Output) => Promise<ExitCode>) => async () => {
    const out = new Output(io, { json: Boolean(opts.json), wide: Boolean(opts.wide) });
    const project = opts.project ?? root.opts<{ project?: string }>().project;
    const localStack = chooseLocalStack(io.env, project, opts.url);
    // No metadata server on a laptop: the Google clients would probe for one and warn (bin/postload.js does the same for emulator hosts given).
    if (localStack) process.env.METADATA_SERVER_DETECTION ??= 'none';
    // A project named in the shell loses to the running stack: say so, as it may surprise.
    if (localStack && (io.env.GOOGLE_CLOUD_PROJECT?.trim() || io.env.GCLOUD_PROJECT?.trim())) {
      out.error(`postload: using the local stack (npm start, pid ${localStack.pid}), not GOOGLE_CLOUD_PROJECT; pass --project to use Google Cloud`);
    }
    const context = new CloudContext(io.env, project, localStack);
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
    .option('--url <url>', "the ingest function's endpoint, e.g. https://…/fivetran (default: the running local stack's; not needed with --dry-run)")
    .option('--test', "send what the vendor's own test sends (starts nothing) and follow it to its audit record")
    .option('--event <name>', 'a real event: the notification to send (the list is below)')
    .option('--status <status>', 'how the sync or run ended (Fivetran sync_end, Airbyte, dbt Cloud job.run.completed; the list is below)')
    .option('--connector <id>', 'Fivetran connector id, Airbyte connection id, dbt Cloud job id')
    .option('--routing <file>', 'the routing file a real event is planned with, to name the dbt jobs and joins it starts (default: ROUTING_CONFIG)')
    .option('--dry-run', 'print what would be sent and what it would start; send nothing')
    .option('--secret <value>', `an sm:// Secret Manager reference (preferred), or the secret itself, which is warned about: it stays in shell history and shows in ps (default: ${Object.values(SECRET_SETTINGS).join(' / ')} from the environment)`)
    .option('--wait', 'follow the event in the audit trail until the processor is done, and print what happened (--test always does)')
    .addOption(new Option('--timeout <seconds>', 'how long --wait waits').argParser(positiveInteger).default(60))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `\n${vocabularyHelp()}\n\nExamples:\n  postload send fivetran --event sync_end --wait               # to the running local stack (npm start), planned with its routing\n  postload send airbyte --event schema-propagated --wait\n  postload send fivetran --event sync_end --connector orders_pg --routing terraform/routing.json --dry-run\n  AIRBYTE_WEBHOOK_TOKEN=sm://postload-airbyte-webhook-token postload send airbyte --test --url "$(terraform output -raw airbyte_webhook_url)"\n${EXIT_CODES_HELP}`,
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
    .option('--connector <id or name>', 'only this connector: Fivetran connector id, Airbyte connection id, dbt Cloud job id, or its name')
    .option('--source <source>', 'only fivetran, airbyte or dbt-cloud')
    .option('--type <type>', 'only this SyncEvent type, e.g. sync.failed (the list is in the help below)')
    .option('--status <status>', 'only this sync status (succeeded, failed, ...)')
    .option('--outcome <outcome>', `only this processor outcome (${OUTCOMES.join(', ')})`)
    .option('--since <when>', 'how far back: 30m, 24h, 7d or an ISO date', '24h')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveInteger).default(50))
    .option('--wide', 'never cut a column to fit the terminal')
    .option('--json', 'print JSON')
    .addHelpText('after', () => `\nSyncEvent types: ${eventTypes().join(', ')}\nSync statuses: ${syncStatuses().join(', ')}\n${EXIT_CODES_HELP}`)
    .action((opts: { connector?: string; source?: string; type?: string; status?: string; outcome?: string; since: string; limit: number; wide?: boolean; json?: boolean; project?: string }) =>
      run(opts, async (context, out) => {
        const { json: _json, wide: _wide, project: _project, since, ...filters } = opts;
        // Checked before anything is read: a word that matches nothing would only say "no events".
        if (filters.source !== undefined) filters.source = oneOf('--source', filters.source, 'a source', sources());
        if (filters.type !== undefined) filters.type = oneOf('--type', filters.type, 'a SyncEvent type', eventTypes());
        if (filters.status !== undefined) filters.status = oneOf('--status', filters.status, 'a sync status', syncStatuses(), { anyCase: true });
        if (filters.outcome !== undefined) filters.outcome = oneOf('--outcome', filters.outcome, 'a processor outcome', OUTCOMES, { anyCase: true });
        const { listEvents, parseSince } = await import('./event-report.js');
        return listEvents({ ...filters, since: parseSince(since) }, context, out);
      })(),
    );

  root
    .command('event')
    .description("one event's story: deliveries, each action with its requests and errors, the dbt run, the Slack messages")
    .argument('<id>', `the event id, or its first ${MIN_PREFIX}+ characters (the ingest answer, \`postload events\` and the live log print them)`)
    .option('--json', 'print JSON')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((id: string, opts: { json?: boolean }) => run(opts, async (context, out) => (await import('./event-report.js')).showEvent(id, context, out))());

  const freshness = root
    .command('freshness')
    .description("every watched connector's freshness as the scheduled sweep judged it: failing and overdue first, with the expectation and its source")
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExamples:\n  postload freshness\n  postload freshness pause fivetran:assimilate_seem --for 2d --reason "source migration"\n  postload freshness resume fivetran:assimilate_seem\n${EXIT_CODES_HELP}`)
    .action((opts: { json?: boolean }) => run(opts, async (context, out) => (await import('./freshness.js')).listFreshness(context, out))());
  freshness
    .command('pause')
    .description('snooze one connector: no freshness alert or reminder until the time is up')
    .argument('<connector>', 'fivetran:ID or airbyte:ID, or a connector id or name that names one watched connector')
    .requiredOption('--for <duration>', 'how long: 2h, 1d, 2d, 1w')
    .option('--reason <text>', 'why, kept with the snooze')
    .option('--json', 'print JSON')
    .action((connector: string, opts: { for: string; reason?: string; json?: boolean }) =>
      run(opts, async (context, out) => (await import('./freshness.js')).pauseConnector(connector, opts.for, opts.reason, context, out))(),
    );
  freshness
    .command('resume')
    .description('end a snooze now')
    .argument('<connector>', 'fivetran:ID or airbyte:ID, or a connector id or name')
    .option('--json', 'print JSON')
    .action((connector: string, opts: { json?: boolean }) => run(opts, async (context, out) => (await import('./freshness.js')).pauseConnector(connector, null, undefined, context, out))());

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

  addConnectCommand(root, run, io.env, io.sleep ? { sleep: io.sleep } : {});

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
