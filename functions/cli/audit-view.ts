import { Timestamp, type DocumentData, type Firestore, type Query } from '@google-cloud/firestore';

// The one place the CLI knows the shape of the processor's audit documents
// (functions/processor/audit-store.ts writes them). Everything the CLI prints comes from
// the views below, so a change of the stored shape is adapted here and nowhere else.

export interface ActionView {
  id: string;
  kind: string;
  target: string;
  status: string;
  attempts: number;
  requests: number;
  runId: number | null;
  runHref: string | null;
  recovered: boolean;
  /** For a message: false when nothing was sent (nothing to say, or a quarantine problem already alerted that day). */
  sent: boolean | null;
  alreadyAlertedBy: string[];
  lastError: string | null;
  firstAttemptAt: Date | null;
  completedAt: Date | null;
  errors: Array<{ at: Date | null; message: string; kind: string; status: number | null }>;
  requestLog: Array<{ at: Date | null; status: number | null; error: string | null }>;
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
  deliveries: number;
  occurredAt: Date | null;
  receivedAt: Date | null;
  firstDeliveredAt: Date | null;
  lastDeliveredAt: Date | null;
  processedAt: Date | null;
  routes: string[];
  actions: ActionView[];
  /** The most recent error of any action, for "why did it not work". */
  lastError: string | null;
  /** A quarantined event's problems, "code at pointer: message": what postload did not understand. */
  notUnderstood: string[];
}

export interface TimelineEntry {
  at: Date | null;
  what: string;
  level: 'info' | 'ok' | 'error';
}

const FINAL = new Set(['processed', 'failed', 'invalid']);

export function isFinal(view: EventView): boolean {
  return FINAL.has(view.outcome);
}

export function toEventView(id: string, doc: DocumentData): EventView {
  const actions = Object.entries((doc.actions ?? {}) as Record<string, DocumentData>)
    .map(([actionId, a]) => toActionView(actionId, a))
    .sort((a, b) => (a.firstAttemptAt?.getTime() ?? 0) - (b.firstAttemptAt?.getTime() ?? 0));
  const errors = actions.flatMap((a) => a.errors).sort((a, b) => (a.at?.getTime() ?? 0) - (b.at?.getTime() ?? 0));
  const lastActionError = actions.map((a) => a.lastError).filter((e): e is string => Boolean(e)).at(-1) ?? null;
  const problems = (doc.problems ?? []) as Array<{ field?: string; message?: string; code?: string; pointer?: string | null }>;
  const notUnderstood = doc.type === 'quarantined' ? problems.map((p) => `${p.code ?? 'unknown'}${p.pointer ? ` at ${p.pointer}` : ''}: ${p.message ?? ''}`) : [];
  return {
    eventId: str(doc.eventId) ?? id,
    source: str(doc.source) ?? str(doc.attributes?.source) ?? '',
    type: str(doc.type) ?? (doc.status === 'invalid' ? 'invalid message' : ''),
    vendorEvent: str(doc.vendorEvent) ?? '',
    connectorId: str(doc.connectorId),
    connectorName: str(doc.connectorName),
    syncId: str(doc.syncId),
    syncStatus: str(doc.syncStatus),
    outcome: str(doc.status) ?? 'unknown',
    deliveries: typeof doc.deliveries === 'number' ? doc.deliveries : 0,
    occurredAt: date(doc.occurredAt),
    receivedAt: date(doc.receivedAt),
    firstDeliveredAt: date(doc.firstDeliveredAt),
    lastDeliveredAt: date(doc.lastDeliveredAt),
    processedAt: date(doc.processedAt),
    routes: Array.isArray(doc.routes) ? (doc.routes as string[]) : [],
    actions,
    lastError: errors.at(-1)?.message ?? lastActionError ?? (notUnderstood.length ? notUnderstood.join('; ') : problems.length ? problems.map((p) => `${p.field || '(root)'} ${p.message}`).join('; ') : null),
    notUnderstood,
  };
}

