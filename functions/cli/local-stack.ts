import { readStackState, stateFilePath, type LocalStackState } from '../local/stack-state.js';
import { optionalString } from '../shared/settings.js';

type Env = Record<string, string | undefined>;

/** A running `npm start` the CLI may talk to. */
export interface LocalStack extends LocalStackState {
  /** The state file it was found in. */
  file: string;
}

/**
 * The local stack `npm start` runs in this clone, if one runs: its state file exists and
 * names a live process. A file left behind by a stack that died without cleaning up names
 * a dead process and is ignored.
 */
export function runningLocalStack(env: Env): LocalStack | undefined {
  const file = stateFilePath(env);
  const state = readStackState(file);
  return state && isAlive(state.pid) ? { ...state, file } : undefined;
}

/**
 * Whether a command should use the running local stack: only when nothing says otherwise.
 * Emulator hosts in the environment and --project are explicit choices and win; a
 * GOOGLE_CLOUD_PROJECT left in the shell does not (the stack is named in the note the CLI
 * prints then). A URL given to `send` that is not the stack's keeps the command on Google Cloud.
 */
export function chooseLocalStack(env: Env, projectFlag: string | undefined, url?: string): LocalStack | undefined {
  if (projectFlag || optionalString(env, 'PUBSUB_EMULATOR_HOST') || optionalString(env, 'FIRESTORE_EMULATOR_HOST')) return undefined;
  const stack = runningLocalStack(env);
  if (!stack) return undefined;
  if (url !== undefined && originOf(url) !== originOf(stack.ingestUrl)) return undefined;
  return stack;
}

/** The environment a command sees when it uses the local stack: the stack's emulators and names over the shell's. */
export function localStackEnv(env: Env, stack: LocalStack): Env {
  return {
    ...env,
    PUBSUB_EMULATOR_HOST: stack.pubsubEmulatorHost,
    FIRESTORE_EMULATOR_HOST: stack.firestoreEmulatorHost,
    GOOGLE_CLOUD_PROJECT: stack.projectId,
    SYNC_EVENTS_TOPIC: stack.topic,
    DEAD_LETTER_SUBSCRIPTION: stack.deadLetterSubscription,
    AUDIT_COLLECTION: stack.auditCollection,
    CONNECTORS_COLLECTION: stack.connectorsCollection,
    ROUTING_CONFIG: stack.routing,
  };
}

function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    // localhost and 127.0.0.1 are the same stack.
    return `${parsed.protocol}//${parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname}:${parsed.port}`;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: another user's process now has the pid; not this user's stack.
    return false;
  }
}
