import assert from 'node:assert/strict';
import type { SyncEvent } from '../../functions/shared/sync-event.js';

/** What a normalisation table row may assert; unset keys are not checked. */
export type Expectation = Partial<{
  type: SyncEvent['type'];
  vendorEvent: string;
  status: SyncEvent['sync']['status'];
  vendorStatus: string | null;
  connectorId: string | null;
  connectorName: string | null;
  sourceName: string | null;
  destinationId: string | null;
  destinationName: string | null;
  workspaceId: string | null;
  syncId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  occurredAt: string;
  error: SyncEvent['error'];
  /** true: some metrics; false: null; an object: exactly these. */
  metrics: boolean | NonNullable<SyncEvent['metrics']>;
  transformation: SyncEvent['transformation'] | undefined;
  schemaChange: SyncEvent['schemaChange'] | undefined;
  summary: RegExp;
}>;

export function checkEvent(event: SyncEvent, expected: Expectation): void {
  const actual: Record<keyof Expectation, unknown> = {
    type: event.type,
    vendorEvent: event.vendorEvent,
    status: event.sync.status,
    vendorStatus: event.sync.vendorStatus,
    connectorId: event.connector.id,
    connectorName: event.connector.name,
    sourceName: event.connector.sourceName ?? null,
    destinationId: event.destination.id,
    destinationName: event.destination.name,
    workspaceId: event.workspace?.id ?? null,
    syncId: event.sync.id,
    startedAt: event.sync.startedAt,
    finishedAt: event.sync.finishedAt,
    occurredAt: event.occurredAt,
    error: event.error,
    metrics: typeof expected.metrics === 'boolean' ? event.metrics !== null : event.metrics,
    transformation: event.transformation,
    schemaChange: event.schemaChange,
    summary: event.summary,
  };
  for (const key of Object.keys(expected) as Array<keyof Expectation>) {
    if (key === 'summary') assert.match(event.summary ?? '', expected.summary!, 'summary');
    else assert.deepEqual(actual[key], expected[key], key);
  }
}
