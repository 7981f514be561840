import { Firestore, Timestamp, type DocumentReference, type DocumentSnapshot, type WriteBatch } from '@google-cloud/firestore';
import type { Deadline } from '../clients/http-retry.js';
import { describeError, PermanentError, TransientError } from '../errors.js';
import { decideClaims, mergeEventStatus, type ActionKind, type ActionStatus, type ActionView, type ClaimDecision, type PlannedAction } from '../planning/claims.js';
import type { IncidentChange, IncidentPlan } from '../planning/slack-incident.js';
import { cutText, documentSize, MAX_DOCUMENT_BYTES } from './document-size.js';
import { startedRunFields } from './run-index.js';

/** One action's outcome in the audit document (`actions.<actionId>`). */
export interface ActionRecord {
  kind: ActionKind;
  /** The dbt job id, or the Slack webhook's setting name (never its URL). */
  target: string;
  status: ActionStatus;
  /** Deliveries that claimed the action. */
  attempts: number;
  /** HTTP requests made for it, over all deliveries. */
  requests: number;
  claimedBy: string | null;
  leaseUntil: Timestamp | null;
  /** Retry-After kept: no delivery calls the service again before this. */
  notBefore: Timestamp | null;
  /** An earlier attempt may have acted without its outcome being recorded. */
  uncertain: boolean;
  firstAttemptAt: Timestamp | null;
  lastAttemptAt: Timestamp | null;
  completedAt: Timestamp | null;
  /** The run this event started (the target's own id: a number for dbt Cloud). */
  runId?: number | string | null;
  runHref?: string | null;
  /** The run was found already started (after a lost answer or a crash) instead of started again. */
  recovered?: boolean;
  /** For a message: false when there was nothing to say (no notified type, nothing failed). */
  sent?: boolean;
  /** For a message posted through the Slack app: its channel and ts (the message to update, the thread to reply in). */
  slackChannel?: string;
  slackTs?: string;
  /** For an app message Slack refused for good: what the fallback webhook was told. */
  fallback?: string;
  /** For an app message: where it goes, decided at its first claim (planning/slack-incident.ts). */
  incidentPlan?: IncidentPlan | null;
  /** For an app message: the incident it opened, replied in or closed. */
  incident?: IncidentChange;
  /** For a run the event did not start (issue 26): covered by another event's batch, coalesced into or skipped for a run, or capped. */
  busy?: Record<string, unknown>;
  /** For a run action whose delivery holds a batch's trigger lease: the batch (a redelivery stays its holder). */
  batch?: { holder: string; openedAt: string; closesAt: string };
  /** For a quarantine alert not sent: the events that already reported the same problems that day. */
  alreadyAlertedBy?: string[];
  /** For an HTTP call (issue 28): its answer, which is the run's outcome (status, the first KB of the body). */
  response?: { status: number; body: string };
  /**
   * What the run this action started came to (the dbt Cloud loop's shape; for Cloud Run and
   * Airflow written by the sweep, for an HTTP call from its answer).
   */
  runOutcome?: Record<string, unknown>;
  /** A deferred batch (Cloud Run under coalesce): the execution the sweep started for it, or the run that covered it. */
  deferredRun?: Record<string, unknown>;
  lastError: string | null;
  /** The latest errors, newest last (at most MAX_KEPT, each cut to MAX_ERROR_BYTES). */
  errors: Array<{ at: string; attempt: number; kind: 'transient' | 'permanent'; message: string; status: number | null }>;
  /** The latest requests' outcomes (status or network error), newest last (at most MAX_KEPT). */
  requestLog: Array<{ at: string; status?: number; error?: string }>;
}

/** What performing a claimed action came to. */
export type ActionOutcome =
  | { status: 'succeeded'; runId?: number | string; runHref?: string | null; recovered?: boolean; sent?: boolean; slackChannel?: string; slackTs?: string; incident?: IncidentChange; alreadyAlertedBy?: string[]; busy?: Record<string, unknown>; response?: ActionRecord['response']; runOutcome?: Record<string, unknown>; requests: ActionRecord['requestLog'] }
  | { status: 'failed'; error: string; httpStatus: number | null; fallback?: string; requests: ActionRecord['requestLog'] }
  | { status: 'retry'; error: string; httpStatus: number | null; notBeforeMs: number | null; uncertain: boolean; requests: ActionRecord['requestLog'] }
  | { status: 'waiting' };

