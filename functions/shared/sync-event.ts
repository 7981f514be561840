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
}

export function attributesOf(event: SyncEvent): SyncEventAttributes {
  return {
    eventId: event.id,
    schemaVersion: event.schemaVersion,
    source: event.source,
    type: event.type,
    vendorEvent: event.vendorEvent,
    connectorId: event.connector.id ?? '',
    connectorName: truncate(event.connector.name ?? '', 256),
    destinationId: event.destination.id ?? '',
    status: event.sync.status ?? '',
  };
}

/** A Pub/Sub message body that is not a valid SyncEvent. It will never become one. */
export class InvalidSyncEventError extends Error {
  override readonly name = 'InvalidSyncEventError';
  constructor(readonly problems: SchemaProblem[]) {
    super(`not a valid SyncEvent: ${problems.map((p) => `${p.field || '(root)'} ${p.message}`).join('; ')}`);
  }
}

export function encodeSyncEvent(event: SyncEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
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

function truncate(value: string, max: number): string {
  return value.length <= max ? value : value.slice(0, max);
}
