import { FieldPath, type DocumentData, type Firestore, type Query } from '@google-cloud/firestore';
import { describeExpectation, type Expectation } from '../sweep/freshness/expectation.js';
import { STATE_ORDER, type FreshnessState } from '../sweep/freshness/state-machine.js';
import type { QueryLog } from './query-shape.js';
import { date, num, record, str } from './values.js';

// The connectors as the processor's connector documents (processor/store/connector-document.ts)
// and the sweep's freshness documents (sweep/freshness/record.ts: `<freshness collection>/<connector
// document id>`) describe them. Read in pages by document id, with one read of both documents per
// connector; the ones that need attention come first, from their own small query.

/** Freshness states (the sweep's), most urgent first: the order the page lists them in. */
export const FRESHNESS_STATES: readonly FreshnessState[] = STATE_ORDER;
const NEEDS_ATTENTION: readonly string[] = ['failing', 'overdue', 'late'];

/** What the sweep says of a connector, when it has judged it. */
export interface FreshnessView {
  state: string;
  since: Date | null;
  /** Why it is in this state, in words. */
  why: string | null;
  /** Where the expectation came from: routing, fivetran, airbyte, learned, none. */
  expectationSource: string | null;
  /** The expectation in words, as `postload freshness` says it ("every 1h, grace 30m"). */
  expectation: string | null;
  /** Where it came from, in words ("Fivetran sync_frequency 360 min"). */
  expectationDetail: string | null;
  expectedBy: Date | null;
  overdueAt: Date | null;
  pausedUntil: Date | null;
  evaluatedAt: Date | null;
}

export interface SyncMark {
  eventId: string;
  type: string;
  status: string | null;
  occurredAt: Date | null;
}

export interface ConnectorView {
  docId: string;
  source: string;
  connectorId: string;
  connectorName: string | null;
  connectorType: string | null;
  destination: string | null;
  latestStatus: string | null;
  latestEvent: SyncMark | null;
  lastSuccess: (SyncMark & { durationSeconds: number | null }) | null;
  lastFailure: (SyncMark & { error: string | null }) | null;
  /** The last 14 finished syncs, oldest first (left to right on the page). */
  strip: SyncMark[];
  /** The latest dbt run a load of this connector started. */
  latestRun: { jobId: string; runId: number; status: string; originEventId: string | null } | null;
  freshness: FreshnessView | null;
  /** What the page sorts and colours by: the freshness state, or, before the sweep judged it, "failing" when its latest sync failed. */
  health: string;
  updatedAt: Date | null;
}

export interface ConnectorFilter {
  /** A freshness state: queried in the freshness collection. */
  state?: string;
  /** Only this vendor. */
  source?: string;
  /** The latest sync's status (succeeded, failed, …). */
  latest?: string;
  limit: number;
  /** The last document id of the previous page. */
  after?: string;
}

export interface ConnectorPage {
  connectors: ConnectorView[];
  /** The document id the next page starts after, or null. */
  next: string | null;
}

const STRIP = 14;
// A dbt Cloud job's document (the processor keeps one for run events too) has runs instead of syncs.
const FINISHED = new Set(['sync.succeeded', 'sync.failed', 'sync.cancelled', 'sync.rescheduled', 'transformation.succeeded', 'transformation.failed', 'transformation.cancelled']);