export interface Claim {
  actionId: string;
  decision: ClaimDecision;
  record: ActionRecord | undefined;
}

/** Shared documents by `collection/docId`; undefined when the document does not exist. */
export type SharedDocs = Map<string, Record<string, unknown> | undefined>;

/** Fields merged into documents without a precondition (set with merge), by `collection/docId`. */
export type SharedMerges = Map<string, Record<string, unknown>>;

/**
 * One attempt of the claim commit as the orchestration sees it (issues 12 and 26): extra
 * actions planned from the shared documents (a join that fires, a run-cap alert), then,
 * once the claims are decided, what becomes of each claimed run action.
 */
export interface SharedAttempt {
  planned: Array<PlannedAction & { target: string }>;
  decide(decisions: ReadonlyMap<string, ClaimDecision>): SharedDecision;
}

export interface SharedDecision {
  /** Documents to write in the claim commit (full documents, by key), under the precondition on what was read. */
  writes: SharedDocs;
  /** Fields merged blind (no precondition) in the claim commit: never a reason for the commit to fail. */
  merges: SharedMerges;
  /** Actions done in this commit without being performed (covered, coalesced, skipped, capped): fields added to their record. */
  done: Map<string, Record<string, unknown>>;
  /** Fields added to the record of an action this delivery claims (a batch it holds). */
  claimFields: Map<string, Record<string, unknown>>;
  /** Fields merged into the audit record. */
  auditFields: Record<string, unknown>;
}

/** What a delivery writes to shared documents when it settles: only merges, so settling never conflicts there. */
export interface SharedSettle {
  merges: SharedMerges;
  /** Merges into documents that do not expire with the shared state (the connector document): written without `expireAt`. */
  lasting?: SharedMerges;
}

export interface SharedRequest {
  /** Documents read with the audit record; `writes` are committed under preconditions on them, `merges` blind. */
  refs: Array<{ collection: string; docId: string }>;
  /** `readTimeMs`: Firestore's time of the read (what a batch's closing time is compared with). */
  attempt(audit: Record<string, unknown> | undefined, docs: SharedDocs, readTimeMs: number): SharedAttempt;
}

/** The result of recording a delivery: the claims this delivery holds and what to fence its settle on. */
export interface Begun {
  docId: string;
  claims: Map<string, Claim>;
  /** The audit document as this delivery left it. */
  data: Record<string, unknown>;
  writeTime: Timestamp;
  /** How often this Pub/Sub message has been delivered, this delivery included (as far as recorded). */
  messageDeliveries: number;
  /** The event was already processed or failed for good: nothing to do. */
  finished: boolean;
  /** The connector document could not be updated (contention, size); logged, never blocking. */
  connectorSkipped: string | undefined;
  /** The `also` documents as this delivery left them, by collection/docId. */
  also: Map<string, Record<string, unknown> | undefined>;
  /** The shared documents as this delivery read them (before its own writes). */
  shared: SharedDocs;
  /** Set when nothing was committed: the event is the late webhook of this recovered event (see planning/recovered-duplicate.ts). */
  duplicateOf?: string;
}

export interface BeginRequest {
  docId: string;
  deliveryId: string;
  messageId: string;
  planned: Array<PlannedAction & { target: string }>;
  /** The audit document's fields on first delivery (everything but deliveries and actions). */
  initial: () => Record<string, unknown>;
  /** The connector document to write with the first delivery, computed from what is stored. */
  connector?: {
    docId: string;
    merge: (existing: Record<string, unknown> | undefined) => Record<string, unknown> | undefined;
    /** On a first delivery: the recovered event this one duplicates, read from the connector document; nothing is committed then. */
    duplicateOf?: (existing: Record<string, unknown> | undefined) => string | undefined;
  };
  /**
   * Further documents read in the same read and written in the same commit as the claims,
   * under the same preconditions (a conflict re-reads and decides again; never skipped).
   * The seam for state shared between events: a dbt job's state for coalescing, a join's
   * upstreams (issue 12). `update` sees the stored document and this delivery's claims and
   * returns the fields to store (fields it leaves out are kept), or undefined to leave it.
   */
  also?: Array<{ collection: string; docId: string; update: (existing: Record<string, unknown> | undefined, claims: Map<string, Claim>) => Record<string, unknown> | undefined }>;
  /** Orchestration's shared documents (job state, joins), decided in the same transaction as the claims. */
  shared?: SharedRequest;
  /**
   * Fields set on an action's record when it is claimed for its first attempt (a record
   * released as waiting was not attempted), from the connector document as read: decisions
   * every later attempt must keep (where a Slack app message goes). Kept as they are after.
   */
  firstClaim?: (actionId: string, connector: Record<string, unknown> | undefined) => Record<string, unknown> | undefined;
  /** The final alert, planned only from the delivery that is the last before dead-lettering. */
  finalAlert?: { actionId: string; target: string; fromDelivery: number };
  deadline: Deadline;
}

