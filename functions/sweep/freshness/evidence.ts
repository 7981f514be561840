import { Timestamp } from '@google-cloud/firestore';
import type { MatchSubject } from '../../processor/planning/routing.js';
import type { VendorFacts } from './expectation.js';

/** What the sweep reads of a connector's `connectors/` document (written by the processor, see store/connector-document.ts). */
export interface ConnectorView {
  identity: MatchSubject;
  /** The document's updatedAt (epoch ms): it moves with every event of the connector. */
  updatedAt: number | null;
  lastSuccessAt: number | null;
  lastSuccessEventId: string | null;
  /** Failed syncs after the last success, as far as the document's recent events tell (at least 1 when its last failure is newer). */
  failuresSinceSuccess: number;
  lastFailureAt: number | null;
  lastError: string | null;
  /** Ends of the successful syncs among its recent events. */
  successTimes: number[];
  /** The latest dbt Cloud run one of its loads started (issue 13's loop), if any. */
  latestTransformation: { originEventId: string; jobId: string; runId: number; status: string; recordedAt: string } | null;
}

interface Summary {
  eventId?: string;
  type?: string;
  occurredAt?: string;
  error?: { message?: string | null } | null;
}

/** Reads a connector document defensively: a field that is missing or malformed counts as unknown, never as a sync. */
export function readConnector(data: Record<string, unknown>): ConnectorView {
  const success = data.lastSuccessfulSync as Summary | undefined;
  const failure = data.lastFailedSync as Summary | undefined;
  const recent = Array.isArray(data.recentEvents) ? (data.recentEvents as Summary[]) : [];
  const lastSuccessAt = instant(success?.occurredAt);
  const lastFailureAt = instant(failure?.occurredAt);
  const after = (e: Summary) => lastSuccessAt === null || (instant(e.occurredAt) ?? Number.NEGATIVE_INFINITY) > lastSuccessAt;
  let failures = recent.filter((e) => e.type === 'sync.failed' && after(e)).length;
  if (failures === 0 && lastFailureAt !== null && (lastSuccessAt === null || lastFailureAt > lastSuccessAt)) failures = 1;
  const destination = (data.destination ?? {}) as { id?: string | null; name?: string | null };
  const updatedAt = data.updatedAt instanceof Timestamp ? data.updatedAt.toMillis() : null;
  return {
    identity: {
      source: data.source as MatchSubject['source'],
      connector: { id: stringOrNull(data.connectorId), name: stringOrNull(data.connectorName), type: stringOrNull(data.connectorType) },
      destination: { id: destination.id ?? null, name: destination.name ?? null },
    },
    updatedAt,
    lastSuccessAt,
    lastSuccessEventId: typeof success?.eventId === 'string' ? success.eventId : null,
    failuresSinceSuccess: failures,
    lastFailureAt: failures > 0 ? lastFailureAt : null,
    lastError: failures > 0 && typeof failure?.error?.message === 'string' ? failure.error.message : null,
    successTimes: recent.filter((e) => e.type === 'sync.succeeded').flatMap((e) => (instant(e.occurredAt) === null ? [] : [instant(e.occurredAt)!])),
    latestTransformation: (data.latestTransformation as ConnectorView['latestTransformation']) ?? null,
  };
}

/** The connector's syncs from its events and, where it knows better, from the vendor's API. */
export function combineEvidence(connector: ConnectorView | undefined, vendor: VendorFacts | undefined | null): Pick<ConnectorView, 'lastSuccessAt' | 'failuresSinceSuccess' | 'lastFailureAt' | 'lastError'> & { lastSuccessEventId: string | null } {
  let lastSuccessAt = connector?.lastSuccessAt ?? null;
  let lastSuccessEventId = connector?.lastSuccessEventId ?? null;
  let failures = connector?.failuresSinceSuccess ?? 0;
  let lastFailureAt = connector?.lastFailureAt ?? null;
  const lastError = connector?.lastError ?? null;
  if (vendor?.succeededAt != null && (lastSuccessAt === null || vendor.succeededAt > lastSuccessAt)) {
    lastSuccessAt = vendor.succeededAt;
    lastSuccessEventId = null;
    if (lastFailureAt !== null && lastFailureAt <= lastSuccessAt) {
      failures = 0;
      lastFailureAt = null;
    }
  }
  if (vendor?.failedAt != null && (lastSuccessAt === null || vendor.failedAt > lastSuccessAt) && failures === 0) {
    failures = 1;
    lastFailureAt = vendor.failedAt;
  }
  return { lastSuccessAt, lastSuccessEventId, failuresSinceSuccess: failures, lastFailureAt, lastError: failures > 0 ? lastError : null };
}

function instant(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
