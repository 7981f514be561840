import type { Firestore } from '@google-cloud/firestore';
import { encodeMessage, type SyncEventPublisher } from '../../ingest/publisher.js';
import { describeError } from '../../processor/errors.js';
import { connectorDocId } from '../../processor/store/document-ids.js';
import { documentSize, MAX_DOCUMENT_BYTES } from '../../processor/store/document-size.js';
import { currentSigningKey } from '../../shared/sync-event-signature.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import type { AirbyteClient, AirbyteConnection, AirbyteJob } from '../../vendors/airbyte.js';
import type { FivetranClient, FivetranConnection } from '../../vendors/fivetran.js';
import { VendorApiError, type SkippedItem, type Vendor } from '../../vendors/vendor-error.js';
import type { SweepConfig } from '../config.js';
import { guarded } from '../guard.js';
import type { SweepTask, TickContext } from '../task.js';
import { airbyteHeld, fivetranHeld, heldEvents } from './held.js';
import { recoveredEvent, type MissingSync } from './recovered-event.js';
import { airbyteListed, factsDigest, fivetranListed, latestJobs, type ListedConnector } from './vendor-facts.js';

/**
 * What the sweep remembers of a vendor between ticks, `sweep/vendor-<vendor>`: per connector
 * the digest of its facts (a change is news for freshness), the latest sync ends seen and the
 * latest one reconciled (recovered, or found held); when it started watching (older syncs
 * are never recovered); how long the vendor asked us to wait (429 Retry-After).
 */
interface VendorSnapshot {
  vendor: Vendor;
  watchingSince: number;
  notBefore: number | null;
  /** Airbyte: jobs updated up to this time have been read (the next read starts a little before it). */
  jobsSeenUpTo: number | null;
  entries: Record<string, Entry>;
  updatedAt: number;
}

interface Entry {
  /** factsDigest of the connector's facts. */
  d: string;
  /** Latest successful / failed sync end known (epoch ms). */
  s: number | null;
  f: number | null;
  /** Reconciled up to: Fivetran the sync end (ms), Airbyte the job id. */
  r: number | null;
}

/** Jobs updated this long before the last read are read again (their update may be stamped before it lands). */
const JOBS_OVERLAP_MS = 5 * 60_000;
/** When the vendor asks us to wait without saying how long. */
const DEFAULT_BACKOFF_MS = 5 * 60_000;
/** The Fivetran window: a webhook's `created` and the API's end time of one sync are within it. */
const FIVETRAN_WINDOW_MS = 5 * 60_000;

export interface ReconcileDeps {
  config: SweepConfig;
  db: Firestore;
  publisher: SyncEventPublisher;
  fivetran?: FivetranClient | undefined;
  airbyte?: AirbyteClient | undefined;
}

/**
 * Reconciliation, for each vendor whose API credentials are set: one listing of its
 * connectors (and, for Airbyte, of the sync jobs updated since the last tick), compared with
 * what the sweep remembers. Changed facts (schedule, pause, latest syncs) go to the freshness
 * task; a sync the vendor finished and postload holds no event of, once it ended
 * RECONCILE_AFTER_SECONDS ago (its webhook's own retries come first), is published as a
 * recovered SyncEvent. A vendor whose API is down, slow, rate-limited or answering garbage
 * is skipped for the tick with a log line and marked blind: none of its connectors gets a
 * worse freshness state until postload can see it again. One call per listing page, never retried
 * within a tick: a vendor in trouble is not stormed.
 */