export interface EventStoreOptions {
  auditCollection: string;
  connectorsCollection: string;
  retentionDays: number;
  leaseMs: number;
  timeoutMs: number;
  /**
   * How long a shared document (a job's state, a join) is kept after its last write: its
   * `expireAt`, for the TTL policies on those collections. Default: `retentionDays`.
   */
  sharedRetentionMs?: number;
  now?: () => number;
}

/**
 * The final alert's action id: planned only on the delivery that reaches the subscription's
 * max_delivery_attempts, so a record still retrying with it was dead-lettered (the status
 * page counts and lists those by this field).
 */
export const FINAL_ALERT_ACTION_ID = 'final-alert';

const MAX_KEPT = 10;
const MAX_ERROR_BYTES = 1_000;
const MAX_MESSAGE_IDS = 50;
const DAY_MS = 86_400_000;
// Firestore answers a failed precondition (another writer got there first) with these codes.
const CONFLICT_CODES = new Set([6 /* ALREADY_EXISTS */, 9 /* FAILED_PRECONDITION */, 10 /* ABORTED */]);
// Concurrent deliveries of one event, or events sharing a document, retry the read and
// commit; each round one of them wins. Bounded by this and by the deadline.
const BEGIN_TRIES = 10;
const FINAL_EVENT_STATUSES = new Set(['processed', 'failed', 'invalid']);

/**
 * The Firestore side of processing, in as few round trips as the guarantees allow:
 * `begin` reads the audit and connector documents (one RPC) and commits the delivery,
 * the connector update and every claim at once (one RPC), guarded by preconditions on
 * what it read (optimistic concurrency: a conflict re-reads and decides again). `settle`
 * writes every outcome and the event's status in one commit fenced on the claim's write
 * time (one RPC); if anyone wrote in between, a transaction settles only the actions
 * this delivery still holds. Every call is cut to the invocation's deadline.
 */
export class EventStore {
  private readonly now: () => number;

  constructor(
    private readonly db: Firestore,
    private readonly options: EventStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  eventRef(docId: string): DocumentReference {
    return this.db.collection(this.options.auditCollection).doc(docId);
  }

  connectorRef(docId: string): DocumentReference {
    return this.db.collection(this.options.connectorsCollection).doc(docId);
  }

  async begin(request: BeginRequest): Promise<Begun> {
    const ref = this.eventRef(request.docId);
    const connectorRef = request.connector ? this.connectorRef(request.connector.docId) : undefined;
    const alsoRefs = (request.also ?? []).map((doc) => this.db.collection(doc.collection).doc(doc.docId));
    const sharedRefs = (request.shared?.refs ?? []).map((doc) => this.db.collection(doc.collection).doc(doc.docId));
    let skipConnector: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const snapshots = await this.guard('read the audit record', request.deadline, () => this.db.getAll(ref, ...(connectorRef ? [connectorRef] : []), ...alsoRefs, ...sharedRefs));
      const [snapshot, connectorSnapshot] = [snapshots[0]!, connectorRef ? snapshots[1] : undefined];
      const first = connectorRef ? 2 : 1;
      const alsoSnapshots = snapshots.slice(first, first + alsoRefs.length);
      const sharedSnapshots = snapshots.slice(first + alsoRefs.length);
      const prepared = this.prepareBegin(request, snapshot, connectorSnapshot, skipConnector, alsoSnapshots, sharedSnapshots);
      if (prepared.begun.duplicateOf) return { ...prepared.begun, writeTime: snapshot.readTime };
      try {
        const results = await this.guard('record the delivery', request.deadline, () => prepared.batch.commit());
        const writeTime = results[0]!.writeTime;
        return { ...prepared.begun, writeTime, connectorSkipped: prepared.begun.connectorSkipped ?? skipConnector };
      } catch (error) {
        if (!isConflict(error) || attempt >= BEGIN_TRIES) throw error;
        // Another delivery or event wrote first. The connector is best-effort: after a
        // fourth conflict, leave it out rather than hold the event's actions back.
        if (attempt >= 4 && connectorRef) skipConnector = 'the connector document kept changing under concurrent events';
        await backOff(attempt);
      }
    }
  }

