import { closest } from '../shared/closest.js';
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

// The lists themselves are the read model's (the status page's filters take the same words).
export { eventSources as sources, eventTypes, OUTCOMES, syncStatuses } from '../read-model/vocabulary.js';
