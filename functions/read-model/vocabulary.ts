import { loadSchema } from '../shared/schemas.js';

// The words filters accept, each from where postload defines it, so a filter given a word
// that can never match is refused with the allowed ones instead of answering "nothing".

function schemaEnum(pointer: string[]): string[] {
  let node: unknown = loadSchema('sync-event.v1');
  for (const key of pointer) node = (node as Record<string, unknown>)[key];
  return ((node as { enum: Array<string | null> }).enum ?? []).filter((v): v is string => typeof v === 'string');
}

/** SyncEvent v1 `source` values (schemas/sync-event.v1.schema.json). */
export const eventSources = (): string[] => schemaEnum(['properties', 'source']);
/** SyncEvent v1 `type` values. */
export const eventTypes = (): string[] => schemaEnum(['properties', 'type']);
/** SyncEvent v1 `sync.status` values. */
export const syncStatuses = (): string[] => schemaEnum(['definitions', 'sync', 'properties', 'status']);
/** The processor's outcomes as the audit record's `status` holds them. */
export const OUTCOMES = ['received', 'retrying', 'processed', 'failed', 'invalid'] as const;