  private prepareBegin(
    request: BeginRequest,
    snapshot: DocumentSnapshot,
    connectorSnapshot: DocumentSnapshot | undefined,
    skipConnector: string | undefined,
    alsoSnapshots: DocumentSnapshot[],
    sharedSnapshots: DocumentSnapshot[],
  ): { batch: WriteBatch; begun: Omit<Begun, 'writeTime'> } {
    const nowMs = this.now();
    const now = Timestamp.fromMillis(nowMs);
    const ref = snapshot.ref;
    const existing = snapshot.exists ? (snapshot.data() as Record<string, unknown>) : undefined;
    const actions = { ...((existing?.actions as Record<string, ActionRecord> | undefined) ?? {}) };
    const finished = existing !== undefined && FINAL_EVENT_STATUSES.has(existing.status as string);
    const duplicateOf = !existing && connectorSnapshot && request.connector?.duplicateOf?.(connectorSnapshot.exists ? connectorSnapshot.data() : undefined);
    if (duplicateOf) {
      return { batch: this.db.batch(), begun: { docId: request.docId, claims: new Map(), data: {}, messageDeliveries: 1, finished, connectorSkipped: undefined, also: new Map(), shared: new Map(), duplicateOf } };
    }
    const messageKey = request.messageId;
    const counts = { ...((existing?.messageDeliveries as Record<string, number> | undefined) ?? {}) };
    counts[messageKey] = (counts[messageKey] ?? 0) + 1;
    const messageDeliveries = counts[messageKey]!;
    const messageIds = [...new Set([...((existing?.messageIds as string[] | undefined) ?? []), request.messageId])].slice(-MAX_MESSAGE_IDS);

    const shared: SharedDocs = new Map();
    const sharedKeys = (request.shared?.refs ?? []).map((doc) => `${doc.collection}/${doc.docId}`);
    sharedKeys.forEach((key, i) => {
      const stored = sharedSnapshots[i]!;
      shared.set(key, stored.exists ? stored.data() : undefined);
    });
    const attempt = !finished && request.shared ? request.shared.attempt(existing, shared, snapshot.readTime.toMillis()) : undefined;
    const planned = [...request.planned, ...(attempt?.planned ?? []).filter((a) => !request.planned.some((p) => p.actionId === a.actionId))];
    if (request.finalAlert && messageDeliveries >= request.finalAlert.fromDelivery) {
      planned.push({ actionId: request.finalAlert.actionId, kind: 'alert', target: request.finalAlert.target });
    }
    const claims = new Map<string, Claim>();
    let sharedDecision: SharedDecision | undefined;
    if (!finished) {
      const views: Record<string, ActionView | undefined> = {};
      for (const [id, record] of Object.entries(actions)) views[id] = viewOf(record);
      const decisions = decideClaims(planned, views, request.deliveryId, nowMs);
      sharedDecision = attempt?.decide(decisions);
      for (const action of planned) {
        let decision = decisions.get(action.actionId)!;
        const previous = actions[action.actionId];
        const done = sharedDecision?.done.get(action.actionId);
        if (decision.decision === 'claim' && done) {
          // Covered, coalesced, skipped or capped: final in this commit, nothing to perform.
          decision = { decision: 'done' };
          actions[action.actionId] = { ...newRecord(action, now), ...previous, ...done, status: 'succeeded', claimedBy: null, leaseUntil: null, lastAttemptAt: now, completedAt: now } as ActionRecord;
        }
        claims.set(action.actionId, { actionId: action.actionId, decision, record: previous });
        if (decision.decision !== 'claim') continue;
        const first = !previous || previous.attempts === 0 ? request.firstClaim?.(action.actionId, connectorSnapshot?.exists ? connectorSnapshot.data() : undefined) : undefined;
        actions[action.actionId] = {
          ...newRecord(action, now),
          ...previous,
          ...first,
          ...sharedDecision?.claimFields.get(action.actionId),
          status: 'pending',
          uncertain: (previous?.uncertain ?? false) || decision.takenOver,
          attempts: decision.attempt,
          claimedBy: request.deliveryId,
          leaseUntil: Timestamp.fromMillis(nowMs + this.options.leaseMs),
          lastAttemptAt: now,
        };
      }
    }

    const batch = this.db.batch();
    let data: Record<string, unknown>;
    if (existing) {
      const changes = {
        lastDeliveredAt: now,
        deliveries: ((existing.deliveries as number | undefined) ?? 0) + 1,
        messageIds,
        messageDeliveries: boundedCounts(counts, messageKey),
        actions,
        ...sharedDecision?.auditFields,
      };
      data = { ...existing, ...changes };
      batch.update(ref, changes, { lastUpdateTime: snapshot.updateTime! });
    } else {
      data = {
        ...request.initial(),
        status: 'received',
        firstDeliveredAt: now,
        lastDeliveredAt: now,
        processedAt: null,
        deliveries: 1,
        messageIds,
        messageDeliveries: counts,
        actions,
        ...sharedDecision?.auditFields,
        expireAt: Timestamp.fromMillis(nowMs + this.options.retentionDays * DAY_MS),
      };
      batch.create(ref, data);
    }
    this.assertFits(ref, data);

    // The connector document moves with the event's first delivery only (a redelivery
    // changes nothing there), best-effort: one that cannot be written is skipped and logged.
    let connectorSkipped: string | undefined;
    if (!existing && request.connector && connectorSnapshot && !skipConnector) {
      const merged = request.connector.merge(connectorSnapshot.exists ? connectorSnapshot.data() : undefined);
      const connectorRef = connectorSnapshot.ref;
      if (!merged) connectorSkipped = undefined;
      else if (documentSize(connectorRef.path, merged) > MAX_DOCUMENT_BYTES) connectorSkipped = 'the connector document would exceed 1 MiB';
      else if (connectorSnapshot.exists) batch.update(connectorRef, merged, { lastUpdateTime: connectorSnapshot.updateTime! });
      else batch.create(connectorRef, merged);
    }
    const also = new Map<string, Record<string, unknown> | undefined>();
    (request.also ?? []).forEach((doc, i) => {
      const stored = alsoSnapshots[i]!;
      const existingDoc = stored.exists ? stored.data() : undefined;
      const next = finished ? undefined : doc.update(existingDoc, claims);
      also.set(`${doc.collection}/${doc.docId}`, next ?? existingDoc);
      if (!next) return;
      this.assertFits(stored.ref, next);
      if (stored.exists) batch.update(stored.ref, next, { lastUpdateTime: stored.updateTime! });
      else batch.create(stored.ref, next);
    });
    for (const [key, next] of sharedDecision?.writes ?? []) {
      const i = sharedKeys.indexOf(key);
      if (i < 0 || !next) continue;
      const stored = sharedSnapshots[i]!;
      const kept = this.expiring(next, nowMs);
      this.assertFits(stored.ref, kept);
      // update() replaces each top-level field it is given: the document's own fields, whole.
      if (stored.exists) batch.update(stored.ref, kept, { lastUpdateTime: stored.updateTime! });
      else batch.create(stored.ref, kept);
    }
    this.mergeInto(batch, sharedDecision?.merges, nowMs);
    return { batch, begun: { docId: request.docId, claims, data, messageDeliveries, finished, connectorSkipped, also, shared } };
  }

