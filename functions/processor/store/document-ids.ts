import { createHash } from 'node:crypto';

// Firestore document ids: at most 1,500 bytes, no '/', not '.' or '..', not '__…__'.
// encodeURIComponent is injective and removes '/' (and '%'), the prefix rules out '.',
// '..' and '__…__', and a long id is replaced by its hash behind a '#' that an encoded id
// can never contain: distinct inputs never share a document. A text with a lone surrogate
// (valid in JSON, but not UTF-8, and refused by encodeURIComponent) is hashed over its
// UTF-16 code units, which keeps it apart from its U+FFFD look-alike.
const MAX_ENCODED_BYTES = 500;

export function boundedId(prefix: string, raw: string): string {
  const encoded = encodeOrHash(raw);
  if (encoded.startsWith('#')) return `${prefix}${encoded}`;
  if (Buffer.byteLength(encoded, 'utf8') <= MAX_ENCODED_BYTES) return `${prefix}-${encoded}`;
  return `${prefix}#${createHash('sha256').update(raw, 'utf8').digest('hex')}`;
}

/** encodeURIComponent, or '#' and the SHA-256 of the UTF-16 code units when the text has a lone surrogate. */
function encodeOrHash(raw: string): string {
  try {
    return encodeURIComponent(raw);
  } catch {
    return `#${createHash('sha256').update(Buffer.from(raw, 'utf16le')).digest('hex')}`;
  }
}

/** The connector's document: `fivetran-<connector id>` (encoded). */
export function connectorDocId(source: string, connectorId: string): string {
  return boundedId(source, connectorId);
}

/** A run target's lease document: `<kind>-<id>`, encoded (a dbt Cloud job: `dbt-cloud-123`); a long id is hashed. */
export function targetDocId(target: { kind: string; id: string }): string {
  return boundedId(target.kind, target.id);
}

/**
 * The run log beside a target's lease document. An encoded id never holds `#` (a hashed one
 * has it right after the kind, with no `-`), so this never names another target's document.
 */
export function runLogDocId(target: { kind: string; id: string }): string {
  return `${targetDocId(target)}#runs`;
}

/** The record of a Pub/Sub message that is not a SyncEvent: `invalid-<message id>` (encoded). */
export function invalidDocId(messageId: string): string {
  return boundedId('invalid', messageId);
}

/** The record of a Pub/Sub message postload did not sign: `refused-<message id>` (encoded). */
export function refusedDocId(messageId: string): string {
  return boundedId('refused', messageId);
}

/**
 * The document that says one quarantine problem was alerted on one day:
 * `<YYYY-MM-DD>-<source>%3A<vendor event>%3A<code>`. Each part is encoded before they are
 * joined, so the ':' between them (encoded once more as %3A) never comes from a part.
 */
export function quarantineAlertDocId(day: string, source: string, vendorEvent: string, code: string): string {
  return boundedId(day, [source, vendorEvent, code].map(encodeOrHash).join(':'));
}