function toActionView(id: string, a: DocumentData): ActionView {
  return {
    id,
    kind: str(a.kind) ?? '?',
    target: str(a.target) ?? id,
    status: str(a.status) ?? '?',
    attempts: Number(a.attempts ?? 0),
    requests: Number(a.requests ?? 0),
    runId: typeof a.runId === 'number' ? a.runId : null,
    runHref: str(a.runHref),
    recovered: a.recovered === true,
    sent: typeof a.sent === 'boolean' ? a.sent : null,
    alreadyAlertedBy: Array.isArray(a.alreadyAlertedBy) ? (a.alreadyAlertedBy as unknown[]).map(String) : [],
    lastError: str(a.lastError),
    firstAttemptAt: date(a.firstAttemptAt),
    completedAt: date(a.completedAt),
    errors: ((a.errors ?? []) as DocumentData[]).map((e) => ({ at: date(e.at), message: String(e.message ?? ''), kind: String(e.kind ?? ''), status: typeof e.status === 'number' ? e.status : null })),
    requestLog: ((a.requestLog ?? []) as DocumentData[]).map((r) => ({ at: date(r.at), status: typeof r.status === 'number' ? r.status : null, error: str(r.error) })),
  };
}

/** One event's story in time order: deliveries, each action's requests and errors and result, the outcome. */
export function timelineOf(view: EventView): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  if (view.occurredAt) entries.push({ at: view.occurredAt, what: `${view.source} ${view.vendorEvent || view.type} happened`, level: 'info' });
  if (view.receivedAt) entries.push({ at: view.receivedAt, what: 'received by ingest and published', level: 'info' });
  for (const problem of view.notUnderstood) entries.push({ at: view.receivedAt, what: `not understood (quarantined; the body is in the audit record, payloadJson or payloadText): ${problem}`, level: 'error' });
  if (view.firstDeliveredAt) entries.push({ at: view.firstDeliveredAt, what: `delivered to the processor (1st delivery; routes ${view.routes.join(', ') || 'none'})`, level: 'info' });
  if (view.deliveries > 1 && view.lastDeliveredAt) entries.push({ at: view.lastDeliveredAt, what: `delivered again (${view.deliveries} deliveries in all)`, level: 'info' });
  for (const action of view.actions) {
    const name = actionName(action);
    if (action.firstAttemptAt) entries.push({ at: action.firstAttemptAt, what: `${name}: claimed`, level: 'info' });
    for (const request of action.requestLog) {
      const failed = request.error !== null || (request.status !== null && request.status >= 400);
      entries.push({ at: request.at, what: `${name}: request → ${request.status ?? request.error ?? '?'}${request.status !== null && request.error ? ` (${request.error})` : ''}`, level: failed ? 'error' : 'info' });
    }
    for (const error of action.errors) entries.push({ at: error.at, what: `${name}: ${error.kind} error: ${error.message}`, level: 'error' });
    if (action.status === 'succeeded') {
      const run = action.runId !== null ? ` run ${action.runId}${action.recovered ? ' (found already started)' : ''}${action.runHref ? ` ${action.runHref}` : ''}` : '';
      const message = action.alreadyAlertedBy.length ? `not sent: already alerted today by ${action.alreadyAlertedBy.join(', ')}` : action.sent === false ? 'nothing to send' : 'message sent';
      entries.push({ at: action.completedAt, what: `${name}: ${action.kind === 'slack' ? message : `started${run}`}`, level: 'ok' });
    } else if (action.status === 'failed') {
      entries.push({ at: action.completedAt, what: `${name}: failed for good: ${action.lastError ?? 'no error recorded'}`, level: 'error' });
    }
  }
  if (view.processedAt) entries.push({ at: view.processedAt, what: `outcome: ${view.outcome}`, level: view.outcome === 'processed' ? 'ok' : 'error' });
  else entries.push({ at: null, what: `outcome so far: ${view.outcome}`, level: view.outcome === 'retrying' ? 'error' : 'info' });
  return entries.sort((a, b) => (a.at?.getTime() ?? Number.MAX_SAFE_INTEGER) - (b.at?.getTime() ?? Number.MAX_SAFE_INTEGER));
}

export function actionName(action: ActionView): string {
  return action.kind === 'dbt' ? `dbt job ${action.target}` : action.kind === 'slack' ? `Slack ${action.target}` : `${action.kind} ${action.target}`;
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

function date(value: unknown): Date | null {
  if (value instanceof Timestamp) return value.toDate();
  if (value instanceof Date) return value;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : new Date(ms);
  }
  return null;
}
