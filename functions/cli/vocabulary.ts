import { closest } from '../shared/closest.js';
import { loadSchema } from '../shared/schemas.js';
import { CliError, EXIT } from './errors.js';

// The words the CLI's options accept, each taken from where postload defines it (the
// SyncEvent schema, the processor's outcomes, the vendors' payload catalogue), and one way
// to refuse a word that is not among them: name it, suggest the closest, list the rest.
// A filter given a word that cannot match anything would otherwise answer "nothing found".

/** A value refused by its vocabulary: what was given, the likely intended one, every allowed one. */
export function notInVocabulary(option: string, value: string, what: string, allowed: readonly string[]): CliError {
  const suggestion = closest(value, allowed);
  return new CliError(
    `${option} "${value}" is not ${what}`,
    `${suggestion ? `did you mean ${option} ${suggestion}? ` : ''}allowed: ${allowed.join(', ')}`,
    EXIT.usage,
  );
}

/**
 * The allowed value `value` names, as spelled in the vocabulary (matched case-insensitively
 * when `anyCase`); a CliError (exit 2) otherwise.
 */
export function oneOf(option: string, value: string, what: string, allowed: readonly string[], { anyCase = false } = {}): string {
  const found = allowed.find((word) => (anyCase ? word.toLowerCase() === value.toLowerCase() : word === value));
  if (found === undefined) throw notInVocabulary(option, value, what, allowed);
  return found;
}

function schemaEnum(pointer: string[]): string[] {
  let node: unknown = loadSchema('sync-event.v1');
  for (const key of pointer) node = (node as Record<string, unknown>)[key];
  return ((node as { enum: Array<string | null> }).enum ?? []).filter((v): v is string => typeof v === 'string');
}

/** SyncEvent v1 `type` values (schemas/sync-event.v1.schema.json). */
export const eventTypes = (): string[] => schemaEnum(['properties', 'type']);

/** SyncEvent v1 `sync.status` values. */
export const syncStatuses = (): string[] => schemaEnum(['definitions', 'sync', 'properties', 'status']);

/** SyncEvent v1 `source` values. */
export const sources = (): string[] => schemaEnum(['properties', 'source']);

/**
 * The processor's outcome of an event, as its audit record's `status` holds it
 * (processor/store/event-store.ts writes received and retrying, planning/claims.ts decides
 * processed, failed or retrying, an invalid message is recorded as invalid).
 */
export const OUTCOMES = ['received', 'retrying', 'processed', 'failed', 'invalid'] as const;
