import { FieldPath, Timestamp, type DocumentReference, type Firestore } from '@google-cloud/firestore';
import type { Deadline } from '../../processor/clients/http-retry.js';
import { PermanentError } from '../../processor/errors.js';
import { documentSize, MAX_DOCUMENT_BYTES } from '../../processor/store/document-size.js';
import { guarded } from '../guard.js';
import { fromFirestore, toFirestore, type ChangeRecord, type FreshnessRecord, type IncidentRecord, type OutboxMessage } from './record.js';
import type { SlackThread } from './slack-sender.js';

/** Sub-collections of a freshness document: its incidents and its state changes (the audit trail). */
export const INCIDENTS_SUBCOLLECTION = 'freshnessIncidents';
export const CHANGES_SUBCOLLECTION = 'freshnessChanges';

export interface FreshnessStoreOptions {
  connectorsCollection: string;
  freshnessCollection: string;
  timeoutMs: number;
}

/** How far the connectors have been read: the last document's update time and id ('' for "any document at that time"). */
export interface ReadPosition {
  at: number;
  id: string;
}

export interface StoredFreshness {
  record: FreshnessRecord;
  updateTime: Timestamp;
}

/** One connector's writes in a commit: its freshness document (guarded by what was read), its changes and incident. */
export interface FreshnessWrite {
  docId: string;
  record: FreshnessRecord;
  /** The update time read; null when the document did not exist (created). */
  readTime: Timestamp | null;
  changes: ChangeRecord[];
  incident?: { id: number; fields: Partial<IncidentRecord> } | undefined;
}

/**
 * The sweep's Firestore side for freshness, in few round trips: two queries for the
 * candidates (connectors with new events, freshness documents due), one read of what the
 * queries did not return, one commit for every change, guarded by the update times read
 * (another sweep writing in between makes the commit fail whole, and the task reads and
 * decides again: overlapping ticks never double an alert).
 */
export class FreshnessStore {
  constructor(
    readonly db: Firestore,
    private readonly options: FreshnessStoreOptions,
  ) {}

  freshnessRef(docId: string): DocumentReference {
    return this.db.collection(this.options.freshnessCollection).doc(docId);
  }

  connectorRef(docId: string): DocumentReference {
    return this.db.collection(this.options.connectorsCollection).doc(docId);
  }

  /**
   * Connector documents updated after a position (all of them on a first run), oldest
   * first. The position is the last document read, its update time and id: many documents
   * share one update time (a burst, an import), so the id breaks ties and a page never
   * starts over the same documents.
   */
  async connectorsUpdatedSince(after: ReadPosition | null, limit: number, deadline: Deadline): Promise<Array<{ docId: string; data: Record<string, unknown>; updatedAt: number }>> {
    let query = this.db.collection(this.options.connectorsCollection).orderBy('updatedAt').orderBy(FieldPath.documentId()).limit(limit);
    // No id: every document updated after that time (a cursor may name a prefix of the order).
    if (after) query = after.id ? query.startAfter(Timestamp.fromMillis(after.at), after.id) : query.startAfter(Timestamp.fromMillis(after.at));
    const snapshot = await this.guard('query the connectors updated since the last tick', deadline, () => query.get());
    return snapshot.docs.map((doc) => ({ docId: doc.id, data: doc.data(), updatedAt: (doc.get('updatedAt') as Timestamp | undefined)?.toMillis() ?? 0 }));
  }

  /**
   * Freshness documents whose next check is due. `sources` narrows it when a vendor is
   * blind this tick (its connectors wait), which needs the composite index (source,
   * nextCheckAt) that terraform/firestore.tf declares.
   */
  async due(nowMs: number, sources: string[] | undefined, limit: number, deadline: Deadline): Promise<Map<string, StoredFreshness>> {
    let query = this.db.collection(this.options.freshnessCollection).where('nextCheckAt', '<=', Timestamp.fromMillis(nowMs));
    if (sources) query = query.where('source', 'in', sources.length ? sources : ['(none)']);
    const snapshot = await this.guard('query the freshness documents due', deadline, () => query.orderBy('nextCheckAt').limit(limit).get());
    return new Map(snapshot.docs.map((doc) => [doc.id, { record: fromFirestore<FreshnessRecord>(doc.data()), updateTime: doc.updateTime }]));
  }

