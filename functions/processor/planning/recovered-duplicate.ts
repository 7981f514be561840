import type { SyncEvent } from '../../shared/sync-event.js';

/** A sync the sweep's reconciliation published because its webhook never came (the connector document's `recoveredSyncs`). */
export interface RecoveredSync {
  eventId: string;
  type: string;
  syncId: string | null;
  occurredAt: string;
  dedupe: NonNullable<SyncEvent['recovery']>['dedupe'];
  /** The late webhook's event, once it came and was recognised. */
  consumedBy: string | null;
}

/**
 * The recovered event this webhook event duplicates, if any: the late webhook of a sync
 * that reconciliation already published (and whose routes, joins and dbt runs already
 * happened). Airbyte: the same job id. Fivetran: the same outcome, within the window of
 * the API's end time (its webhook's sync_id is unknown to the API). A recovered sync is
 * matched once: a second webhook in the window is another sync.
 */
export function recoveredDuplicateOf(event: SyncEvent, connector: Record<string, unknown> | undefined): string | undefined {
  if (event.recovery || (event.type !== 'sync.succeeded' && event.type !== 'sync.failed')) return undefined;
  const recovered = (Array.isArray(connector?.recoveredSyncs) ? connector.recoveredSyncs : []) as RecoveredSync[];
  const at = Date.parse(event.occurredAt);
  const match = recovered.find((r) => {
    if (r.consumedBy !== null || r.type !== event.type) return false;
    if (r.dedupe.kind === 'job') return event.source === 'airbyte' && event.sync.id === r.dedupe.jobId;
    const end = Date.parse(r.dedupe.finishedAt);
    return event.source === 'fivetran' && Math.abs(at - end) <= r.dedupe.windowSeconds * 1000;
  });
  return match?.eventId;
}
