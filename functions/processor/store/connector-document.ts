import { Timestamp } from '@google-cloud/firestore';
import type { SyncEvent } from '../../shared/sync-event.js';
import type { RecoveredSync } from '../planning/recovered-duplicate.js';
import { cutStrings, cutText } from './document-size.js';

const RECENT_EVENTS = 20;
const RECOVERED_KEPT = 10;
/** Finished syncs kept apart from the other events (starts, schema changes), for the status page's strip of the last 14. */
const RECENT_SYNCS = 14;
const FINISHED_SYNC_TYPES = new Set(['sync.succeeded', 'sync.failed', 'sync.cancelled', 'sync.rescheduled']);
const MAX_TEXT_BYTES = 4_000;

interface Summary {
  eventId: string;
  type: string;
  status: string | null | undefined;
  vendorStatus: string | null | undefined;
  syncId: string | null | undefined;
  occurredAt: string;
  finishedAt: string | null | undefined;
}

/**
 * The connector's document after this event: latest event and status, last successful and
 * last failed sync, its 20 most recent events and its 14 most recent finished syncs. Times are compared as instants (not as
 * strings: `…00.500Z` is after `…00Z`, and offsets count), an event delivered late never
 * replaces a newer one, and an event is listed once. Returns undefined when the event
 * names no connector, or is a test: a Test button's ids are placeholders or random
 * (Airbyte since 1.3), so it would make up a connector or overwrite a real one's status.
 */
export function mergeConnector(existing: Record<string, unknown> | undefined, event: SyncEvent, nowMs: number, duplicateOf?: string): Record<string, unknown> | undefined {
  if (!event.connector.id || event.type === 'test') return undefined;
  const data = existing ?? {};
  const summary: Summary = {
    eventId: event.id,
    type: event.type,
    status: event.sync.status,
    vendorStatus: event.sync.vendorStatus,
    syncId: event.sync.id,
    occurredAt: event.occurredAt,
    finishedAt: event.sync.finishedAt,
  };
  const at = instant(event.occurredAt);
  const newer = (field: string) => {
    const current = data[field] as { occurredAt?: string } | undefined;
    return !current || instant(current.occurredAt) <= at;
  };
  const recent = ((data.recentEvents as Summary[] | undefined) ?? []).filter((e) => e.eventId !== event.id);
  const update: Record<string, unknown> = {
    ...data,
    source: event.source,
    connectorId: event.connector.id,
    updatedAt: Timestamp.fromMillis(nowMs),
    recentEvents: newestFirst(recent, summary, RECENT_EVENTS),
  };
  if (FINISHED_SYNC_TYPES.has(event.type)) {
    update.recentSyncs = newestFirst(((data.recentSyncs as Summary[] | undefined) ?? []).filter((e) => e.eventId !== event.id), summary, RECENT_SYNCS);
  }
  if (newer('latestEvent')) {
    Object.assign(update, {
      // An event that names no connector (Airbyte's schema-change notice) keeps the name known.
      connectorName: event.connector.name ?? data.connectorName ?? null,
      connectorType: event.connector.type ?? data.connectorType ?? null,
      destination: { id: event.destination.id ?? null, name: event.destination.name ?? null },
      latestEvent: summary,
    });
    if (event.sync.status) update.latestStatus = event.sync.status;
  }
  if (event.type === 'sync.succeeded' && newer('lastSuccessfulSync')) {
    update.lastSuccessfulSync = { ...summary, metrics: event.metrics ?? null, durationSeconds: event.sync.durationSeconds ?? null };
  }
  if (event.type === 'sync.failed' && newer('lastFailedSync')) {
    const error = event.error ? cutStrings(event.error, MAX_TEXT_BYTES) : null;
    update.lastFailedSync = { ...summary, error };
  }
  if (typeof update.connectorName === 'string') update.connectorName = cutText(update.connectorName, MAX_TEXT_BYTES);
  // Syncs the sweep recovered (their webhook never came), so their late webhook is known when it comes.
  const recovered = (data.recoveredSyncs as RecoveredSync[] | undefined) ?? [];
  if (event.recovery && !recovered.some((r) => r.eventId === event.id)) {
    const entry: RecoveredSync = { eventId: event.id, type: event.type, syncId: event.sync.id, occurredAt: event.occurredAt, dedupe: event.recovery.dedupe, consumedBy: null };
    update.recoveredSyncs = [...recovered, entry].slice(-RECOVERED_KEPT);
  }
  if (duplicateOf) update.recoveredSyncs = recovered.map((r) => (r.eventId === duplicateOf ? { ...r, consumedBy: event.id } : r));
  return update;
}

function newestFirst(kept: Summary[], summary: Summary, max: number): Summary[] {
  return [...kept, summary].sort((a, b) => instant(b.occurredAt) - instant(a.occurredAt)).slice(0, max);
}

/** An ISO 8601 time as epoch milliseconds; unreadable times sort first. */
function instant(iso: string | undefined): number {
  const ms = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/** The load connector's link to the latest dbt Cloud run one of its events started (`latestTransformation`). */
export interface TransformationLink {
  originEventId: string;
  jobId: string;
  runId: number;
  status: string;
  /** The dbt-cloud SyncEvent that reported the status. */
  eventId: string;
  finishedAt: string | null;
  recordedAt: string;
}

/**
 * The fields to write, or undefined when the stored link is as new: a later run (dbt Cloud
 * run ids grow) replaces an earlier one; for the same run a final status replaces
 * `running` and is never replaced itself.
 */
export function mergeTransformationLink(existing: Record<string, unknown> | undefined, link: TransformationLink): Record<string, unknown> | undefined {
  const current = existing?.latestTransformation as TransformationLink | undefined;
  if (current) {
    if (current.runId > link.runId) return undefined;
    if (current.runId === link.runId && (current.status !== 'running' || link.status === 'running')) return undefined;
  }
  return { latestTransformation: link };
}
