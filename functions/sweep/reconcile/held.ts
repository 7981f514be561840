// Does postload already hold an event of a sync the vendor reports finished? Read from the
// connector's document (the processor's: its latest success and failure, its 20 most recent
// events, and the syncs reconciliation recovered). Pure.

export interface HeldEvent {
  eventId: string;
  type: string;
  occurredAt: number | null;
  syncId: string | null;
}

interface Summary {
  eventId?: unknown;
  type?: unknown;
  occurredAt?: unknown;
  syncId?: unknown;
}

export function heldEvents(connectorDoc: Record<string, unknown> | undefined): HeldEvent[] {
  if (!connectorDoc) return [];
  const summaries: Summary[] = [
    connectorDoc.lastSuccessfulSync as Summary,
    connectorDoc.lastFailedSync as Summary,
    ...(Array.isArray(connectorDoc.recentEvents) ? (connectorDoc.recentEvents as Summary[]) : []),
    ...(Array.isArray(connectorDoc.recoveredSyncs) ? (connectorDoc.recoveredSyncs as Summary[]) : []),
  ].filter((s): s is Summary => typeof s === 'object' && s !== null);
  return summaries.flatMap((s) => {
    if (typeof s.eventId !== 'string' || typeof s.type !== 'string') return [];
    const at = typeof s.occurredAt === 'string' ? Date.parse(s.occurredAt) : Number.NaN;
    return [{ eventId: s.eventId, type: s.type, occurredAt: Number.isNaN(at) ? null : at, syncId: typeof s.syncId === 'string' ? s.syncId : null }];
  });
}

/**
 * Fivetran: a sync_end of the same outcome whose time is within the window of the API's
 * end time is that sync; one clearly later supersedes it (its data is newer: nothing to recover).
 */
export function fivetranHeld(held: HeldEvent[], outcome: 'succeeded' | 'failed', endedAt: number, windowMs: number): boolean {
  const type = outcome === 'succeeded' ? 'sync.succeeded' : 'sync.failed';
  return held.some((e) => e.type === type && e.occurredAt !== null && e.occurredAt >= endedAt - windowMs);
}

/** Airbyte: an event with the job's id, or of a later job of the same outcome, is held. */
export function airbyteHeld(held: HeldEvent[], outcome: 'succeeded' | 'failed', jobId: number): boolean {
  const type = outcome === 'succeeded' ? 'sync.succeeded' : 'sync.failed';
  return held.some((e) => e.syncId !== null && /^\d+$/.test(e.syncId) && (Number(e.syncId) === jobId || (e.type === type && Number(e.syncId) > jobId)));
}
