import { stopAll } from './emulators.js';
import { coloursWanted, painter } from './console-output.js';
import { DEFAULT_ROUTING_FILE, DEVELOPMENT_SECRETS, readLocalSettings, type LocalSettings } from './local-settings.js';
import { startStack, type LocalStack } from './stack.js';
import { curlExample } from './webhooks.js';

// `npm start`: the whole pipeline on this machine, with live output, until Ctrl-C or SIGTERM.

const paint = painter(coloursWanted());
const clock = () => new Date().toTimeString().slice(0, 8);
const print = (line: string) => console.log(`${paint('dim', clock())} ${line}`);

let stack: LocalStack | undefined;
let exiting = false;

async function shutdown(code: number, reason: string): Promise<never> {
  if (!exiting) {
    exiting = true;
    print(`${reason}: stopping everything…`);
    await (stack ? stack.stop() : stopAll());
    print('stopped: emulators, functions and stand-ins are gone, ports freed');
  }
  process.exit(code);
}

// Registered before anything starts, so a signal during start-up also cleans up.
process.once('SIGINT', () => void shutdown(130, 'Ctrl-C'));
process.once('SIGTERM', () => void shutdown(143, 'SIGTERM'));
process.once('SIGHUP', () => void shutdown(129, 'SIGHUP'));

let settings: LocalSettings;
try {
  settings = readLocalSettings();
} catch (error) {
  console.error(`postload: ${(error as Error).message}`);
  process.exit(1);
}

print(`starting postload locally (project ${settings.projectId})…`);
try {
  stack = await startStack({ settings, print, paint, statusPage: true });
} catch (error) {
  console.error(paint('red', `postload could not start: ${(error as Error).message}`));
  await shutdown(1, 'start-up failed');
}
const running = stack!;

const given = (value: string | undefined) => (value ? 'given' : 'started');
const devSecret = (value: string, name: keyof typeof DEVELOPMENT_SECRETS) => (value === DEVELOPMENT_SECRETS[name] ? ' (development value)' : '');
print(`Pub/Sub emulator   ${running.pubsubHost} (${given(settings.pubsubEmulatorHost)}): topic ${running.topic} → push ${running.pushSubscription} → processor; dead letters on ${running.deadLetterSubscription}${running.deadLetterPolicy ? '' : ' (policy refused by the emulator)'}`);
print(`Firestore emulator ${running.firestoreHost} (${given(settings.firestoreEmulatorHost)}): audit in ${process.env.AUDIT_COLLECTION || 'syncEvents'}, connectors in ${process.env.CONNECTORS_COLLECTION || 'connectors'}`);
print(`processor          ${running.processor.url} routing ${settings.routing === DEFAULT_ROUTING_FILE ? 'functions/local/routing.local.json (default)' : settings.routing.trimStart().startsWith('{') ? 'inline JSON' : settings.routing}`);
print(`dbt Cloud          ${running.dbt ? `stand-in at ${running.dbtBaseUrl} (prints each request; reports its runs to /dbt-cloud)` : running.dbtBaseUrl}, account ${settings.dbtAccountId}`);
print(`Slack              ${running.slack ? `stand-in at ${running.slack.url} (prints each message)` : 'SLACK_WEBHOOK_URL'}`);
print(`status page        ${running.statusPageUrl} (read-only; \`npx postload ui\` serves the same for a deployment)`);
print(`secrets            FIVETRAN_WEBHOOK_SECRET${devSecret(settings.fivetranSecret, 'FIVETRAN_WEBHOOK_SECRET')}, AIRBYTE_WEBHOOK_TOKEN${devSecret(settings.airbyteToken, 'AIRBYTE_WEBHOOK_TOKEN')}, DBT_CLOUD_WEBHOOK_SECRET${devSecret(settings.dbtCloudWebhookSecret, 'DBT_CLOUD_WEBHOOK_SECRET')}`);
print(paint('green', paint('bold', `postload is ready: Fivetran webhook ${running.fivetranUrl}  Airbyte webhook ${running.airbyteUrl}  dbt Cloud webhook ${running.dbtCloudUrl}`)));
console.log(`\nSend a signed Fivetran webhook (paste it in another terminal):\n\n${curlExample(running.fivetranUrl, settings.fivetranSecret).join('\n\n')}\n\nCtrl-C stops everything.\n`);

try {
  await running.failed;
} catch (error) {
  console.error(paint('red', (error as Error).message));
  await shutdown(1, 'a process of the stack failed');
}
