import { randomUUID } from 'node:crypto';
import { DEVELOPMENT_SECRETS, readLocalSettings } from '../../functions/local/local-settings.js';
import { startStack, type LocalStack, type StackOptions } from '../../functions/local/stack.js';
import { emulator } from './global-hooks.js';

// The end-to-end suites' start-up: the whole local stack (functions, stand-ins) on the
// run's shared emulators, with the development secrets, any free ports, a topic of its own
// and Firestore collections of its own. The emulators live as long as the mocha run, and
// every suite's dbt Cloud stand-in numbers its runs from the same start in the same account:
// in shared collections a suite would read an earlier suite's run events as redeliveries
// (their ids are derived from the run id), its run log as runs to merge into, and meet the
// claims and transaction locks its stopped functions left behind on shared documents.

export interface TestStackOptions extends Omit<StackOptions, 'settings'> {
  /** The topic is `${topicPrefix}-<8 random hex>`: the emulators are shared with other suites. */
  topicPrefix: string;
  routing: unknown;
}

/** The Firestore collections a test stack's functions use (the suite's functionEnv may name its own). */
export interface StackCollections {
  audit: string;
  connectors: string;
  jobState: string;
  joins: string;
  freshness: string;
  sweep: string;
}

export type TestStack = LocalStack & { collections: StackCollections };

/** Starts the local stack; call in before() (skips the suite when an emulator is not installed). */
export async function startTestStack(context: Mocha.Context, { topicPrefix, routing, functionEnv = {}, ...options }: TestStackOptions): Promise<TestStack> {
  const pubsubHost = await emulator('pubsub', context);
  const firestoreHost = await emulator('firestore', context);
  const run = randomUUID().slice(0, 8);
  const env = {
    AUDIT_COLLECTION: `syncEvents-${topicPrefix}-${run}`,
    CONNECTORS_COLLECTION: `connectors-${topicPrefix}-${run}`,
    JOB_STATE_COLLECTION: `targetState-${topicPrefix}-${run}`,
    JOINS_COLLECTION: `joins-${topicPrefix}-${run}`,
    FRESHNESS_COLLECTION: `freshness-${topicPrefix}-${run}`,
    SWEEP_COLLECTION: `sweep-${topicPrefix}-${run}`,
    ...functionEnv,
  };
  const stack = await startStack({
    ...options,
    functionEnv: env,
    settings: {
      ...readLocalSettings({ ...DEVELOPMENT_SECRETS, PUBSUB_EMULATOR_HOST: pubsubHost, FIRESTORE_EMULATOR_HOST: firestoreHost }, { anyFreePort: true }),
      topic: `${topicPrefix}-${run}`,
      routing: JSON.stringify(routing),
      // The sweep ticks only when a test asks (stack.tick()).
      sweepTickSeconds: 0,
    },
  });
  const collections: StackCollections = {
    audit: env.AUDIT_COLLECTION,
    connectors: env.CONNECTORS_COLLECTION,
    jobState: env.JOB_STATE_COLLECTION,
    joins: env.JOINS_COLLECTION,
    freshness: env.FRESHNESS_COLLECTION,
    sweep: env.SWEEP_COLLECTION,
  };
  return Object.assign(stack, { collections });
}

/**
 * dbt Cloud finishes every run still queued or running: the demo's jobs coalesce (issue 12),
 * and a later event must start its own run rather than merge into one still queued.
 */
export function finishOpenRuns(stack: LocalStack): void {
  for (const run of stack.dbt!.runs) if (run.status < 10) stack.dbt!.setStatus(run.id, 10);
}
