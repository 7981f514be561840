import { freePort } from '../../functions/local/emulators.js';
import { startFunction, type FunctionProcess } from '../../functions/local/function-process.js';
import { emulator, PROJECT_ID } from './global-hooks.js';
import { EmulatorPubSub } from './pubsub-emulator.js';
import { TEST_SIGNING_KEY } from './sync-event-fixtures.js';

// The ingest integration suites' start-up: the real function, in its own process, publishing
// to a fresh topic on the run's shared Pub/Sub emulator, with a pull subscription to read it.

/** The ingest function publishing to `topic` on the emulator at `pubsubHost`, with `env` (its secrets, limits) over that. */
export async function startIngest(pubsubHost: string, topic: string, env: Record<string, string>): Promise<FunctionProcess> {
  return startFunction({
    target: 'ingestWebhook',
    port: await freePort(),
    env: { PUBSUB_EMULATOR_HOST: pubsubHost, GOOGLE_CLOUD_PROJECT: PROJECT_ID, SYNC_EVENTS_TOPIC: topic, SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY, ...env },
  });
}

export interface IngestOnEmulator {
  pubsub: EmulatorPubSub;
  topic: string;
  subscription: string;
  ingest: FunctionProcess;
}

/** Call in before(): a new topic and pull subscription, and the function publishing there (skips the suite without the emulator). */
export async function ingestOnEmulator(context: Mocha.Context, env: Record<string, string>): Promise<IngestOnEmulator> {
  const pubsub = new EmulatorPubSub(await emulator('pubsub', context), PROJECT_ID);
  const topic = await pubsub.createTopic();
  const subscription = await pubsub.createPullSubscription(topic);
  const ingest = await startIngest(pubsub.host, topic, env);
  return { pubsub, topic, subscription, ingest };
}