  /**
   * Applies `merge` to one connector document: the dbt Cloud loop's link from a load
   * connector to its latest run. Read, then written under a precondition on what was read (a
   * conflict reads again), as begin does, never in a transaction: every event of the
   * connector writes this document in its claim commit, and a transaction's lock outlives an
   * instance that dies between its read and its commit (Firestore holds it until the
   * transaction expires), which would stall them all. Only a connector that exists is updated
   * (the load's own event created it).
   */
  async updateConnector(docId: string, merge: (existing: Record<string, unknown>) => Record<string, unknown> | undefined, deadline: Deadline): Promise<boolean> {
    const ref = this.connectorRef(docId);
    for (let attempt = 1; ; attempt++) {
      const snapshot = await this.guard('read the connector document', deadline, () => ref.get());
      const fields = snapshot.exists ? merge(snapshot.data()!) : undefined;
      if (!fields) return false;
      this.assertFits(ref, { ...snapshot.data(), ...fields });
      try {
        await this.guard('update the connector document', deadline, () => this.db.batch().update(ref, fields, { lastUpdateTime: snapshot.updateTime! }).commit());
        return true;
      } catch (error) {
        if (!isConflict(error) || attempt >= BEGIN_TRIES) throw error;
        await backOff(attempt);
      }
    }
  }

