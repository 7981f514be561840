import { FieldPath, Timestamp, type DocumentData, type Firestore, type Query } from '@google-cloud/firestore';
import type { ActionKind, ActionStatus } from '../processor/planning/claims.js';
import type { ActionRecord } from '../processor/store/event-store.js';
import { eventQueryShape, FILTER_FIELDS, matchesFilter, pushedDown, type EventCursor, type EventFilter, type EventPage } from './event-query.js';
import type { QueryLog } from './query-shape.js';
import { date, num, record, str } from './values.js';

export type { EventFilter } from './event-query.js';

// The one place the CLI and the status page know the shape of the processor's audit documents: the store
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
  /** The run it started: a number for dbt Cloud, the target's own id (an execution, a DAG run) for other kinds. */
  runId: number | string | null;
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
  /**
   * For a Cloud Run load deferred behind a running execution (issue 28): the execution the
   * sweep started for it once that one ended, or (`covered`) the run started since that
   * covers it. Its outcome is `runOutcome`, as for a run the load started itself.
   */
  deferredRun: { runId: string; href: string | null; covered: boolean; at: Date | null } | null;
}

export interface EventView {
  /** The audit document's id: the event id, or `invalid-<message id>` for a message that was no SyncEvent. */
  docId: string;
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
  /** The runs its actions started, as `<kind>/<target>/<run id>`, and when the newest was started (processor/store/run-index.ts). */
  startedRuns: string[];
  runStartedAt: Date | null;
  /** For a message that was not a valid SyncEvent: what was wrong with it. */
  problems: Array<{ field: string; message: string }>;
  /** What the vendor said went wrong with the sync or run (the event's `error.message`). */
  syncError: string | null;
  /** The most recent error of any action (named), or an invalid message's problems: "why did it not work". */
  lastError: string | null;
  /** A quarantined event's problems, "code at pointer: message": what postload did not understand. */
  notUnderstood: string[];
  /** Why the processor acted on nothing for a stale event (processor/planning/staleness.ts), else null. */
  stale: string | null;
  /** What a dbt Cloud run event (source dbt-cloud) reports about its run. */
  runReport: RunReportView | null;
  /** What the event did to each join it is an upstream of (`joins.<name>` on the record). */
  joins: Array<{ join: string; outcome: string; missing: string[]; firing: { round: number; upstreams: Array<{ upstream: string; eventId: string; connector: string; occurredAt: Date | null }> } | null }>;
}

/** A dbt Cloud run as one of its run events reports it (the record's normalised `event.transformation`, `sync` and `error`). */
export interface RunReportView {
  accountId: string | null;
  jobId: string | null;
  jobName: string | null;
  runId: string | null;
  cause: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationSeconds: number | null;
  errorMessage: string | null;
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
    docId: id,
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
    startedRuns: Array.isArray(doc.startedRuns) ? (doc.startedRuns as unknown[]).map(String) : [],
    runStartedAt: date(doc.runStartedAt),
    problems: invalid ? problems : [],
    syncError: str(record(record(doc.event)?.error)?.message),
    lastError:
      latestError(actions) ??
      (notUnderstood.length ? notUnderstood.join('; ') : invalid && problems.length ? problems.map((p) => `${p.field || '(root)'} ${p.message}`).join('; ') : typeof doc.stale === 'string' ? `stale: ${doc.stale}` : null),
    notUnderstood,
    stale: str(doc.stale),
    runReport: toRunReport(doc),
    joins: Object.entries(record(doc.joins) ?? {}).map(([join, value]) => {
      const note = record(value) ?? {};
      const firing = record(note.firing);
      return {
        join,
        outcome: str(note.outcome) ?? '?',
        missing: Array.isArray(note.missing) ? note.missing.map(String) : [],
        firing: firing
          ? {
              round: num(firing.round) ?? 0,
              upstreams: Object.entries(record(firing.upstreams) ?? {}).map(([upstream, success]) => {
                const u = record(success) ?? {};
                return { upstream, eventId: str(u.eventId) ?? '', connector: str(u.connector) ?? '', occurredAt: date(u.occurredAt) };
              }),
            }
          : null,
      };
    }),
  };
}

function toRunReport(doc: DocumentData): RunReportView | null {
  if (doc.source !== 'dbt-cloud') return null;
  const event = record(doc.event) ?? {};
  const t = record(event.transformation) ?? {};
  const sync = record(event.sync) ?? {};
  return {
    accountId: str(t.accountId),
    jobId: str(t.jobId) ?? str(doc.connectorId),
    jobName: str(t.jobName) ?? str(doc.connectorName),
    runId: str(t.runId) ?? str(doc.syncId),
    cause: str(t.cause),
    startedAt: date(sync.startedAt),
    finishedAt: date(sync.finishedAt),
    durationSeconds: num(sync.durationSeconds),
    errorMessage: str(record(event.error)?.message),
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
    runId: num(a.runId) ?? str(a.runId),
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
    deferredRun: toDeferredRun(a.deferredRun),
  };
}

