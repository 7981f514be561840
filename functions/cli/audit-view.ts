import { Timestamp, type DocumentData, type Firestore, type Query } from '@google-cloud/firestore';
import type { ActionKind, ActionStatus } from '../processor/planning/claims.js';
import type { ActionRecord } from '../processor/store/event-store.js';

// The one place the CLI knows the shape of the processor's audit documents: the store
// writes them (functions/processor/store/event-record.ts for the event's own fields,
// event-store.ts for deliveries and each action's ActionRecord). Everything the CLI prints
// comes from the views below, so a change of the stored shape is adapted here alone.

/**
 * What dbt Cloud reported about a run postload started (`actions.<id>.runOutcome`,
 * written by the processor when a dbt Cloud run event names the run; shape fixed in the
 * processor's design for issue 13). Read when present, so records written before it work.
 */
export interface RunOutcomeView {
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | string;
  runStatusCode: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationSeconds: number | null;
  errorMessage: string | null;
  /** The dbt-cloud SyncEvent that reported it (`postload event ID` shows it). */
  eventId: string | null;
  recordedAt: Date | null;
}

export interface ActionView {
  id: string;
  kind: ActionKind | string;
  /** The dbt job id, or the Slack webhook's setting name (never its URL). */
  target: string;
  status: ActionStatus | string;
  /** Deliveries that claimed it. */
  attempts: number;
  /** HTTP requests made for it, over all deliveries. */
  requests: number;
  runId: number | null;
  runHref: string | null;
  /** The run was found already started (after a lost answer or a crash) instead of started again. */
  recovered: boolean;
  /** For a message: false when nothing was sent (nothing to say, or a quarantine problem already alerted that day); null when not recorded. */
  sent: boolean | null;
  /** For a quarantine alert not sent: the events that alerted the same problems earlier that day. */
  alreadyAlertedBy: string[];
  /** An earlier attempt may have acted without its outcome being recorded: the next one checks first. */
  uncertain: boolean;
  /** The service asked to wait (Retry-After): no delivery calls it before this. */
  notBefore: Date | null;
  /** The delivery holding a live claim, while pending. */
  heldUntil: Date | null;
  lastError: string | null;
  firstAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  completedAt: Date | null;
  errors: Array<{ at: Date | null; attempt: number | null; message: string; kind: string; status: number | null }>;
  requestLog: Array<{ at: Date | null; status: number | null; error: string | null }>;
  runOutcome: RunOutcomeView | null;
  /**
   * A run this event did not start (issues 12, 26, 25.6): `joined` (covered by `holder`'s
   * batch: that event's record says which run), `coalesced` into or `skipped` for `runId`,
   * or `capped` (`reason`).
   */
  busy: { outcome: string; runId: number | string | null; runStatus: string | null; holder: string | null; reason: string | null } | null;
}

export interface EventView {
  eventId: string;
  source: string;
  type: string;
  vendorEvent: string;
  connectorId: string | null;
  connectorName: string | null;
  syncId: string | null;
  syncStatus: string | null;
  /** The processor's outcome: received, retrying, processed, failed, invalid. */
  outcome: string;
  /** Deliveries of the event, over every Pub/Sub message that carried it. */
  deliveries: number;
  /** Deliveries per Pub/Sub message id (a replay or a sender's retry is a new message), as far as recorded. */
  messages: Array<{ messageId: string; deliveries: number }>;
  occurredAt: Date | null;
  receivedAt: Date | null;
  firstDeliveredAt: Date | null;
  lastDeliveredAt: Date | null;
  processedAt: Date | null;
  routes: string[];
  actions: ActionView[];
  /** For a message that was not a valid SyncEvent: what was wrong with it. */
  problems: Array<{ field: string; message: string }>;
  /** The most recent error of any action (named), or an invalid message's problems: "why did it not work". */
  lastError: string | null;
  /** A quarantined event's problems, "code at pointer: message": what postload did not understand. */
  notUnderstood: string[];
}

const FINAL = new Set(['processed', 'failed', 'invalid']);

export function isFinal(view: EventView): boolean {
  return FINAL.has(view.outcome);
}