  /**
   * Records the outcome of every action this delivery claimed and the event's status, in
   * one commit valid only if nobody wrote the audit document since `begin` (fencing on
   * its write time). Otherwise, in a transaction, it settles only the actions whose claim
   * this delivery still holds. Throws (transient) when Firestore cannot be written: the
   * claims then stay held under their lease and the next claimant checks before acting.
   */
  async settle(
    begun: Begun,
    deliveryId: string,
    outcomes: Map<string, ActionOutcome>,
    status: (actions: Record<string, ActionRecord>) => string,
    deadline: Deadline,
    /** What the outcomes this delivery still holds write to shared documents: blind merges only. */
    sharedAfter?: (ours: Map<string, ActionOutcome>) => SharedSettle,
  ): Promise<string> {
    const ref = this.eventRef(begun.docId);
    const nowMs = this.now();
    const apply = (stored: Record<string, unknown>): { actions: Record<string, ActionRecord>; status: string; ours: Map<string, ActionOutcome> } => {
      const actions = { ...((stored.actions as Record<string, ActionRecord> | undefined) ?? {}) };
      const ours = new Map<string, ActionOutcome>();
      for (const [id, outcome] of outcomes) {
        const record = actions[id];
        if (!record || record.status !== 'pending' || record.claimedBy !== deliveryId) continue; // fenced: not ours any more
        actions[id] = settled(record, outcome, nowMs);
        ours.set(id, outcome);
      }
      return { actions, status: mergeEventStatus(stored.status as string | undefined, status(actions)), ours };
    };
    const changesFor = (stored: Record<string, unknown>) => {
      const next = apply(stored);
      const final = next.status !== 'retrying' && next.status !== 'received';
      const changes = { actions: next.actions, status: next.status, processedAt: final ? ((stored.processedAt as Timestamp | null) ?? Timestamp.fromMillis(nowMs)) : null, ...startedRunFields(next.actions) };
      return { changes, ours: next.ours };
    };
    const fast = changesFor(begun.data);
    this.assertFits(ref, { ...begun.data, ...fast.changes });
    try {
      const batch = this.db.batch().update(ref, fast.changes, { lastUpdateTime: begun.writeTime });
      const after = sharedAfter?.(fast.ours);
      this.mergeInto(batch, after?.merges, nowMs);
      for (const [key, fields] of after?.lasting ?? []) batch.set(this.db.doc(key), fields, { merge: true });
      await this.guard('record the outcomes', deadline, () => batch.commit());
      return fast.changes.status;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    return this.guard('record the outcomes (fenced)', deadline, () =>
      this.db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const stored = snapshot.data() ?? {};
        const { changes, ours } = changesFor(stored);
        this.assertFits(ref, { ...stored, ...changes });
        tx.update(ref, changes);
        const after = sharedAfter?.(ours);
        for (const [key, fields] of after?.merges ?? []) tx.set(this.db.doc(key), this.expiring(fields, nowMs), { merge: true });
        for (const [key, fields] of after?.lasting ?? []) tx.set(this.db.doc(key), fields, { merge: true });
        return changes.status;
      }),
    );
  }

  /**
   * Blind merges (set with merge, no precondition): fields written key by key, so writers
   * of one document (a batch's holder settling, a run event) never make each other's commit
   * fail. Their size is bounded by what they prune (ORCHESTRATION.md).
   */
  private mergeInto(batch: WriteBatch, merges: SharedMerges | undefined, nowMs: number): void {
    for (const [key, fields] of merges ?? []) batch.set(this.db.doc(key), this.expiring(fields, nowMs), { merge: true });
  }

  /** A shared document as written: deleted by its collection's TTL policy once unused this long. */
  private expiring(doc: Record<string, unknown>, nowMs: number): Record<string, unknown> {
    return { ...doc, expireAt: Timestamp.fromMillis(nowMs + (this.options.sharedRetentionMs ?? this.options.retentionDays * DAY_MS)) };
  }

  private assertFits(ref: DocumentReference, data: Record<string, unknown>): void {
    const size = documentSize(ref.path, data);
    if (size > MAX_DOCUMENT_BYTES) {
      throw new PermanentError(`the audit record ${ref.id} would be ${size} bytes, over Firestore's 1 MiB`, { system: 'Firestore' });
    }
  }

  /** Runs a Firestore operation within FIRESTORE_TIMEOUT_MS and the invocation's deadline, turning every failure into a typed one. */
  private async guard<T>(what: string, deadline: Deadline, operation: () => Promise<T>): Promise<T> {
    const timeoutMs = Math.min(this.options.timeoutMs, deadline.remainingMs());
    if (timeoutMs <= 0) throw new TransientError(`no time left to ${what}`, { system: 'Firestore' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TransientError(`Firestore did not ${what} within ${timeoutMs} ms`, { system: 'Firestore' })), timeoutMs);
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

/** Another writer got there first (a failed precondition), as guard() passes it on. */
function isConflict(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'number' && CONFLICT_CODES.has(code);
}

/** Jittered and growing: writers of one document (a join's upstreams arriving together) spread out instead of colliding again in step. */
function backOff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(250, 10 * 2 ** attempt)));
}

