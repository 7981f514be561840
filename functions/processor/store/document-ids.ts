import { createHash } from 'node:crypto';

// Firestore document ids: at most 1,500 bytes, no '/', not '.' or '..', not '__…__'.
// encodeURIComponent is injective and removes '/' (and '%'), the source prefix rules out
// '.', '..' and '__…__', and a long id is replaced by its hash behind a '#' that an encoded
// id can never contain: distinct inputs never share a document.
const MAX_ENCODED_BYTES = 500;

export function boundedId(prefix: string, raw: string): string {
  const encoded = encodeURIComponent(raw);
  if (Buffer.byteLength(encoded, 'utf8') <= MAX_ENCODED_BYTES) return `${prefix}-${encoded}`;
  return `${prefix}#${createHash('sha256').update(raw, 'utf8').digest('hex')}`;
}

/** The connector's document: `fivetran-<connector id>` (encoded). */
export function connectorDocId(source: string, connectorId: string): string {
  return boundedId(source, connectorId);
}

/** The record of a Pub/Sub message that is not a SyncEvent: `invalid-<message id>` (encoded). */
export function invalidDocId(messageId: string): string {
  return boundedId('invalid', messageId);
}