export function toEventView(id: string, doc: DocumentData): EventView {
  // A message the processor never acted on: not a SyncEvent (`invalid`), or not signed by postload (`refused`).
  const invalid = doc.kind === 'invalid' || doc.kind === 'refused';
  const actions = Object.entries((doc.actions ?? {}) as Record<string, Partial<ActionRecord> & DocumentData>)
    .map(([actionId, a]) => toActionView(actionId, a))
    .sort((a, b) => (a.firstAttemptAt?.getTime() ?? 0) - (b.firstAttemptAt?.getTime() ?? 0));
  const problems = ((doc.problems ?? []) as DocumentData[]).map((p) => ({ field: String(p.field ?? ''), message: String(p.message ?? '') }));
  // A quarantined event's problems are {code, message, pointer} (an invalid message's are {field, message}).
  const notUnderstood =
    doc.type === 'quarantined'
      ? ((doc.problems ?? []) as DocumentData[]).map((p) => `${str(p.code) ?? 'unknown'}${str(p.pointer) ? ` at ${str(p.pointer)}` : ''}: ${str(p.message) ?? ''}`)
      : [];
  const attributes = (doc.attributes ?? {}) as Record<string, unknown>;
  const counts = (doc.messageDeliveries ?? {}) as Record<string, unknown>;
  return {
    eventId: str(doc.eventId) ?? id,
    source: str(doc.source) ?? str(attributes.source) ?? '',
    type: str(doc.type) ?? (invalid ? `${doc.kind} message` : ''),
    vendorEvent: str(doc.vendorEvent) ?? '',
    connectorId: str(doc.connectorId) ?? (invalid ? str(attributes.connectorId) : null),
    connectorName: str(doc.connectorName),
    syncId: str(doc.syncId),
    syncStatus: str(doc.syncStatus),
    outcome: str(doc.status) ?? 'unknown',
    deliveries: num(doc.deliveries) ?? 0,
    messages: Object.entries(counts).map(([messageId, n]) => ({ messageId, deliveries: num(n) ?? 0 })),
    occurredAt: date(doc.occurredAt),
    receivedAt: date(doc.receivedAt),
    firstDeliveredAt: date(doc.firstDeliveredAt),
    lastDeliveredAt: date(doc.lastDeliveredAt),
    processedAt: date(doc.processedAt),
    routes: Array.isArray(doc.routes) ? (doc.routes as string[]) : [],
    actions,
    problems: invalid ? problems : [],
    lastError:
      latestError(actions) ??
      (notUnderstood.length ? notUnderstood.join('; ') : invalid && problems.length ? problems.map((p) => `${p.field || '(root)'} ${p.message}`).join('; ') : null),
    notUnderstood,
  };
}

function toActionView(id: string, a: Partial<ActionRecord> & DocumentData): ActionView {
  const status = str(a.status) ?? '?';
  return {
    id,
    kind: str(a.kind) ?? '?',
    target: str(a.target) ?? id,
    status,
    attempts: num(a.attempts) ?? 0,
    requests: num(a.requests) ?? 0,
    runId: num(a.runId),
    runHref: str(a.runHref),
    recovered: a.recovered === true,
    sent: typeof a.sent === 'boolean' ? a.sent : null,
    alreadyAlertedBy: Array.isArray(a.alreadyAlertedBy) ? (a.alreadyAlertedBy as unknown[]).map(String) : [],
    uncertain: a.uncertain === true,
    notBefore: date(a.notBefore),
    heldUntil: status === 'pending' ? date(a.leaseUntil) : null,
    lastError: str(a.lastError),
    firstAttemptAt: date(a.firstAttemptAt),
    lastAttemptAt: date(a.lastAttemptAt),
    completedAt: date(a.completedAt),
    errors: ((a.errors ?? []) as DocumentData[]).map((e) => ({ at: date(e.at), attempt: num(e.attempt), message: String(e.message ?? ''), kind: String(e.kind ?? ''), status: num(e.status) })),
    requestLog: ((a.requestLog ?? []) as DocumentData[]).map((r) => ({ at: date(r.at), status: num(r.status), error: str(r.error) })),
    runOutcome: toRunOutcome(a.runOutcome),
    busy: a.busy && typeof a.busy === 'object' ? { outcome: String(a.busy.outcome ?? '?'), runId: num(a.busy.runId) ?? str(a.busy.runId), runStatus: str(a.busy.runStatus), holder: str(a.busy.holder), reason: str(a.busy.reason) } : null,
  };
}

