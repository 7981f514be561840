import { fitLine, outputWidth } from '../cli/table.js';
import { resolve } from 'node:path';
import { coloursWanted, painter } from './console-output.js';
import { exitCodeFor, onStopRequest, stopAll, type StopRequest } from './lifecycle.js';
import { DEFAULT_ROUTING_FILE, DEVELOPMENT_SECRETS, readLocalSettings, type LocalSettings } from './local-settings.js';
import { startStack, type LocalStack } from './stack.js';
import { removeStackState, stateFilePath, writeStackState } from './stack-state.js';
import { curlExample } from './webhooks.js';

// `npm start`: the whole pipeline on this machine, with live output, until it is asked to
// stop: Ctrl-C, SIGINT/SIGTERM/SIGHUP to this process or to npm (package.json `exec`s this
// process in npm's place, so npm's signals reach it), or npm going away.

const paint = painter(coloursWanted());
const clock = () => new Date().toTimeString().slice(0, 8);
/** A line said once (start-up, the URLs, stopping): whole, whatever the width. */
const say = (line: string) => console.log(`${paint('dim', clock())} ${line}`);
/** A live line about an event: on a terminal it fits the width (read at each line: the window may be resized); piped, whole. */
const print = (line: string) => console.log(fitLine(`${paint('dim', clock())} ${line}`, outputWidth(process.stdout, false)));
const stateFile = stateFilePath();

let stack: LocalStack | undefined;
let exiting = false;

async function shutdown(code: number, reason: string): Promise<never> {
  // The first reason wins; it exits when everything is stopped.
  if (exiting) return new Promise<never>(() => {});
  exiting = true;
  // First, so the CLI stops pointing at a stack that is going away.
  removeStackState(stateFile);
  say(`${reason}: stopping everything…`);
  await (stack ? stack.stop() : stopAll());
  say('stopped: emulators, functions and stand-ins are gone, ports freed');
  process.exit(code);
}

const describe = (request: StopRequest) => ('signal' in request ? (request.signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : request.signal) : `the parent process (pid ${request.parentGone}) went away`);
// Before anything starts, so a request during start-up also cleans up.
onStopRequest((request) => void shutdown(exitCodeFor(request), describe(request)), { watchParent: true });
process.once('exit', () => removeStackState(stateFile));

let settings: LocalSettings;
try {
  settings = readLocalSettings();
} catch (error) {
  console.error(`postload: ${(error as Error).message}`);
  process.exit(1);
}

say(`starting postload locally (project ${settings.projectId})…`);
try {
  stack = await startStack({ settings, print, paint, statusPage: true });
} catch (error) {
  console.error(paint('red', `postload could not start: ${(error as Error).message}`));
  await shutdown(1, 'start-up failed');
}
const running = stack!;

const auditCollection = process.env.AUDIT_COLLECTION?.trim() || 'syncEvents';
const connectorsCollection = process.env.CONNECTORS_COLLECTION?.trim() || 'connectors';
const development = (Object.keys(DEVELOPMENT_SECRETS) as Array<keyof typeof DEVELOPMENT_SECRETS>).filter((name) => developmentValueUsed(settings, name));
writeStackState(stateFile, {
  version: 1,
  pid: process.pid,
  startedAt: new Date().toISOString(),
  projectId: running.projectId,
  pubsubEmulatorHost: running.pubsubHost,
  firestoreEmulatorHost: running.firestoreHost,
  topic: running.topic,
  deadLetterSubscription: running.deadLetterSubscription,
  auditCollection,
  connectorsCollection,
  ingestUrl: running.ingest.url,
  developmentSecrets: development,
  // A path relative to where npm start runs means nothing to a command run elsewhere.
  routing: settings.routing.trimStart().startsWith('{') ? settings.routing : resolve(settings.routing),
});

