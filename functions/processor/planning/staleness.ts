// Why the processor acts on nothing for an event that is too old to be trusted. Pure.
//
// Fivetran's and dbt Cloud's signatures carry no time, and postload recognises a duplicate
// only while its audit record exists (AUDIT_RETENTION_DAYS). An event older than that may be
// a captured webhook, or a captured message, sent again after its record was deleted: acting
// on it would start the dbt jobs a second time. So such an event is recorded and nothing
// more: no dbt job, no join, no Slack message.

import type { SyncEvent } from '../../shared/sync-event.js';

const DAY_MS = 86_400_000;

/** The reason an event is stale, or undefined when the processor may act on it. */
export function staleReason(event: Pick<SyncEvent, 'stale' | 'occurredAt' | 'receivedAt'>, nowMs: number, retentionDays: number): string | undefined {
  if (event.stale === true) {
    return `the ingest function received it at ${event.receivedAt}, more than its stale age (STALE_EVENT_AGE_HOURS) after it happened at ${event.occurredAt}`;
  }
  // Signed at ingest but published again much later (a captured message): the record that would deduplicate it may be gone.
  const received = Date.parse(event.receivedAt);
  if (!Number.isNaN(received) && nowMs - received > retentionDays * DAY_MS) {
    return `it was received at ${event.receivedAt}, more than AUDIT_RETENTION_DAYS (${retentionDays} days) ago: no audit record can tell whether it was already processed`;
  }
  return undefined;
}