export function createReconcileTask({ config, db, publisher, fivetran, airbyte }: ReconcileDeps): SweepTask {
  const collection = db.collection(config.sweepCollection);
  const windowSeconds = Math.floor(Math.min(FIVETRAN_WINDOW_MS, config.reconcileAfterMs / 2) / 1000);
  const vendors: Vendor[] = [...(fivetran ? (['fivetran'] as const) : []), ...(airbyte ? (['airbyte'] as const) : [])];

  async function run(ctx: TickContext): Promise<Record<string, number>> {
    const report: Record<string, number> = { recovered: 0, factsChanged: 0, skippedVendors: 0, skippedItems: 0 };
    if (!vendors.length) return report;
    const refs = vendors.map((v) => collection.doc(`vendor-${v}`));
    const snapshots = await guarded('read the vendor snapshots', config.firestoreTimeoutMs, ctx.deadline, () => db.getAll(...refs));
    await Promise.all(
      vendors.map(async (vendor, i) => {
        const stored = snapshots[i]!.exists ? (snapshots[i]!.data() as VendorSnapshot) : undefined;
        const snapshot: VendorSnapshot = stored ?? { vendor, watchingSince: ctx.nowMs, notBefore: null, jobsSeenUpTo: null, entries: {}, updatedAt: ctx.nowMs };
        const counts = await reconcileVendor(vendor, snapshot, !stored, ctx);
        for (const [key, n] of Object.entries(counts)) report[key] = (report[key] ?? 0) + n;
      }),
    );
    return report;
  }

  async function reconcileVendor(vendor: Vendor, snapshot: VendorSnapshot, isNew: boolean, ctx: TickContext): Promise<Record<string, number>> {
    const ref = collection.doc(`vendor-${vendor}`);
    if (snapshot.notBefore !== null && snapshot.notBefore > ctx.nowMs) {
      ctx.blindVendors.add(vendor);
      ctx.log.warn({ vendor, until: new Date(snapshot.notBefore).toISOString() }, 'vendor API skipped this tick: waiting as it asked (Retry-After)');
      return { skippedVendors: 1 };
    }
    let listed: ListedConnector[];
    let latest: Map<string, AirbyteJob> | undefined;
    let jobsSeenUpTo = snapshot.jobsSeenUpTo;
    let skipped: SkippedItem[] = [];
    const fivetranById = new Map<string, FivetranConnection>();
    const airbyteById = new Map<string, AirbyteConnection>();
    try {
      if (vendor === 'fivetran') {
        const answer = await fivetran!.listConnections({ deadline: ctx.deadline, ...(config.fivetran?.groupId ? { groupId: config.fivetran.groupId } : {}) });
        skipped = answer.skipped;
        listed = answer.connections.map((c) => {
          fivetranById.set(c.id, c);
          return fivetranListed(c, ctx.nowMs);
        });
      } else {
        const workspaceIds = config.airbyte!.workspaceIds;
        const since = Math.max(ctx.nowMs - config.reconcileLookbackMs, (snapshot.jobsSeenUpTo ?? snapshot.watchingSince) - JOBS_OVERLAP_MS);
        const [connections, jobs] = await Promise.all([airbyte!.listConnections({ deadline: ctx.deadline, workspaceIds }), airbyte!.listJobs({ deadline: ctx.deadline, updatedSince: since, workspaceIds })]);
        skipped = [...connections.skipped, ...jobs.skipped];
        latest = latestJobs(jobs.jobs);
        // Jobs that end after this may not be settled yet: the next read starts before them.
        jobsSeenUpTo = jobs.complete ? Math.max(jobsSeenUpTo ?? 0, ctx.nowMs - config.reconcileAfterMs) : Math.max(jobsSeenUpTo ?? 0, ...jobs.jobs.map((j) => j.endedAt ?? 0));
        listed = connections.connections.map((c) => {
          airbyteById.set(c.connectionId, c);
          const entry = snapshot.entries[c.connectionId];
          const job = latest!.get(c.connectionId);
          const s = job?.status === 'succeeded' ? Math.max(job.endedAt!, entry?.s ?? 0) : (entry?.s ?? null);
          const f = job?.status === 'failed' ? Math.max(job.endedAt!, entry?.f ?? 0) : (entry?.f ?? null);
          return airbyteListed(c, { succeededAt: s, failedAt: f }, ctx.nowMs);
        });
      }
    } catch (error) {
      ctx.blindVendors.add(vendor);
      const failure = error instanceof VendorApiError ? error : undefined;
      ctx.log.warn({ vendor, failure: failure?.failure ?? 'error', err: describeError(error), ...(failure?.details.retryAfterMs === undefined ? {} : { retryAfterMs: failure.details.retryAfterMs }) }, 'vendor API skipped this tick');
      if (failure?.failure === 'rate-limited') {
        const notBefore = ctx.nowMs + (failure.details.retryAfterMs ?? DEFAULT_BACKOFF_MS);
        await guarded('remember the vendor\'s Retry-After', config.firestoreTimeoutMs, ctx.deadline, () => ref.set({ ...snapshot, notBefore, updatedAt: ctx.nowMs }));
      }
      return { skippedVendors: 1 };
    }
    if (skipped.length) ctx.log.warn({ vendor, count: skipped.length, items: skipped.slice(0, 5) }, 'vendor API items skipped: not in the documented shape');

    // What changed since the last tick goes to freshness; the latest sync of each is checked against what postload holds.
    const entries: Record<string, Entry> = { ...snapshot.entries };
    const toCheck: Array<{ listed: ListedConnector; sync: MissingSync }> = [];
    let factsChanged = 0;
    for (const item of listed) {
      const old = snapshot.entries[item.id];
      const digest = factsDigest(item.facts);
      const docId = connectorDocId(vendor, item.id);
      if (!old || old.d !== digest) {
        ctx.vendorFacts.set(docId, { identity: item.identity, facts: item.facts });
        factsChanged++;
      }
      const entry: Entry = { d: digest, s: item.facts.succeededAt, f: item.facts.failedAt, r: old?.r ?? null };
      entries[item.id] = entry;
      const floor = Math.max(snapshot.watchingSince, ctx.nowMs - config.reconcileLookbackMs);
      const settledBy = ctx.nowMs - config.reconcileAfterMs;
      if (vendor === 'fivetran') {
        const s = item.facts.succeededAt ?? Number.NEGATIVE_INFINITY;
        const f = item.facts.failedAt ?? Number.NEGATIVE_INFINITY;
        const end = Math.max(s, f);
        if (!Number.isFinite(end) || end <= (entry.r ?? Number.NEGATIVE_INFINITY) || end > settledBy) continue;
        if (end < floor) entry.r = end;
        else toCheck.push({ listed: item, sync: { vendor, connection: fivetranById.get(item.id)!, outcome: s >= f ? 'succeeded' : 'failed', endedAt: end } });
      } else {
        const job = latest!.get(item.id);
        if (!job || job.jobId <= (entry.r ?? 0) || job.endedAt! > settledBy) continue;
        if (job.endedAt! < floor) entry.r = job.jobId;
        else toCheck.push({ listed: item, sync: { vendor: 'airbyte', connection: airbyteById.get(item.id)!, job } });
      }
    }

    // The connector documents of the syncs to check, in one read.
    let recovered = 0;
    if (toCheck.length) {
      const docs = await guarded('read the connectors to reconcile', config.firestoreTimeoutMs, ctx.deadline, () => db.getAll(...toCheck.map((c) => db.collection(config.connectorsCollection).doc(connectorDocId(vendor, c.listed.id)))));
      const events: SyncEvent[] = [];
      toCheck.forEach(({ listed: item, sync }, i) => {
        const held = heldEvents(docs[i]!.exists ? docs[i]!.data() : undefined);
        const entry = entries[item.id]!;
        const isHeld =
          sync.vendor === 'fivetran' ? fivetranHeld(held, sync.outcome, sync.endedAt, windowSeconds * 1000) : airbyteHeld(held, sync.job.status === 'succeeded' ? 'succeeded' : 'failed', sync.job.jobId);
        entry.r = sync.vendor === 'fivetran' ? sync.endedAt : sync.job.jobId;
        if (!isHeld) events.push(recoveredEvent(sync, { nowMs: ctx.nowMs, windowSeconds }));
      });
      // Published before the snapshot moves on: a tick that dies here publishes the same ids again next time, and the processor records each once.
      if (events.length) {
        // Signed as ingest signs (the processor acts on nothing else); a key that cannot be read fails the task: nothing unsigned is published.
        const key = await currentSigningKey(config.signingKey);
        await Promise.all(events.map((event) => publisher.publish(encodeMessage(event, key))));
      }
      for (const event of events) {
        ctx.log.warn({ vendor, connector: `${vendor}:${event.connector.id}`, connectorName: event.connector.name, eventId: event.id, type: event.type, finishedAt: event.sync.finishedAt, syncId: event.sync.id }, 'webhook never arrived: sync recovered from the vendor API');
      }
      recovered = events.length;
    }

    const next: VendorSnapshot = { vendor, watchingSince: snapshot.watchingSince, notBefore: null, jobsSeenUpTo, entries, updatedAt: ctx.nowMs };
    const size = documentSize(ref.path, next as unknown as Record<string, unknown>);
    if (size > MAX_DOCUMENT_BYTES) {
      ctx.log.error({ vendor, connectors: listed.length, bytes: size }, `vendor snapshot too large for one Firestore document: narrow the listing (${vendor === 'fivetran' ? 'FIVETRAN_GROUP_ID' : 'AIRBYTE_WORKSPACE_IDS'})`);
      ctx.blindVendors.add(vendor);
      return { skippedVendors: 1 };
    }
    if (isNew || changedSnapshot(snapshot, next)) ctx.afterFreshness.push(() => guarded('remember what the vendor said', config.firestoreTimeoutMs, ctx.deadline, () => ref.set(next)).then(() => undefined));
    return { recovered, factsChanged, skippedItems: skipped.length };
  }

  return { name: 'reconciliation', run };
}

function changedSnapshot(before: VendorSnapshot, after: VendorSnapshot): boolean {
  return before.notBefore !== after.notBefore || before.jobsSeenUpTo !== after.jobsSeenUpTo || JSON.stringify(before.entries) !== JSON.stringify(after.entries);
}