const given = (value: string | undefined) => (value ? 'given' : 'started');
const devSecret = (name: keyof typeof DEVELOPMENT_SECRETS) => (development.includes(name) ? ' (development value)' : '');
say(`Pub/Sub emulator   ${running.pubsubHost} (${given(settings.pubsubEmulatorHost)}): topic ${running.topic} → push ${running.pushSubscription} → processor; dead letters on ${running.deadLetterSubscription}${running.deadLetterPolicy ? '' : ' (policy refused by the emulator)'}`);
say(`Firestore emulator ${running.firestoreHost} (${given(settings.firestoreEmulatorHost)}): audit in ${auditCollection}, connectors in ${connectorsCollection}`);
say(`processor          ${running.processor.url} routing ${settings.routing === DEFAULT_ROUTING_FILE ? 'functions/local/routing.local.json (default)' : settings.routing.trimStart().startsWith('{') ? 'inline JSON' : settings.routing}`);
say(`dbt Cloud          ${running.dbt ? `stand-in at ${running.dbtBaseUrl} (prints each request; reports its runs to /dbt-cloud)` : running.dbtBaseUrl}, account ${settings.dbtAccountId}`);
say(`Slack              ${running.slack ? `stand-in at ${running.slack.url} (prints each message)` : 'SLACK_WEBHOOK_URL'}`);
say(`sweep              ${running.sweep.url}, ticked every ${settings.sweepTickSeconds || '(never: SWEEP_TICK_SECONDS=0)'}${settings.sweepTickSeconds ? ' s' : ''} through the emulator; Fivetran API ${running.fivetranApi ? `stand-in at ${running.fivetranApi.url}/v1` : settings.fivetranApiBaseUrl}, Airbyte API ${running.airbyteApi ? `stand-in at ${running.airbyteApi.url}/v1` : settings.airbyteApiBaseUrl} (npx postload freshness shows what it judged)`);
say(`status page        ${running.statusPageUrl} (read-only; \`npx postload ui\` serves the same for a deployment)`);
say(`secrets            FIVETRAN_WEBHOOK_SECRET${devSecret('FIVETRAN_WEBHOOK_SECRET')}, AIRBYTE_WEBHOOK_TOKEN${devSecret('AIRBYTE_WEBHOOK_TOKEN')}, DBT_CLOUD_WEBHOOK_SECRET${devSecret('DBT_CLOUD_WEBHOOK_SECRET')}`);
say(paint('green', paint('bold', `postload is ready: Fivetran webhook ${running.fivetranUrl}  Airbyte webhook ${running.airbyteUrl}  dbt Cloud webhook ${running.dbtCloudUrl}`)));
console.log(
  [
    '',
    'In another terminal, in this folder (the postload command finds this stack by itself):',
    '',
    '  npx postload send fivetran --test                  # what Fivetran\'s own test sends: starts nothing',
    '  npx postload send fivetran --event sync_end --wait # a real sync_end: names the jobs it starts, sends it, follows it',
    '  npx postload events                                # what happened, newest first',
  '  npx postload freshness                             # what the sweep judged of each connector',
    '',
    'Or paste a signed Fivetran webhook:',
    '',
    curlExample(running.fivetranUrl, settings.fivetranSecret).join('\n\n'),
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

try {
  await running.failed;
} catch (error) {
  console.error(paint('red', (error as Error).message));
  await shutdown(1, 'a process of the stack failed');
}

function developmentValueUsed(s: LocalSettings, name: keyof typeof DEVELOPMENT_SECRETS): boolean {
  const value = { FIVETRAN_WEBHOOK_SECRET: s.fivetranSecret, AIRBYTE_WEBHOOK_TOKEN: s.airbyteToken, DBT_CLOUD_WEBHOOK_SECRET: s.dbtCloudWebhookSecret, DBT_CLOUD_API_TOKEN: s.dbtApiToken, SYNC_EVENT_SIGNING_KEY: s.syncEventSigningKey, SLACK_SIGNING_SECRET: s.slackSigningSecret }[name];
  return value === DEVELOPMENT_SECRETS[name];
}
