import { eventId } from '../../ingest/event-id.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import type { AirbyteConnection, AirbyteJob } from '../../vendors/airbyte.js';
import type { FivetranConnection } from '../../vendors/fivetran.js';

/** A sync the vendor finished and postload holds no event of. */
export type MissingSync =
  | { vendor: 'fivetran'; connection: FivetranConnection; outcome: 'succeeded' | 'failed'; endedAt: number }
  | { vendor: 'airbyte'; connection: AirbyteConnection; job: AirbyteJob };

/**
 * The SyncEvent for a sync whose webhook never arrived, marked `recovery` (the additive v1
 * field, docs/syncevent.md), so routes, joins and dbt runs follow as if the webhook had come.
 * Its id is deterministic (the same sync found twice is one event) and its `recovery.dedupe`
 * says how the late webhook, if it comes, is recognised as the same sync:
 * - Airbyte: the job id, which the webhook (`data.jobId`) and the API (`jobId`) both carry;
 * - Fivetran: the webhook has a `sync_id` the API never shows, and the API a `succeeded_at`
 *   the webhook never shows; the webhook's `created` is written when the sync ends, so it
 *   falls within `windowSeconds` of `succeeded_at` / `failed_at`.
 */
export function recoveredEvent(missing: MissingSync, { nowMs, windowSeconds }: { nowMs: number; windowSeconds: number }): SyncEvent {
  const detectedAt = new Date(nowMs).toISOString();
  if (missing.vendor === 'fivetran') {
    const c = missing.connection;
    const at = new Date(missing.endedAt).toISOString();
    const ok = missing.outcome === 'succeeded';
    const name = c.schema ?? c.id;
    return {
      schemaVersion: '1',
      id: eventId(['fivetran', 'reconciliation', c.id, missing.outcome, missing.endedAt]),
      source: 'fivetran',
      type: ok ? 'sync.succeeded' : 'sync.failed',
      vendorEvent: 'sync_end',
      occurredAt: at,
      receivedAt: detectedAt,
      connector: { id: c.id, name: c.schema, type: c.service },
      destination: { id: c.groupId, name: null },
      sync: { id: null, status: missing.outcome, vendorStatus: null, startedAt: null, finishedAt: at },
      metrics: null,
      error: ok ? null : { message: `Fivetran's API reports a failed sync at ${at} (its webhook never reached postload; the API gives no reason)`, type: null, origin: null },
      summary: `Fivetran ${name}: sync ${ok ? 'succeeded' : 'failed'} (found by reconciliation: its webhook never arrived)`,
      payload: { connection: { id: c.id, group_id: c.groupId, service: c.service, schema: c.schema, succeeded_at: c.succeededAt === null ? null : new Date(c.succeededAt).toISOString(), failed_at: c.failedAt === null ? null : new Date(c.failedAt).toISOString() } },
      recovery: { by: 'reconciliation', vendorApi: 'fivetran', detectedAt, dedupe: { kind: 'window', finishedAt: at, windowSeconds } },
    };
  }
  const { connection: c, job } = missing;
  const ok = job.status === 'succeeded';
  const ended = new Date(job.endedAt!).toISOString();
  const started = job.startedAt === null ? null : new Date(job.startedAt).toISOString();
  const name = c.name ?? c.connectionId;
  return {
    schemaVersion: '1',
    id: eventId(['airbyte', 'reconciliation', c.connectionId, job.jobId]),
    source: 'airbyte',
    type: ok ? 'sync.succeeded' : 'sync.failed',
    vendorEvent: ok ? 'sync_succeeded' : 'sync_failed',
    occurredAt: ended,
    receivedAt: detectedAt,
    // The API names neither the source's nor the destination's connector (the webhook does): routes that match on them do not match here.
    connector: { id: c.connectionId, name: c.name, type: null, url: null, sourceId: c.sourceId, sourceName: null },
    destination: { id: c.destinationId, name: null },
    workspace: c.workspaceId ? { id: c.workspaceId, name: null } : null,
    sync: {
      id: String(job.jobId),
      status: ok ? 'succeeded' : 'failed',
      vendorStatus: job.status,
      startedAt: started,
      finishedAt: ended,
      durationSeconds: job.startedAt === null ? null : Math.max(0, Math.round((job.endedAt! - job.startedAt) / 1000)),
    },
    metrics: { recordsEmitted: null, recordsCommitted: job.rowsSynced, recordsFilteredOut: null, bytesEmitted: null, bytesCommitted: job.bytesSynced, bytesFilteredOut: null },
    error: ok ? null : { message: `Airbyte's API reports job ${job.jobId} failed at ${ended} (its webhook never reached postload; the API gives no reason)`, type: null, origin: null },
    summary: `Airbyte ${name}: sync ${ok ? 'succeeded' : 'failed'} (found by reconciliation: its webhook never arrived)`,
    payload: { job: { jobId: job.jobId, connectionId: job.connectionId, status: job.status, jobType: job.jobType, startTime: started, lastUpdatedAt: ended } },
    recovery: { by: 'reconciliation', vendorApi: 'airbyte', detectedAt, dedupe: { kind: 'job', jobId: String(job.jobId) } },
  };
}
