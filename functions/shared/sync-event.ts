import type { SyncEvent } from '../generated/sync-event.v1.schema.js';
import { describeErrors, validator, type SchemaProblem } from './schemas.js';

export type { SyncEvent } from '../generated/sync-event.v1.schema.js';
export type SyncEventType = SyncEvent['type'];

export const SCHEMA_VERSION = '1';

/**
 * Pub/Sub message attributes: the fields subscribers filter on
 * (e.g. `attributes.type = "sync.failed" AND attributes.source = "fivetran"`).
 * Every value is a string; a missing one is the empty string so filters stay simple.
 */
export interface SyncEventAttributes {
  [key: string]: string;
  eventId: string;
  schemaVersion: string;
  source: string;
  type: string;
  vendorEvent: string;
  connectorId: string;
  connectorName: string;
  destinationId: string;
  status: string;
  /** "true" for an event received long after it happened (`stale`), else "". */
  stale: string;
}

/** Pub/Sub's limit on one attribute value, in UTF-8 bytes. */
export const ATTRIBUTE_VALUE_MAX_BYTES = 1024;
/** Pub/Sub's limit on one message (data and attributes) and on one publish request. */
export const PUBSUB_MESSAGE_MAX_BYTES = 10_000_000;

/**
 * The attributes, each made storable whatever the sender wrote: well-formed UTF-8 (a lone
 * surrogate, which Pub/Sub rejects together with every message batched with it, becomes
 * U+FFFD) and cut on a character boundary to Pub/Sub's byte limit (connectorName to 256
 * bytes, enough to filter on). The full values stay in the message data.
 */
export function attributesOf(event: SyncEvent): SyncEventAttributes {
  const attributes: SyncEventAttributes = {
    eventId: event.id,
    schemaVersion: event.schemaVersion,
    source: event.source,
    type: event.type,
    vendorEvent: storable(event.vendorEvent),
    connectorId: storable(event.connector.id ?? ''),
    connectorName: storable(event.connector.name ?? '', 256),
    destinationId: storable(event.destination.id ?? ''),
    status: event.sync.status ?? '',
    stale: event.stale ? 'true' : '',
  };
  // Only on events the sweep recovered from a vendor's API (docs/syncevent.md, recovered events).
  if (event.recovery) attributes.recovery = event.recovery.by;
  return attributes;
}

/** The bytes Pub/Sub counts against its message limit: data plus every attribute key and value. */
export function messageBytes(data: Uint8Array, attributes: Record<string, string>): number {
  let bytes = data.length;
  for (const [key, value] of Object.entries(attributes)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/** A Pub/Sub message body that is not a valid SyncEvent. It will never become one. */
export class InvalidSyncEventError extends Error {
  override readonly name = 'InvalidSyncEventError';
  constructor(readonly problems: SchemaProblem[]) {
    super(`not a valid SyncEvent: ${problems.map((p) => `${p.field || '(root)'} ${p.message}`).join('; ')}`);
  }
}

/**
 * The event as UTF-8 JSON, in a buffer of its own. Buffer.from(string) would cut it from
 * Node's shared 8 KiB pool, and a message lives until Pub/Sub confirms it, long enough to
 * survive a young-generation GC: each surviving slice then pins its whole slab, with the
 * other requests' slices in it, until a full GC (some 2 MB of external memory at the peak in
 * `npm run bench`).
 */
export function encodeSyncEvent(event: SyncEvent): Buffer {
  const json = JSON.stringify(event);
  const data = Buffer.allocUnsafeSlow(Buffer.byteLength(json));
  data.write(json, 'utf8');
  return data;
}

/** Parses and validates a message body against schemas/sync-event.v1.schema.json. */
export function decodeSyncEvent(data: Buffer | string): SyncEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (error) {
    throw new InvalidSyncEventError([{ field: '', message: `is not JSON (${(error as Error).message})` }]);
  }
  const validate = validator<SyncEvent>('sync-event.v1');
  if (!validate(parsed)) throw new InvalidSyncEventError(describeErrors(validate.errors));
  return parsed;
}

/** Well-formed UTF-8 of at most maxBytes, cut before a character that would not fit. */
export function storable(value: string, maxBytes = ATTRIBUTE_VALUE_MAX_BYTES): string {
  // Lone surrogate halves (not UTF-8) become U+FFFD; pairs are kept.
  const text = value.toWellFormed();
  if (Buffer.byteLength(text) <= maxBytes) return text;
  // TextEncoder writes whole characters only: it stops before one that would overflow.
  const room = new Uint8Array(maxBytes);
  const { read } = new TextEncoder().encodeInto(text, room);
  return text.slice(0, read);
}
