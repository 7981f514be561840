import type { AuditTrail } from '../read-model/audit-trail.js';
import { CliError, EXIT } from './errors.js';

/**
 * The fewest leading characters of an event id the CLI accepts for the whole id: the short
 * form `postload events`, the live log and the demo print. Ids are 32 hex characters (128
 * bits), so 8 of them (32 bits) are unique among the events a deployment keeps, and a
 * collision is said, never guessed.
 */
export const MIN_PREFIX = 8;

/** How many matches are shown when a prefix is ambiguous (and the bound of the query). */
const SHOWN = 5;

/**
 * The full id of the one record `given` names: the id itself, or a unique prefix of at least
 * MIN_PREFIX characters. Undefined when nothing matches; a CliError when the prefix is too
 * short (exit 2) or matches several records (exit 1, naming some).
 */
export async function resolveEventId(trail: Pick<AuditTrail, 'idsStartingWith'>, given: string): Promise<string | undefined> {
  const prefix = given.trim();
  if (prefix.length < MIN_PREFIX) {
    throw new CliError(`event id "${given}" is too short`, `give the whole id or at least its first ${MIN_PREFIX} characters (as \`postload events\` prints them)`, EXIT.usage);
  }
  const ids = await trail.idsStartingWith(prefix, SHOWN + 1);
  if (ids.includes(prefix)) return prefix;
  if (ids.length <= 1) return ids[0];
  throw new CliError(
    `event id "${prefix}" is ambiguous: it starts ${ids.length > SHOWN ? `more than ${SHOWN}` : ids.length} events' ids (${ids.slice(0, SHOWN).join(', ')}${ids.length > SHOWN ? ', …' : ''})`,
    'give more of the id',
    EXIT.failed,
  );
}
