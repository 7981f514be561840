import { FieldPath, FieldValue, Firestore, Timestamp, type DocumentReference } from '@google-cloud/firestore';
import type { SchemaProblem } from '../shared/schemas.js';
import type { SyncEvent } from '../shared/sync-event.js';
import { describeError, PermanentError, TransientError, type FailureKind } from './errors.js';
import type { AttemptRecord } from './http-retry.js';

/** pending: claimed by a delivery at work; retry: failed transiently, free to claim; succeeded/failed: final. */
export type ActionStatus = 'pending' | 'retry' | 'succeeded' | 'failed';

/** One action's outcome in the event's audit document (`actions.<actionId>`). */
export interface ActionRecord {
  kind: 'dbt' | 'slack';
  /** The dbt job id, or the Slack webhook's setting name (never its URL). */
  target: string;
  status: ActionStatus;
  /** Deliveries that claimed the action. */
  attempts: number;
  /** HTTP requests made for it, over all deliveries. */
  requests: number;
  claimedBy: string | null;
  leaseUntil: Timestamp | null;
  firstAttemptAt: Timestamp;
  lastAttemptAt: Timestamp;
  completedAt: Timestamp | null;
  runId?: number | null;
  runHref?: string | null;
  /** True when the run was found already started (after a crash or a lost answer) instead of started again. */
  recovered?: boolean;
  lastError: string | null;
  /** The latest errors, newest last (at most MAX_KEPT). */
  errors: Array<{ at: string; attempt: number; kind: FailureKind; message: string; status: number | null }>;
  /** The latest requests' outcomes (status or network error), newest last (at most MAX_KEPT). */
  requestLog: AttemptRecord[];
}

export type Claim =
  | { state: 'claimed'; attempt: number; previous: ActionRecord | undefined }
  | { state: 'done'; record: ActionRecord }
  | { state: 'busy'; record: ActionRecord };

export interface AuditStoreOptions {
  auditCollection: string;
  connectorsCollection: string;
  retentionDays: number;
  leaseMs: number;
  timeoutMs: number;
  now?: () => number;
}

const MAX_KEPT = 10;
const RECENT_SYNCS = 20;
const MAX_PAYLOAD_CHARS = 200_000;
const DAY_MS = 86_400_000;

/**
 * The Firestore side of processing: one audit document per SyncEvent (with each action's
 * outcome and the claims that make it run once), one document per connector, and one per
 * message that was not a SyncEvent. Every call is bounded by a timeout and fails with a
 * TransientError, so an unreachable Firestore makes Pub/Sub redeliver.
 */
export class AuditStore {
  private readonly now: () => number;