function settled(record: ActionRecord, outcome: ActionOutcome, nowMs: number): ActionRecord {
  const released = { ...record, claimedBy: null, leaseUntil: null };
  if (outcome.status === 'waiting') return { ...released, status: 'waiting', attempts: Math.max(0, record.attempts - 1) };
  const requests = { requests: record.requests + outcome.requests.length, requestLog: [...record.requestLog, ...outcome.requests].slice(-MAX_KEPT) };
  if (outcome.status === 'succeeded') {
    const { status: _s, requests: _r, ...result } = outcome;
    return { ...released, ...requests, ...result, status: 'succeeded', uncertain: false, notBefore: null, completedAt: Timestamp.fromMillis(nowMs) };
  }
  const message = cutText(outcome.error, MAX_ERROR_BYTES);
  const kind = outcome.status === 'failed' ? 'permanent' : 'transient';
  const errors = [...record.errors, { at: new Date(nowMs).toISOString(), attempt: record.attempts, kind, message, status: outcome.httpStatus } as const].slice(-MAX_KEPT);
  if (outcome.status === 'failed') {
    return { ...released, ...requests, status: 'failed', lastError: message, errors, completedAt: Timestamp.fromMillis(nowMs), ...(outcome.fallback ? { fallback: outcome.fallback } : {}) };
  }
  return {
    ...released,
    ...requests,
    status: 'retry',
    lastError: message,
    errors,
    uncertain: record.uncertain || outcome.uncertain,
    notBefore: outcome.notBeforeMs === null ? null : Timestamp.fromMillis(outcome.notBeforeMs),
  };
}

/** A record for an action never attempted (its status comes from the caller). */
function newRecord(action: PlannedAction & { target: string }, now: Timestamp): Omit<ActionRecord, 'status'> {
  return {
    kind: action.kind,
    target: action.target,
    requests: 0,
    lastError: null,
    errors: [],
    requestLog: [],
    firstAttemptAt: now,
    completedAt: null,
    notBefore: null,
    attempts: 0,
    claimedBy: null,
    leaseUntil: null,
    uncertain: false,
    lastAttemptAt: null,
  };
}

function viewOf(record: ActionRecord): ActionView {
  return {
    status: record.status,
    claimedBy: record.claimedBy,
    leaseUntilMs: record.leaseUntil?.toMillis() ?? null,
    notBeforeMs: record.notBefore?.toMillis() ?? null,
    attempts: record.attempts,
    uncertain: record.uncertain ?? false,
  };
}

function boundedCounts(counts: Record<string, number>, keep: string): Record<string, number> {
  const keys = Object.keys(counts);
  if (keys.length <= MAX_MESSAGE_IDS) return counts;
  const kept = keys.filter((k) => k !== keep).slice(-(MAX_MESSAGE_IDS - 1));
  return Object.fromEntries([...kept, keep].map((k) => [k, counts[k]!]));
}

/** One Firestore client per process, found through FIRESTORE_EMULATOR_HOST locally. */
export function createFirestore(projectId: string | undefined): Firestore {
  return new Firestore({ ...(projectId ? { projectId } : {}), ignoreUndefinedProperties: true });
}
