import { randomUUID } from 'node:crypto';
import { DEVELOPMENT_SECRETS, readLocalSettings } from '../../functions/local/local-settings.js';
import { startStack, type LocalStack, type StackOptions } from '../../functions/local/stack.js';
import { emulator } from './global-hooks.js';

// The end-to-end suites' start-up: the whole local stack (functions, stand-ins) on the
// run's shared emulators, with the development secrets, any free ports and a topic of its own.

export interface TestStackOptions extends Omit<StackOptions, 'settings'> {
  /** The topic is `${topicPrefix}-<8 random hex>`: the emulators are shared with other suites. */
  topicPrefix: string;
  routing: unknown;
}

/** Starts the local stack; call in before() (skips the suite when an emulator is not installed). */
export async function startTestStack(context: Mocha.Context, { topicPrefix, routing, ...options }: TestStackOptions): Promise<LocalStack> {
  const pubsubHost = await emulator('pubsub', context);
  const firestoreHost = await emulator('firestore', context);
  return startStack({
    ...options,
    settings: {
      ...readLocalSettings({ ...DEVELOPMENT_SECRETS, PUBSUB_EMULATOR_HOST: pubsubHost, FIRESTORE_EMULATOR_HOST: firestoreHost }, { anyFreePort: true }),
      topic: `${topicPrefix}-${randomUUID().slice(0, 8)}`,
      routing: JSON.stringify(routing),
      // The sweep ticks only when a test asks (stack.tick()): suites share the emulators and their connectors.
      sweepTickSeconds: 0,
    },
  });
}

/**
 * dbt Cloud finishes every run still queued or running: the demo's jobs coalesce (issue 12),
 * and a later event must start its own run rather than merge into one still queued.
 */
export function finishOpenRuns(stack: LocalStack): void {
  for (const run of stack.dbt!.runs) if (run.status < 10) stack.dbt!.setStatus(run.id, 10);
}