  constructor(
    private readonly db: Firestore,
    private readonly options: AuditStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The audit document of an event id, or of an invalid message (`invalid-<messageId>`). */
  eventRef(docId: string): DocumentReference {
    return this.db.collection(this.options.auditCollection).doc(docId);
  }

  /** Creates the event's audit document on first delivery; counts every later one. */
  async recordDelivery(event: SyncEvent, delivery: { id: string; messageId: string; routes: string[] }): Promise<void> {
    const ref = this.eventRef(event.id);
    const now = Timestamp.fromMillis(this.now());
    const { payload, ...normalised } = event;
    const payloadJson = JSON.stringify(payload);
    await this.guard('record the event', async () => {
      try {
        await ref.create({
          eventId: event.id,
          source: event.source,
          type: event.type,
          vendorEvent: event.vendorEvent,
          connectorId: event.connector.id,
          connectorName: event.connector.name,
          destinationId: event.destination.id,
          syncId: event.sync.id,
          syncStatus: event.sync.status,
          occurredAt: timestampOf(event.occurredAt),
          receivedAt: timestampOf(event.receivedAt),
          event: normalised,
          payloadJson: payloadJson.length > MAX_PAYLOAD_CHARS ? payloadJson.slice(0, MAX_PAYLOAD_CHARS) : payloadJson,
          payloadTruncated: payloadJson.length > MAX_PAYLOAD_CHARS,
          routes: delivery.routes,
          status: 'received',
          firstDeliveredAt: now,
          lastDeliveredAt: now,
          processedAt: null,
          deliveries: 1,
          messageIds: [delivery.messageId],
          actions: {},
          expireAt: this.expireAt(),
        });
      } catch (error) {
        if ((error as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw error;
        await ref.update({
          lastDeliveredAt: now,
          deliveries: FieldValue.increment(1),
          messageIds: FieldValue.arrayUnion(delivery.messageId),
        });
      }
    });
  }

  /**
   * Reserves an action for this delivery, in a transaction: two deliveries at the same
   * moment cannot both claim it. A completed action is `done`; one another delivery holds
   * with an unexpired lease is `busy`; a claim whose lease ran out (its delivery crashed or
   * timed out) is taken over.
   */
  async claim(docId: string, actionId: string, deliveryId: string, what: Pick<ActionRecord, 'kind' | 'target'>): Promise<Claim> {
    const ref = this.eventRef(docId);
    return this.guard(`claim ${actionId}`, () =>
      this.db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        if (!snapshot.exists) throw new TransientError(`audit document ${docId} does not exist yet`, { system: 'Firestore' });
        const previous = (snapshot.get(new FieldPath('actions', actionId)) ?? undefined) as ActionRecord | undefined;
        const nowMs = this.now();
        if (previous?.status === 'succeeded' || previous?.status === 'failed') return { state: 'done', record: previous } as const;
        if (previous?.status === 'pending' && previous.claimedBy !== deliveryId && (previous.leaseUntil?.toMillis() ?? 0) > nowMs) {
          return { state: 'busy', record: previous } as const;
        }
        const now = Timestamp.fromMillis(nowMs);
        const record: ActionRecord = {
          kind: what.kind,
          target: what.target,
          requests: 0,
          lastError: null,
          errors: [],
          requestLog: [],
          firstAttemptAt: now,
          completedAt: null,
          ...previous,
          status: 'pending',
          attempts: (previous?.attempts ?? 0) + 1,
          claimedBy: deliveryId,
          leaseUntil: Timestamp.fromMillis(nowMs + this.options.leaseMs),
          lastAttemptAt: now,
        };
        tx.update(ref, new FieldPath('actions', actionId), record);
        return { state: 'claimed', attempt: record.attempts, previous } as const;
      }),
    );
  }

  /** Records a completed action and releases its claim. */
  async succeed(docId: string, actionId: string, result: Partial<Pick<ActionRecord, 'runId' | 'runHref' | 'recovered'>>, requests: AttemptRecord[]): Promise<void> {
    await this.settle(docId, actionId, (record) => ({ ...record, ...result, status: 'succeeded', completedAt: Timestamp.fromMillis(this.now()) }), requests);
  }

  /** Records a failed attempt: final when permanent, free to claim again at once when transient. */
  async fail(docId: string, actionId: string, error: unknown, kind: FailureKind, requests: AttemptRecord[]): Promise<void> {
    const message = describeError(error);
    const status = (error as { status?: number }).status ?? null;
    await this.settle(
      docId,
      actionId,
      (record) => ({
        ...record,
        status: kind === 'permanent' ? 'failed' : 'retry',
        completedAt: kind === 'permanent' ? Timestamp.fromMillis(this.now()) : null,
        lastError: message,
        errors: [...record.errors, { at: new Date(this.now()).toISOString(), attempt: record.attempts, kind, message, status }].slice(-MAX_KEPT),
      }),
      requests,
    );
  }

  private async settle(docId: string, actionId: string, change: (record: ActionRecord) => ActionRecord, requests: AttemptRecord[]): Promise<void> {
    const ref = this.eventRef(docId);
    await this.guard(`record ${actionId}`, () =>
      this.db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const record = snapshot.get(new FieldPath('actions', actionId)) as ActionRecord | undefined;
        if (!record) throw new TransientError(`audit document ${docId} has no claim for ${actionId}`, { system: 'Firestore' });
        const changed = change(record);
        tx.update(ref, new FieldPath('actions', actionId), {
          ...changed,
          claimedBy: null,
          leaseUntil: null,
          requests: record.requests + requests.length,
          requestLog: [...record.requestLog, ...requests].slice(-MAX_KEPT),
        });
      }),
    );
  }

  /** The event's overall outcome after a delivery: processed, failed (permanently) or retrying. */
  async finish(docId: string, status: 'processed' | 'failed' | 'retrying' | 'invalid'): Promise<void> {
    const processedAt = status === 'retrying' ? null : Timestamp.fromMillis(this.now());
    await this.guard('record the outcome', () => this.eventRef(docId).update({ status, processedAt }));
  }

  /**
   * Keeps the connector's document current: latest event and status, last successful and
   * last failed sync, and its most recent syncs. Older events delivered late never
   * overwrite newer ones, and a redelivered event is not listed twice.
   */
  async updateConnector(event: SyncEvent): Promise<void> {
    if (!event.connector.id) return;
    const ref = this.db.collection(this.options.connectorsCollection).doc(connectorDocId(event.source, event.connector.id));
    const summary = {
      eventId: event.id,
      type: event.type,
      status: event.sync.status,
      vendorStatus: event.sync.vendorStatus,
      syncId: event.sync.id,
      occurredAt: event.occurredAt,
      finishedAt: event.sync.finishedAt,
    };
    await this.guard('update the connector', () =>
      this.db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const data = snapshot.data() ?? {};
        const newer = (field: string) => !data[field] || String((data[field] as { occurredAt?: string }).occurredAt ?? '') <= event.occurredAt;
        const recent = ((data.recentEvents as Array<typeof summary> | undefined) ?? []).filter((e) => e.eventId !== event.id);
        const update: Record<string, unknown> = {
          source: event.source,
          connectorId: event.connector.id,
          updatedAt: Timestamp.fromMillis(this.now()),
          recentEvents: [...recent, summary].sort((a, b) => b.occurredAt.localeCompare(a.occurredAt)).slice(0, RECENT_SYNCS),
        };
        if (newer('latestEvent')) {
          Object.assign(update, {
            connectorName: event.connector.name,
            connectorType: event.connector.type,
            destination: { id: event.destination.id, name: event.destination.name },
            latestEvent: summary,
          });
          if (event.sync.status) update.latestStatus = event.sync.status;
        }
        if (event.type === 'sync.succeeded' && newer('lastSuccessfulSync')) {
          update.lastSuccessfulSync = { ...summary, metrics: event.metrics, durationSeconds: event.sync.durationSeconds ?? null };
        }
        if (event.type === 'sync.failed' && newer('lastFailedSync')) {
          update.lastFailedSync = { ...summary, error: event.error };
        }
        tx.set(ref, update, { merge: true });
      }),
    );
  }

  /** Keeps a message that is not a SyncEvent, by its Pub/Sub message id, for the audit trail. */
  async recordInvalid(docId: string, details: { messageId: string; problems: SchemaProblem[]; data: string; attributes: Record<string, string> }): Promise<void> {
    const now = Timestamp.fromMillis(this.now());
    await this.guard('record the invalid message', async () => {
      const ref = this.eventRef(docId);
      try {
        await ref.create({
          status: 'invalid',
          messageId: details.messageId,
          problems: details.problems,
          data: details.data.slice(0, MAX_PAYLOAD_CHARS),
          attributes: details.attributes,
          firstDeliveredAt: now,
          lastDeliveredAt: now,
          deliveries: 1,
          actions: {},
          expireAt: this.expireAt(),
        });
      } catch (error) {
        if ((error as { code?: number }).code !== 6) throw error;
        await ref.update({ lastDeliveredAt: now, deliveries: FieldValue.increment(1) });
      }
    });
  }

  private expireAt(): Timestamp {
    return Timestamp.fromMillis(this.now() + this.options.retentionDays * DAY_MS);
  }

  /** Runs a Firestore operation with a timeout, turning every failure into a typed one. */
  private async guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TransientError(`Firestore did not ${what} within ${this.options.timeoutMs} ms`, { system: 'Firestore' })),
        this.options.timeoutMs,
      );
    });
    try {
      return await Promise.race([operation(), timeout]);
    } catch (error) {
      if (error instanceof TransientError || error instanceof PermanentError) throw error;
      const code = (error as { code?: unknown }).code;
      const message = `Firestore could not ${what}: ${describeError(error)}`;
      if (code === 3 /* INVALID_ARGUMENT */) throw new PermanentError(message, { system: 'Firestore', cause: error });
      throw new TransientError(message, { system: 'Firestore', cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

export function connectorDocId(source: string, connectorId: string): string {
  return `${source}-${connectorId}`.replace(/\//g, '_');
}

function timestampOf(iso: string): Timestamp | null {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : Timestamp.fromMillis(ms);
}

/** One Firestore client per process, found through FIRESTORE_EMULATOR_HOST locally. */
export function createFirestore(projectId: string | undefined): Firestore {
  return new Firestore({ ...(projectId ? { projectId } : {}), ignoreUndefinedProperties: true });
}
