import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// While `npm start` runs, it keeps a small file saying where its parts listen, so that the
// `postload` command finds the local stack with no setup; it is removed when the stack stops.
// One file per clone (the package root's .postload/), so stacks of two clones never mix.
// Nothing secret is in it: only which secrets are the public development values.

type Env = Record<string, string | undefined>;

export interface LocalStackState {
  version: 1;
  /** The `npm start` process (node dist/local/start.js): the file counts only while it lives. */
  pid: number;
  startedAt: string;
  projectId: string;
  pubsubEmulatorHost: string;
  firestoreEmulatorHost: string;
  topic: string;
  deadLetterSubscription: string;
  auditCollection: string;
  connectorsCollection: string;
  /** The ingest function's origin, e.g. http://127.0.0.1:8080 (its endpoints are /fivetran, /airbyte, /dbt-cloud). */
  ingestUrl: string;
  /** The secret settings the stack gave their development values (local-settings.ts DEVELOPMENT_SECRETS). */
  developmentSecrets: string[];
  /** The processor's ROUTING_CONFIG: an absolute path or inline JSON (`send` names what an event starts with it). */
  routing: string;
}

/** The package root, from functions/local/ and dist/local/ alike. */
const DEFAULT_FILE = fileURLToPath(new URL('../../.postload/local-stack.json', import.meta.url));

/** Where the state file is: POSTLOAD_STATE_FILE, else .postload/local-stack.json in the package root. */
export function stateFilePath(env: Env = process.env): string {
  const given = env.POSTLOAD_STATE_FILE?.trim();
  return given ? resolve(given) : DEFAULT_FILE;
}

/** Written whole (a temporary file renamed over it), so a reader never sees half of it. */
export function writeStackState(file: string, state: LocalStackState): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${state.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** Removes the file if it is this process's (another stack may have written it since). Synchronous: it runs in exit hooks. */
export function removeStackState(file: string, pid = process.pid): void {
  if (readStackState(file)?.pid === pid) rmSync(file, { force: true });
}

/** The state in the file, or undefined when there is none or it is not a state file. */
export function readStackState(file: string): LocalStackState | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  return isState(parsed) ? parsed : undefined;
}

function isState(value: unknown): value is LocalStackState {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  const strings = ['startedAt', 'projectId', 'pubsubEmulatorHost', 'firestoreEmulatorHost', 'topic', 'deadLetterSubscription', 'auditCollection', 'connectorsCollection', 'ingestUrl', 'routing'];
  return (
    v.version === 1 &&
    Number.isInteger(v.pid) &&
    strings.every((key) => typeof v[key] === 'string' && v[key] !== '') &&
    Array.isArray(v.developmentSecrets) &&
    v.developmentSecrets.every((s) => typeof s === 'string')
  );
}