export function toConnectorView(docId: string, doc: DocumentData | undefined, freshnessDoc: DocumentData | undefined): ConnectorView {
  const d = doc ?? {};
  const f = freshnessDoc ?? {};
  const mark = (value: unknown): SyncMark | null => {
    const m = record(value);
    if (!m || !str(m.eventId)) return null;
    return { eventId: str(m.eventId)!, type: str(m.type) ?? '', status: str(m.status), occurredAt: date(m.occurredAt) };
  };
  const success = record(d.lastSuccessfulSync);
  const failure = record(d.lastFailedSync);
  const transformation = record(d.latestTransformation);
  // recentSyncs since the status page; older documents have only recentEvents (every kind mixed).
  const syncs = (Array.isArray(d.recentSyncs) ? d.recentSyncs : Array.isArray(d.recentEvents) ? d.recentEvents : []) as unknown[];
  const strip = syncs
    .map(mark)
    .filter((m): m is SyncMark => m !== null && FINISHED.has(m.type))
    .slice(0, STRIP)
    .reverse();
  const freshness = toFreshnessView(f);
  const latestStatus = str(d.latestStatus);
  const destination = record(d.destination);
  return {
    docId,
    source: str(d.source) ?? str(f.source) ?? docId.split(/[-#]/)[0] ?? '',
    connectorId: str(d.connectorId) ?? str(f.connectorId) ?? docId,
    connectorName: str(d.connectorName) ?? str(f.connectorName),
    connectorType: str(d.connectorType) ?? str(f.connectorType),
    destination: destination ? (str(destination.name) ?? str(destination.id)) : null,
    latestStatus,
    latestEvent: mark(d.latestEvent),
    lastSuccess: success && mark(success) ? { ...mark(success)!, durationSeconds: num(success.durationSeconds) } : null,
    lastFailure: failure && mark(failure) ? { ...mark(failure)!, error: str(record(failure.error)?.message) } : null,
    strip,
    latestRun:
      transformation && num(transformation.runId) !== null
        ? { jobId: String(transformation.jobId ?? ''), runId: num(transformation.runId)!, status: str(transformation.status) ?? '?', originEventId: str(transformation.originEventId) }
        : null,
    freshness,
    // The sweep's judgement; where it expects nothing (`unknown`: no rule, a manual schedule, still learning), a failed latest sync still needs attention.
    health: freshness && freshness.state !== 'unknown' ? freshness.state : latestStatus === 'failed' ? 'failing' : (freshness?.state ?? 'unknown'),
    updatedAt: date(d.updatedAt),
  };
}

function toFreshnessView(f: DocumentData): FreshnessView | null {
  const state = str(f.state);
  if (!state) return null;
  const expectation = record(f.expectation);
  const pause = record(f.pause);
  return {
    state,
    since: date(f.since),
    why: str(f.why),
    expectationSource: str(expectation?.source),
    expectation: expectation && ['every', 'cron', 'none'].includes(String(expectation.kind)) ? describeExpectation(expectation as unknown as Expectation) : null,
    expectationDetail: str(expectation?.detail),
    expectedBy: date(f.expectedBy),
    overdueAt: date(f.overdueAt),
    pausedUntil: pause ? date(pause.until) : null,
    evaluatedAt: date(f.evaluatedAt),
  };
}

/** Most urgent first, then by name. */
export function byUrgency(a: ConnectorView, b: ConnectorView): number {
  const rank = (c: ConnectorView) => {
    const i = (FRESHNESS_STATES as readonly string[]).indexOf(c.health);
    return i === -1 ? FRESHNESS_STATES.length : i;
  };
  return rank(a) - rank(b) || (a.connectorName ?? a.connectorId).localeCompare(b.connectorName ?? b.connectorId);
}

export class ConnectorReader {
  constructor(
    private readonly db: Firestore,
    private readonly collections: { connectors: string; freshness: string },
    private readonly log?: QueryLog,
  ) {}

  /**
   * One page in document-id order (a stable cursor: new connectors never shift a page),
   * filtered by one field at most: a freshness state (the freshness collection), a source or
   * the latest status (the connectors collection). Equality filters in document order use
   * Firestore's single-field indexes: no composite index.
   */
  async page(filter: ConnectorFilter): Promise<ConnectorPage> {
    const inFreshness = filter.state !== undefined;
    const collection = inFreshness ? this.collections.freshness : this.collections.connectors;
    let query: Query = this.db.collection(collection);
    const equalities: string[] = [];
    if (filter.state !== undefined) (query = query.where('state', '==', filter.state)), equalities.push('state');
    else if (filter.source !== undefined) (query = query.where('source', '==', filter.source)), equalities.push('source');
    else if (filter.latest !== undefined) (query = query.where('latestStatus', '==', filter.latest)), equalities.push('latestStatus');
    this.log?.record({ collection: inFreshness ? 'freshness' : 'connectors', equalities });
    query = query.orderBy(FieldPath.documentId());
    if (filter.after) query = query.startAfter(filter.after);
    const snapshot = await query.limit(filter.limit + 1).get();
    const ids = snapshot.docs.slice(0, filter.limit).map((d) => d.id);
    const connectors = await this.views(ids);
    return { connectors, next: snapshot.size > filter.limit ? ids.at(-1)! : null };
  }

  /**
   * The connectors that need attention, most urgent first: the sweep's failing, overdue and
   * late ones, and those whose latest sync failed (before the sweep judged them, or without
   * it). Two bounded equality queries.
   */
  async needingAttention(limit: number): Promise<{ connectors: ConnectorView[]; more: boolean }> {
    this.log?.record({ collection: 'freshness', equalities: ['state'] });
    this.log?.record({ collection: 'connectors', equalities: ['latestStatus'] });
    const [judged, failed] = await Promise.all([
      this.db.collection(this.collections.freshness).where('state', 'in', NEEDS_ATTENTION).orderBy(FieldPath.documentId()).limit(limit + 1).get(),
      this.db.collection(this.collections.connectors).where('latestStatus', '==', 'failed').orderBy(FieldPath.documentId()).limit(limit + 1).get(),
    ]);
    const ids = [...new Set([...judged.docs, ...failed.docs].map((d) => d.id))];
    const views = (await this.views(ids)).filter((c) => NEEDS_ATTENTION.includes(c.health)).sort(byUrgency);
    return { connectors: views.slice(0, limit), more: judged.size > limit || failed.size > limit || views.length > limit };
  }

  async get(docId: string): Promise<ConnectorView | undefined> {
    const [view] = await this.views([docId]);
    return view;
  }

  /** Both documents of each connector, in one read. */
  private async views(ids: string[]): Promise<ConnectorView[]> {
    if (ids.length === 0) return [];
    const refs = ids.flatMap((id) => [this.db.collection(this.collections.connectors).doc(id), this.db.collection(this.collections.freshness).doc(id)]);
    const snapshots = await this.db.getAll(...refs);
    const views: ConnectorView[] = [];
    for (let i = 0; i < ids.length; i++) {
      const connector = snapshots[2 * i]!;
      const freshness = snapshots[2 * i + 1]!;
      if (!connector.exists && !freshness.exists) continue;
      views.push(toConnectorView(ids[i]!, connector.data(), freshness.data()));
    }
    return views;
  }
}

/** A connector as its document names it. */
export interface ConnectorSeen {
  connectorId: string;
  connectorName: string | null;
  source: string | null;
}

/**
 * What the connector documents (processor/store/connector-document.ts) say of a value given
 * as a connector (`postload events --connector`): those named so, whether any has it as id
 * or name, and when none does, a bounded sample of the known ones to suggest from. Equality
 * queries on single fields (Firestore's automatic indexes), each limited.
 */
export async function lookUpConnector(db: Firestore, collection: string, value: string): Promise<{ named: ConnectorSeen[]; exists: boolean; sample: ConnectorSeen[] }> {
  const connectors = db.collection(collection);
  const seen = (docs: FirebaseFirestore.QueryDocumentSnapshot[]): ConnectorSeen[] =>
    docs.map((doc) => ({ connectorId: str(doc.get('connectorId')) ?? doc.id, connectorName: str(doc.get('connectorName')), source: str(doc.get('source')) }));
  const [byId, byName] = await Promise.all([connectors.where('connectorId', '==', value).limit(10).get(), connectors.where('connectorName', '==', value).limit(10).get()]);
  const named = seen(byName.docs);
  const exists = !byId.empty || named.length > 0;
  const sample = exists ? [] : seen((await connectors.select('connectorId', 'connectorName', 'source').limit(200).get()).docs);
  return { named, exists, sample };
}