function toDeferredRun(value: unknown): ActionView['deferredRun'] {
  const d = record(value);
  const runId = d && (str(d.runId) ?? (num(d.runId) === null ? null : String(d.runId)));
  return d && runId ? { runId, href: str(d.href), covered: d.covered === true, at: date(d.at) } : null;
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
    // Run targets beside dbt Cloud (issue 28), named as their Slack messages name them.
    case 'cloud-run': {
      const job = /^projects\/[^/]+\/locations\/([^/]+)\/jobs\/([^/]+)$/.exec(action.target);
      return job ? `Cloud Run job ${job[2]} (${job[1]})` : `Cloud Run job ${action.target}`;
    }
    case 'airflow':
      return `Airflow DAG ${action.target.split('#').pop()}`;
    case 'http':
      return `HTTP call ${action.target}`;
    default:
      return `${action.kind} ${action.target}`;
  }
}

/** Reads the audit collection. */
export class AuditTrail {
  constructor(
    private readonly db: Firestore,
    private readonly collection: string,
    /** Records the shape of every query (the index test). */
    private readonly log?: QueryLog,
  ) {}

  async get(eventId: string): Promise<EventView | undefined> {
    const snapshot = await this.db.collection(this.collection).doc(eventId).get();
    return snapshot.exists ? toEventView(snapshot.id, snapshot.data()!) : undefined;
  }

  /** Several records in one read, in the order asked; missing ones are left out. */
  async getMany(eventIds: string[]): Promise<EventView[]> {
    const ids = [...new Set(eventIds)];
    if (ids.length === 0) return [];
    const snapshots = await this.db.getAll(...ids.map((id) => this.db.collection(this.collection).doc(id)));
    return snapshots.filter((s) => s.exists).map((s) => toEventView(s.id, s.data()!));
  }

  /**
   * The ids of at most `limit` records whose id starts with `prefix`, in id order: one range
   * query on the document id (the built-in index), never a scan of the collection.
   */
  async idsStartingWith(prefix: string, limit: number): Promise<string[]> {
    if (prefix === '') throw new Error('an empty prefix matches every record');
    // The smallest string after every string that starts with the prefix: its last unit plus one.
    const after = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const snapshot = await this.db
      .collection(this.collection)
      .where(FieldPath.documentId(), '>=', prefix)
      .where(FieldPath.documentId(), '<', after)
      .orderBy(FieldPath.documentId())
      .limit(limit)
      .select()
      .get();
    return snapshot.docs.map((doc) => doc.id);
  }

  /**
   * One page, newest first, after `cursor`: Firestore applies the time range and one
   * equality filter (event-query.ts, each with its index in terraform/firestore.tf), the
   * other filters are applied to the records read. At most `maxScan` records are read:
   * when the filters applied here match too few of them, the page is `partial` and `next`
   * goes on from where the read stopped.
   */
  async page(filter: EventFilter, cursor?: EventCursor, maxScan = Math.max(filter.limit * 10, 500)): Promise<EventPage> {
    const shape = eventQueryShape(filter);
    this.log?.record(shape);
    let query: Query = this.db.collection(this.collection);
    const key = pushedDown(filter);
    if (key) query = query.where(FILTER_FIELDS[key], '==', filter[key]);
    query = query.where('occurredAt', '>=', Timestamp.fromDate(filter.since));
    if (filter.until) query = query.where('occurredAt', '<', Timestamp.fromDate(filter.until));
    // The id breaks ties between events of the same instant, so a cursor names one place.
    query = query.orderBy('occurredAt', 'desc').orderBy(FieldPath.documentId(), 'desc');
    const found: EventView[] = [];
    const batch = Math.min(Math.max(filter.limit + 1, 50), 300);
    let after: [Timestamp, string] | undefined = cursor ? [Timestamp.fromMillis(cursor.occurredAtMs), cursor.id] : undefined;
    let scanned = 0;
    let scannedTo: Date | null = null;
    for (;;) {
      const asked = Math.min(batch, maxScan - scanned);
      const snapshot = await (after ? query.startAfter(...after) : query).limit(asked).get();
      for (const doc of snapshot.docs) {
        scanned++;
        const view = toEventView(doc.id, doc.data());
        const at = date(doc.get('occurredAt'));
        scannedTo = at ?? scannedTo;
        after = [doc.get('occurredAt') as Timestamp, doc.id];
        if (!matchesFilter(view, filter)) continue;
        if (found.length === filter.limit) {
          // One more than the page holds: there is a next page, starting after the last shown.
          const last = found.at(-1)!;
          return { events: found, next: { occurredAtMs: last.occurredAt!.getTime(), id: last.docId }, scanned, partial: false, scannedTo };
        }
        found.push(view);
      }
      if (snapshot.size < asked) return { events: found, next: null, scanned, partial: false, scannedTo };
      if (scanned >= maxScan) {
        return { events: found, next: after ? { occurredAtMs: after[0].toMillis(), id: after[1] } : null, scanned, partial: true, scannedTo };
      }
    }
  }

  /** Newest first, up to `filter.limit`, reading on until the limit is met or the records run out (the CLI's `events`). */
  async list(filter: EventFilter): Promise<EventView[]> {
    const found: EventView[] = [];
    let cursor: EventCursor | undefined;
    for (;;) {
      const page = await this.page({ ...filter, limit: filter.limit - found.length }, cursor);
      found.push(...page.events);
      if (!page.next || found.length >= filter.limit) return found;
      cursor = page.next;
    }
  }
}
