import { FieldPath, FieldValue, Timestamp, type DocumentReference, type Firestore, type WriteBatch } from '@google-cloud/firestore';
import type { Deadline } from '../../processor/clients/http-retry.js';
import { runLogDocId } from '../../processor/store/document-ids.js';
import { runKey } from '../../processor/store/run-index.js';
import type { TargetKey } from '../../processor/targets/run-target.js';
import { guarded } from '../guard.js';
import type { FollowedOutcome, FollowedRun } from '../../processor/store/followed-run.js';

export interface RunsStoreOptions {
  followedRunsCollection: string;
  auditCollection: string;
  jobStateCollection: string;
  timeoutMs: number;
  /** How long a followed run's record is kept after its last write (AUDIT_RETENTION_DAYS, as the audit record it belongs to). */
  retentionMs: number;
}

export interface StoredRun {
  docId: string;
  record: FollowedRun;
  updateTime: Timestamp;
}

/** What one commit writes for one followed run, all or nothing. */
export interface RunWrite {
  docId: string;
  record: FollowedRun;
  /** The update time it was read with: another tick writing in between fails the commit. */
  readTime: Timestamp;
  /** Fields set on the originating action (`actions.<id>.<field>`). */
  action?: Record<string, unknown>;
  /** A run this write records as started for the originating load: listed on its record (processor/store/run-index.ts) for the status page. */
  startedRun?: { runId: string; atMs: number };
  /** This run's fields in the target's run log. */
  runLog?: { target: TargetKey; runId: string; fields: Record<string, unknown>; countDay?: string; batch?: { holder: string; outcome: Record<string, unknown> } };
}

/**
 * The runs task's Firestore side: one query for the records due, one commit per run that
 * changed (guarded by its update time, so overlapping ticks decide each change once), and
 * the originating audit record and run log written in that same commit.
 */
export class RunsStore {
  constructor(
    readonly db: Firestore,
    private readonly options: RunsStoreOptions,
  ) {}

  ref(docId: string): DocumentReference {
    return this.db.collection(this.options.followedRunsCollection).doc(docId);
  }

  /** Records whose next look is due, oldest first, at most `limit`. */
  async due(nowMs: number, limit: number, deadline: Deadline): Promise<StoredRun[]> {
    const query = this.db.collection(this.options.followedRunsCollection).where('nextCheckAt', '<=', Timestamp.fromMillis(nowMs)).orderBy('nextCheckAt').limit(limit);
    const snapshot = await this.guard('query the followed runs due', deadline, () => query.get());
    return snapshot.docs.map((doc) => ({ docId: doc.id, record: fromStored(doc.data()), updateTime: doc.updateTime }));
  }

  /** The run logs of these targets (for deferred batches: the runs started since), in one read. */
  async runLogs(targets: TargetKey[], deadline: Deadline): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    if (!targets.length) return found;
    const refs = targets.map((t) => this.db.collection(this.options.jobStateCollection).doc(runLogDocId(t)));
    const snapshots = await this.guard('read the run logs', deadline, () => this.db.getAll(...refs, { fieldMask: [new FieldPath('runs')] }));
    snapshots.forEach((snapshot, i) => snapshot.exists && found.set(runLogDocId(targets[i]!), snapshot.data()!));
    return found;
  }

  /**
   * One run's change: its record (guarded), its originating action, its run log entry.
   * Returns the commit's time (the guard of the next write). A missing audit record (past
   * its retention) does not stop the rest: the commit is made again without it.
   */
  async commit(write: RunWrite, nowMs: number, deadline: Deadline): Promise<Timestamp> {
    const build = (withAction: boolean): WriteBatch => {
      const batch = this.db.batch();
      batch.update(this.ref(write.docId), toStored(write.record, nowMs, this.options.retentionMs), { lastUpdateTime: write.readTime });
      if (withAction && write.action && Object.keys(write.action).length) {
        const fields = Object.entries(write.action).flatMap(([field, value]) => [new FieldPath('actions', write.record.actionId, field), value]);
        if (write.startedRun) {
          const { target } = write.record;
          fields.push(new FieldPath('startedRuns'), FieldValue.arrayUnion(runKey(target.kind, target.id, write.startedRun.runId)), new FieldPath('runStartedAt'), Timestamp.fromMillis(write.startedRun.atMs));
        }
        batch.update(this.db.collection(this.options.auditCollection).doc(write.record.origin.eventId), fields[0] as FieldPath, fields[1], ...fields.slice(2));
      }
      if (write.runLog) {
        const at = new Date(nowMs).toISOString();
        const log = write.runLog;
        batch.set(
          this.db.collection(this.options.jobStateCollection).doc(runLogDocId(log.target)),
          {
            schemaVersion: 2,
            target: log.target,
            runs: { [log.runId]: log.fields },
            ...(log.countDay ? { days: { [log.countDay]: FieldValue.increment(1) } } : {}),
            ...(log.batch ? { batches: { [log.batch.holder]: log.batch.outcome } } : {}),
            updatedAt: at,
            expireAt: Timestamp.fromMillis(nowMs + this.options.retentionMs),
          },
          { merge: true },
        );
      }
      return batch;
    };
    try {
      const [result] = await this.guard('record a followed run', deadline, () => build(true).commit());
      return result!.writeTime;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 5 /* NOT_FOUND: the audit record expired */ || !write.action) throw error;
      const [result] = await this.guard('record a followed run (its audit record is gone)', deadline, () => build(false).commit());
      return result!.writeTime;
    }
  }

  private guard<T>(what: string, deadline: Deadline, operation: () => Promise<T>): Promise<T> {
    return guarded(what, this.options.timeoutMs, deadline, operation);
  }
}

/** The record as stored: nextCheckAt a Timestamp (absent once nothing is due, so it leaves the query's index), expireAt for the TTL policy. */
export function toStored(record: FollowedRun, nowMs: number, retentionMs: number): Record<string, unknown> {
  const { nextCheckAt, ...rest } = record;
  return { ...rest, nextCheckAt: nextCheckAt === null ? FieldValue.delete() : Timestamp.fromMillis(nextCheckAt), updatedAt: new Date(nowMs).toISOString(), expireAt: Timestamp.fromMillis(nowMs + retentionMs) };
}

export function fromStored(data: Record<string, unknown>): FollowedRun {
  const next = data.nextCheckAt as Timestamp | undefined | null;
  const { expireAt: _expireAt, updatedAt: _updatedAt, ...rest } = data;
  return { ...(rest as unknown as FollowedRun), nextCheckAt: next ? next.toMillis() : null };
}

export type { FollowedOutcome };