  /** The named connector and freshness documents, in one read. */
  async read(connectorIds: string[], freshnessIds: string[], deadline: Deadline): Promise<{ connectors: Map<string, Record<string, unknown>>; freshness: Map<string, StoredFreshness> }> {
    const connectors = new Map<string, Record<string, unknown>>();
    const freshness = new Map<string, StoredFreshness>();
    const refs = [...connectorIds.map((id) => this.connectorRef(id)), ...freshnessIds.map((id) => this.freshnessRef(id))];
    if (!refs.length) return { connectors, freshness };
    const snapshots = await this.guard('read the connectors to evaluate', deadline, () => this.db.getAll(...refs));
    snapshots.forEach((snapshot, i) => {
      if (!snapshot.exists) return;
      if (i < connectorIds.length) connectors.set(snapshot.id, snapshot.data()!);
      else freshness.set(snapshot.id, { record: fromFirestore<FreshnessRecord>(snapshot.data()!), updateTime: snapshot.updateTime! });
    });
    return { connectors, freshness };
  }

  /** Any other documents by path (join states and audit records for the messages), in one read. */
  async readPaths(paths: string[], deadline: Deadline): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    if (!paths.length) return found;
    const snapshots = await this.guard('read what the messages report', deadline, () => this.db.getAll(...paths.map((p) => this.db.doc(p)), { fieldMask: [new FieldPath('upstreams'), new FieldPath('firings'), new FieldPath('jobId'), new FieldPath('actions')] }));
    snapshots.forEach((snapshot, i) => snapshot.exists && found.set(paths[i]!, snapshot.data()!));
    return found;
  }

  /**
   * Every write in one commit (or a few of at most 400 writes), each freshness document
   * guarded by the update time it was read with. Returns the commit's write time; throws
   * the conflict when another sweep wrote first (the caller reads again).
   */
  async commit(writes: FreshnessWrite[], deadline: Deadline): Promise<Map<string, Timestamp>> {
    const times = new Map<string, Timestamp>();
    for (const chunk of chunks(writes, 100)) {
      const batch = this.db.batch();
      for (const write of chunk) {
        const ref = this.freshnessRef(write.docId);
        const stored = toFirestore(write.record);
        this.assertFits(ref, stored);
        if (write.readTime) batch.update(ref, stored, { lastUpdateTime: write.readTime });
        else batch.create(ref, stored);
        for (const change of write.changes) batch.set(ref.collection(CHANGES_SUBCOLLECTION).doc(`${change.at}-${change.to}`), toFirestore(change));
        if (write.incident) batch.set(ref.collection(INCIDENTS_SUBCOLLECTION).doc(String(write.incident.id)), toFirestore(write.incident.fields), { merge: true });
      }
      const results = await this.guard('record the freshness changes', deadline, () => batch.commit());
      const writeTime = results[0]?.writeTime;
      if (writeTime) for (const write of chunk) times.set(write.docId, writeTime);
    }
    return times;
  }

  /**
   * After sending: each document's outbox as it should be now, with its incident's message
   * records, in one commit guarded by the write times of the claim commit. Throws the
   * conflict when another sweep wrote in between (the caller settles those one by one).
   */
  async settleAll(settled: Array<{ docId: string; writeTime: Timestamp; outbox: OutboxMessage[]; nextCheckAt: number | null; messages: Array<{ incident: number; key: string; fields: Record<string, unknown> }>; thread?: { incident: number; thread: SlackThread } | undefined }>, deadline: Deadline): Promise<void> {
    for (const chunk of chunks(settled, 100)) {
      const batch = this.db.batch();
      for (const s of chunk) {
        const ref = this.freshnessRef(s.docId);
        batch.update(ref, { outbox: s.outbox, nextCheckAt: s.nextCheckAt === null ? null : Timestamp.fromMillis(s.nextCheckAt), ...(s.thread ? { slackThread: s.thread.thread } : {}) }, { lastUpdateTime: s.writeTime });
        for (const m of s.messages) batch.set(ref.collection(INCIDENTS_SUBCOLLECTION).doc(String(m.incident)), { messages: { [m.key]: m.fields } }, { merge: true });
        if (s.thread) batch.set(ref.collection(INCIDENTS_SUBCOLLECTION).doc(String(s.thread.incident)), { slackTs: s.thread.thread.ts, slackChannel: s.thread.thread.channel }, { merge: true });
      }
      await this.guard('record the messages sent', deadline, () => batch.commit());
    }
  }

  private assertFits(ref: DocumentReference, data: Record<string, unknown>): void {
    const size = documentSize(ref.path, data);
    if (size > MAX_DOCUMENT_BYTES) throw new PermanentError(`the freshness document ${ref.id} would be ${size} bytes, over Firestore's 1 MiB`, { system: 'Firestore' });
  }

  private guard<T>(what: string, deadline: Deadline, operation: () => Promise<T>): Promise<T> {
    return guarded(what, this.options.timeoutMs, deadline, operation);
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
