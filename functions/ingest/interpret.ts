import { describeErrors } from '../shared/schemas.js';
import { boundedView, CLASSIFY_PREFIX_CHARS } from './bounded-view.js';
import type { SyncEvent } from '../shared/sync-event.js';
import { jsonDepth, MAX_JSON_DEPTH } from './json-depth.js';
import { quarantinedEvent, type QuarantineProblem } from './quarantine.js';
import type { Source } from './read-request.js';
import { SOURCES } from './sources.js';
import { webhookValidator } from './webhook-validators.js';

/** Strict: a body that is not UTF-8 is quarantined. Stateless between calls (no `stream` option), so one serves every request. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An authenticated body as a SyncEvent: parsed once, validated against the source's
 * webhook schema, normalised. Whatever postload cannot interpret (too deep to structure,
 * not JSON, failing the schema, a shape the normaliser rejects) becomes a quarantined
 * event instead of a refusal: the sender proved who it is, so the body is kept.
 */
export function interpret(source: Source, raw: Buffer, receivedAt: Date): SyncEvent {
  const quarantine = (problems: QuarantineProblem[], parsed?: unknown) =>
    quarantinedEvent({ source, raw, parsed, vendorEvent: vendorEventOf(source, parsed), problems, receivedAt });

  // Before anything recursive (JSON.parse is not; ajv and JSON.stringify are) sees it.
  const depth = jsonDepth(raw);
  if (depth > MAX_JSON_DEPTH) {
    return quarantine([{ code: 'too_deep', message: `nested ${depth} levels deep; postload structures at most ${MAX_JSON_DEPTH}` }]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(UTF8.decode(raw));
  } catch (error) {
    const message = error instanceof TypeError ? 'the body is not valid UTF-8' : `the body is not valid JSON: ${(error as Error).message}`;
    return quarantine([{ code: 'invalid_json', message }]);
  }
  const validate = webhookValidator(SOURCES[source].schema);
  if (!validate(parsed)) {
    const problems = describeErrors(validate.errors).map(({ field, message }) => ({ code: 'schema_violation', message: `${field || '(root)'} ${message}`, pointer: field }));
    return quarantine(problems, parsed);
  }
  try {
    // Normalisers see a bounded prefix of every string (linear time whatever the sender
    // wrote); the event carries the payload exactly as received. No string in a body of at
    // most CLASSIFY_PREFIX_CHARS bytes can be longer than that (a JSON string takes at least
    // one byte per UTF-16 unit), so such a body, nearly every webhook, is not copied.
    const view = raw.length <= CLASSIFY_PREFIX_CHARS ? parsed : boundedView(parsed);
    const event = SOURCES[source].normalise(view, receivedAt);
    // Set on the fresh event, not spread into a copy (V8 copies `{ ...event, payload }` on a slow path).
    event.payload = parsed as SyncEvent['payload'];
    return event;
  } catch (error) {
    return quarantine([{ code: 'unrecognised_shape', message: `the ${source} payload could not be normalised: ${(error as Error).message}` }], parsed);
  }
}

/** The payload rebuilt without what made the normal event unstorable, for a second try. */
export function quarantineOversized(source: Source, raw: Buffer, parsed: unknown, receivedAt: Date, limitBytes: number): SyncEvent {
  return quarantinedEvent({
    source,
    raw,
    parsed,
    vendorEvent: vendorEventOf(source, parsed),
    problems: [{ code: 'too_large', message: `the normalised event exceeds Pub/Sub's ${limitBytes}-byte message limit; the payload is kept as received` }],
    receivedAt,
  });
}

function vendorEventOf(source: Source, parsed: unknown): unknown {
  const field = SOURCES[source].vendorEventField;
  if (!field || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return Object.hasOwn(parsed, field) ? (parsed as Record<string, unknown>)[field] : undefined;
}