function toRunOutcome(value: unknown): RunOutcomeView | null {
  if (!value || typeof value !== 'object') return null;
  const o = value as DocumentData;
  const status = str(o.status);
  if (!status) return null;
  return {
    status,
    runStatusCode: num(o.runStatusCode),
    startedAt: date(o.startedAt),
    finishedAt: date(o.finishedAt),
    durationSeconds: num(o.durationSeconds),
    errorMessage: str(o.errorMessage),
    eventId: str(o.eventId),
    recordedAt: date(o.recordedAt),
  };
}

/** The newest error any action recorded, named by its action; else the newest lastError. */
function latestError(actions: ActionView[]): string | null {
  const errors = actions
    .flatMap((a) => a.errors.map((e) => ({ ...e, action: a })))
    .sort((a, b) => (a.at?.getTime() ?? 0) - (b.at?.getTime() ?? 0));
  const newest = errors.at(-1);
  if (newest) return `${actionName(newest.action)}: ${newest.message}`;
  const withError = actions.filter((a) => a.lastError).at(-1);
  return withError ? `${actionName(withError)}: ${withError.lastError}` : null;
}

export function actionName(action: Pick<ActionView, 'kind' | 'target'>): string {
  switch (action.kind) {
    case 'dbt':
      return `dbt job ${action.target}`;
    case 'slack':
      return `Slack ${action.target}`;
    case 'alert':
      return `final alert to Slack ${action.target}`;
    default:
      return `${action.kind} ${action.target}`;
  }
}

export interface EventFilter {
  source?: string;
  connector?: string;
  type?: string;
  /** The sync's status (succeeded, failed, ...), as the message attribute `status`. */
  status?: string;
  /** The processor's outcome. */
  outcome?: string;
  since: Date;
  limit: number;
}

/** Reads the audit collection. */
export class AuditTrail {
  constructor(
    private readonly db: Firestore,
    private readonly collection: string,
  ) {}

  async get(eventId: string): Promise<EventView | undefined> {
    const snapshot = await this.db.collection(this.collection).doc(eventId).get();
    return snapshot.exists ? toEventView(snapshot.id, snapshot.data()!) : undefined;
  }

  /**
   * Newest first. Only the queries Terraform has indexes for run in Firestore
   * (terraform/firestore.tf: connectorId + occurredAt desc; occurredAt alone is a
   * single-field index); the other filters are applied to the pages read, so any
   * combination works without a new index.
   */
  async list(filter: EventFilter): Promise<EventView[]> {
    let query: Query = this.db.collection(this.collection);
    if (filter.connector) query = query.where('connectorId', '==', filter.connector);
    query = query.where('occurredAt', '>=', Timestamp.fromDate(filter.since)).orderBy('occurredAt', 'desc');
    const found: EventView[] = [];
    const page = Math.min(Math.max(filter.limit * 2, 50), 500);
    let cursor: FirebaseFirestore.QueryDocumentSnapshot | undefined;
    for (;;) {
      const snapshot = await (cursor ? query.startAfter(cursor) : query).limit(page).get();
      for (const doc of snapshot.docs) {
        const view = toEventView(doc.id, doc.data());
        if (matches(view, filter)) found.push(view);
        if (found.length >= filter.limit) return found;
      }
      if (snapshot.size < page) return found;
      cursor = snapshot.docs.at(-1);
    }
  }
}

function matches(view: EventView, filter: EventFilter): boolean {
  return (
    (!filter.source || view.source === filter.source) &&
    (!filter.type || view.type === filter.type) &&
    (!filter.status || view.syncStatus === filter.status) &&
    (!filter.outcome || view.outcome === filter.outcome)
  );
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function date(value: unknown): Date | null {
  if (value instanceof Timestamp) return value.toDate();
  if (value instanceof Date) return value;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : new Date(ms);
  }
  return null;
}
