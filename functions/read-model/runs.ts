import { FieldPath, Timestamp, type Firestore, type Query } from '@google-cloud/firestore';
import { eventId } from '../ingest/event-id.js';
import { isRunAction } from '../processor/planning/claims.js';
import { originEventIdOf } from '../processor/planning/run-outcome.js';
import { KINDS } from '../processor/targets/kinds.js';
import { runKey, runKindOf } from '../processor/store/run-index.js';
import { toEventView, type AuditTrail, type EventView } from './audit-trail.js';
import type { EventCursor } from './event-query.js';
import type { QueryLog } from './query-shape.js';

// The runs of every kind of target, from two indexed streams of the audit trail, merged
// newest first under one cursor:
// - runs postload started: the records of the loads that started them (each names its runs
//   in `startedRuns`, ordered by `runStartedAt`: processor/store/run-index.ts), whatever the
//   kind, whether or not anything ever reported on them. Their outcome is what was recorded
//   on the action that started them (`runOutcome`: dbt Cloud's run events, or the sweep);
// - runs postload did not start (a dbt Cloud schedule, the dbt Cloud UI): their dbt Cloud
//   run events (source dbt-cloud). A run event of a run postload started is not listed again.
// The loads that caused a run come from the record that started it: the load itself, and,
// for a join, the upstream loads that completed the set.

/** The kinds of run target postload knows (processor/targets/kinds.ts). */
export const RUN_KINDS: readonly string[] = Object.keys(KINDS);

/** `unknown`: the sweep found the run gone before it saw it end (run-targets.md). */
export const RUN_STATUSES = ['started', 'running', 'succeeded', 'failed', 'cancelled', 'unknown'] as const;
export type RunStatusName = (typeof RUN_STATUSES)[number];

type ReportedStatus = Exclude<RunStatusName, 'started' | 'unknown'>;

const TYPE_OF: Record<ReportedStatus, string> = {
  running: 'transformation.started',
  succeeded: 'transformation.succeeded',
  failed: 'transformation.failed',
  cancelled: 'transformation.cancelled',
};
const STATUS_OF = new Map(Object.entries(TYPE_OF).map(([status, type]) => [type, status]));
const FINAL_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;

/** A load that caused a run: the one whose action started it, one coalesced into it, or an upstream of the join that fired it. */
export interface CauseView {
  eventId: string;
  how: string;
  source: string | null;
  connector: string | null;
  type: string | null;
  occurredAt: Date | null;
}

export interface RunView {
  /** The run target's kind: dbt-cloud, cloud-run, airflow, http, … */
  kind: string;
  /** The target's id: a dbt Cloud job id, a Cloud Run job's name, … */
  target: string;
  targetName: string | null;
  runId: string;
  /** `started` while nothing has reported on a run postload started. */
  status: string;
  /** When postload started it; null for a run it did not start. */
  triggeredAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationSeconds: number | null;
  errorMessage: string | null;
  /** The run event that reported its outcome (`postload event` tells its story), if any. */
  reportedBy: string | null;
  /** Where the list places it: when postload started it, else when its run event occurred. */
  listedAt: Date | null;
  /** The load whose action started it; null when postload did not start it (a schedule, the dbt Cloud UI). */
  originEventId: string | null;
  /** The run's page at its target, as the trigger's answer gave it. */
  href: string | null;
  causes: CauseView[];
}

export interface RunFilter {
  status?: RunStatusName;
  kind?: string;
  /** A target id (of any kind, or of `kind` when given). */
  target?: string;
  since: Date;
  until?: Date;
  limit: number;
}

export function isRunStatus(value: string): value is RunStatusName {
  return (RUN_STATUSES as readonly string[]).includes(value);
}

export function runTypeOf(status: ReportedStatus): string {
  return TYPE_OF[status];
}

/** The run a dbt Cloud run event reports, before its causes are read. */
export function toRunView(view: EventView): RunView | undefined {
  const report = view.runReport;
  const status = STATUS_OF.get(view.type);
  if (!report || !status || !report.runId || !report.jobId) return undefined;
  return {
    kind: 'dbt-cloud',
    target: report.jobId,
    targetName: report.jobName,
    runId: report.runId,
    status,
    triggeredAt: null,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    durationSeconds: report.durationSeconds,
    errorMessage: report.errorMessage,
    reportedBy: view.eventId,
    listedAt: view.occurredAt,
    originEventId: originEventIdOf(report.cause) ?? null,
    href: null,
    causes: [],
  };
}

/** The runs a load's actions started (any kind), each with its outcome as recorded on its action and the loads that caused it. */
export function startedRunsOf(origin: EventView): RunView[] {
  return origin.actions
    .filter((a) => isRunAction(a.kind) && (a.runId !== null || (a.deferredRun !== null && !a.deferredRun.covered)))
    .map((a) => {
      const outcome = a.runOutcome;
      const deferred = a.runId === null ? a.deferredRun : null;
      const run: RunView = {
        kind: runKindOf(a.kind),
        target: a.target,
        targetName: null,
        runId: String(a.runId ?? deferred!.runId),
        status: outcome?.status ?? 'started',
        triggeredAt: deferred ? deferred.at : a.completedAt,
        startedAt: outcome?.startedAt ?? null,
        finishedAt: outcome?.finishedAt ?? null,
        durationSeconds: outcome?.durationSeconds ?? null,
        errorMessage: outcome?.errorMessage ?? null,
        reportedBy: outcome?.eventId ?? null,
        listedAt: origin.runStartedAt ?? a.completedAt,
        originEventId: origin.eventId,
        href: null,
        causes: [],
      };
      const found = causesFrom(run, origin);
      return { ...run, ...found, href: found.href ?? deferred?.href ?? null };
    });
}

/** The ids the run's final events have (ingest/dbt-cloud/normalise.ts: one id per run and outcome). */
export function finalEventIds(accountId: string, runId: string): string[] {
  return FINAL_OUTCOMES.map((outcome) => eventId(['dbt-cloud', accountId, runId, outcome]));
}

/** The loads behind a run, from the record of the load that started it. */
export function causesFrom(run: RunView, origin: EventView | undefined): { causes: CauseView[]; href: string | null } {
  if (!origin) return { causes: [], href: null };
  const action = origin.actions.find((a) => isRunAction(a.kind) && runKindOf(a.kind) === run.kind && a.target === run.target && String(a.runId ?? a.deferredRun?.runId) === run.runId);
  const fired = origin.joins.filter((j) => j.outcome === 'fired' && j.firing);
  const causes: CauseView[] = [
    {
      eventId: origin.eventId,
      how: fired.length ? `completed join ${fired.map((j) => j.join).join(', ')}` : 'started it',
      source: origin.source,
      connector: origin.connectorName ?? origin.connectorId,
      type: origin.type,
      occurredAt: origin.occurredAt,
    },
  ];
  for (const join of fired) {
    for (const upstream of join.firing!.upstreams) {
      if (upstream.eventId === origin.eventId) continue;
      causes.push({ eventId: upstream.eventId, how: `upstream ${upstream.upstream} of join ${join.join}`, source: null, connector: upstream.connector, type: null, occurredAt: upstream.occurredAt });
    }
  }
  return { causes, href: action?.runHref ?? null };
}

/** One audit record's runs at its place in a stream: (time, document id), newest first. */
export interface ListedRecord {
  key: EventCursor;
  runs: RunView[];
}

/** A page of one stream: its records after the cursor in order; `stoppedAt` when the read stopped before the stream's end. */
export interface StreamPage {
  entries: ListedRecord[];
  stoppedAt?: EventCursor;
}

/** Newest first: later time first, then the greater document id (Firestore's order for `desc, __name__ desc`). */
export function compareKeys(a: EventCursor, b: EventCursor): number {
  if (a.occurredAtMs !== b.occurredAtMs) return b.occurredAtMs - a.occurredAtMs;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Merges pages of streams read after the same cursor into one page of at most `limit`
 * records. A stream that stopped early says nothing beyond where it stopped, so nothing
 * beyond the latest such place is shown yet; `next` is where the following page starts
 * (after the last record shown, or after that place), null when every stream is read.
 */
export function mergePages(pages: StreamPage[], limit: number): { entries: ListedRecord[]; next: EventCursor | null } {
  const stops = pages.flatMap((p) => (p.stoppedAt ? [p.stoppedAt] : [])).sort(compareKeys);
  const bound = stops[0];
  const eligible = pages
    .flatMap((p) => p.entries)
    .filter((e) => !bound || compareKeys(e.key, bound) <= 0)
    .sort((a, b) => compareKeys(a.key, b.key));
  const entries = eligible.slice(0, limit);
  if (eligible.length > limit) return { entries, next: entries.at(-1)!.key };
  if (!bound) return { entries, next: null };
  return { entries, next: entries.length === limit ? entries.at(-1)!.key : bound };
}

function matches(run: RunView, filter: RunFilter): boolean {
  return (!filter.status || run.status === filter.status) && (!filter.kind || run.kind === filter.kind) && (!filter.target || run.target === filter.target);
}

export class RunReader {
  constructor(
    private readonly db: Firestore,
    private readonly audit: string,
    private readonly trail: AuditTrail,
    private readonly log?: QueryLog,
  ) {}

  /**
   * One page of runs, newest first: the two streams read after the same cursor, merged.
   * A run reported started and later ended is shown once, as its end: a start is left out
   * when one of the run's final events is recorded (their ids are known: one read of at
   * most three documents per start). A run event of a run whose starting load lists it is
   * left out: that load's entry shows the run.
   */
  async page(filter: RunFilter, cursor?: EventCursor, maxScan = Math.max(filter.limit * 10, 500)): Promise<{ runs: RunView[]; next: EventCursor | null; partial: boolean; scanned: number }> {
    // Run events of runs a listed load shows are left out after the read: a page short of
    // its limit reads on from where it ended (twice at most), so pages stay nearly full.
    const page = { runs: [] as RunView[], next: cursor ?? null, partial: false, scanned: 0 };
    for (let round = 0; round < 3; round++) {
      const part = await this.onePage({ ...filter, limit: filter.limit - page.runs.length }, page.next ?? undefined, maxScan);
      page.runs.push(...part.runs);
      page.next = part.next;
      page.partial = part.partial;
      page.scanned += part.scanned;
      if (!part.next || part.partial || page.runs.length >= filter.limit) break;
    }
    return page;
  }

  private async onePage(filter: RunFilter, cursor: EventCursor | undefined, maxScan: number): Promise<{ runs: RunView[]; next: EventCursor | null; partial: boolean; scanned: number }> {
    // dbt Cloud's run events say running, succeeded, failed or cancelled, never started or unknown.
    const wantsReports = filter.status !== 'started' && filter.status !== 'unknown' && (!filter.kind || filter.kind === 'dbt-cloud');
    const [reported, started] = await Promise.all([wantsReports ? this.reportedPage(filter, cursor) : undefined, this.startedPage(filter, cursor, maxScan)]);
    const merged = mergePages([...(reported ? [reported.page] : []), started.page], filter.limit);
    return { runs: merged.entries.flatMap((e) => e.runs), next: merged.next, partial: (reported?.partial ?? false) || started.partial, scanned: (reported?.scanned ?? 0) + started.scanned };
  }

  /** dbt Cloud's run events, as the events feed reads them (source dbt-cloud; status and job pushed down as type and connector). */
  private async reportedPage(filter: RunFilter, cursor?: EventCursor): Promise<{ page: StreamPage; partial: boolean; scanned: number }> {
    const status = filter.status && filter.status !== 'started' && filter.status !== 'unknown' ? filter.status : undefined;
    const page = await this.trail.page(
      { source: 'dbt-cloud', ...(status ? { type: TYPE_OF[status] } : {}), ...(filter.target ? { connector: filter.target } : {}), since: filter.since, ...(filter.until ? { until: filter.until } : {}), limit: filter.limit },
      cursor,
    );
    // The loads that started these runs (one read of each): a run its load lists is that load's entry, not this one.
    const origins = new Map((await this.trail.getMany(page.events.flatMap((e) => originEventIdOf(e.runReport?.cause) ?? []))).map((o) => [o.eventId, o]));
    let runs = page.events
      .map(toRunView)
      .filter((r): r is RunView => r !== undefined)
      .filter((r) => !r.originEventId || !origins.get(r.originEventId)?.startedRuns.includes(runKey(r.kind, r.target, r.runId)))
      .map((r) => ({ ...r, ...causesFrom(r, r.originEventId ? origins.get(r.originEventId) : undefined) }));
    const starts = page.events.filter((e) => e.type === TYPE_OF.running && e.runReport?.accountId && e.runReport.runId && runs.some((r) => r.reportedBy === e.eventId));
    if (starts.length) {
      const ids = starts.flatMap((e) => finalEventIds(e.runReport!.accountId!, e.runReport!.runId!));
      const ended = new Set((await this.trail.getMany(ids)).map((e) => `${e.runReport?.jobId}/${e.runReport?.runId}`));
      runs = runs.filter((r) => r.status !== 'running' || !ended.has(`${r.target}/${r.runId}`));
    }
    const byId = new Map(runs.map((r) => [r.reportedBy, r]));
    const entries = page.events.filter((e) => e.occurredAt).map((e) => ({ key: { occurredAtMs: e.occurredAt!.getTime(), id: e.docId }, runs: byId.has(e.eventId) ? [byId.get(e.eventId)!] : [] }));
    return { page: { entries: entries.filter((e) => e.runs.length), ...(page.next ? { stoppedAt: page.next } : {}) }, partial: page.partial, scanned: page.scanned };
  }

  /**
   * The records of loads that started runs, newest start first (`runStartedAt`, its
   * single-field index), each with its runs that match the filter. At most `maxScan`
   * records are read; a page that meets that bound says where it stopped.
   */
  private async startedPage(filter: RunFilter, cursor: EventCursor | undefined, maxScan: number): Promise<{ page: StreamPage; partial: boolean; scanned: number }> {
    this.log?.record({ collection: 'audit', equalities: [], orderBy: { field: 'runStartedAt', direction: 'desc' } });
    let query: Query = this.db.collection(this.audit).where('runStartedAt', '>=', Timestamp.fromDate(filter.since));
    if (filter.until) query = query.where('runStartedAt', '<', Timestamp.fromDate(filter.until));
    query = query.orderBy('runStartedAt', 'desc').orderBy(FieldPath.documentId(), 'desc');
    const entries: ListedRecord[] = [];
    let after: [Timestamp, string] | undefined = cursor ? [Timestamp.fromMillis(cursor.occurredAtMs), cursor.id] : undefined;
    let scanned = 0;
    for (;;) {
      const asked = Math.min(Math.max(filter.limit + 1, 50), 300, maxScan - scanned);
      const snapshot = await (after ? query.startAfter(...after) : query).limit(asked).get();
      for (const doc of snapshot.docs) {
        scanned++;
        const at = doc.get('runStartedAt') as Timestamp;
        after = [at, doc.id];
        const runs = startedRunsOf(toEventView(doc.id, doc.data())).filter((r) => matches(r, filter));
        if (!runs.length) continue;
        const key = { occurredAtMs: at.toMillis(), id: doc.id };
        if (entries.length === filter.limit) return { page: { entries, stoppedAt: entries.at(-1)!.key }, partial: false, scanned };
        entries.push({ key, runs });
      }
      if (snapshot.size < asked) return { page: { entries }, partial: false, scanned };
      if (scanned >= maxScan) return { page: { entries, stoppedAt: { occurredAtMs: after![0].toMillis(), id: after![1] } }, partial: true, scanned };
    }
  }

  /**
   * One run with every load that caused it: the load that started it (its record lists the
   * run: one array-contains query), its dbt Cloud run events (by run id), the loads
   * coalesced into it (their action for the target names the run: one equality query on
   * that field, served by its single-field index), and the loads covered by those loads'
   * batches (their action names the batch's holder).
   */
  async get(kind: string, target: string, runId: string, limit: number): Promise<{ run: RunView; events: EventView[]; coalesced: EventView[]; moreCoalesced: boolean } | undefined> {
    this.log?.record({ collection: 'audit', equalities: ['startedRuns'] });
    const originSnapshot = await this.db.collection(this.audit).where('startedRuns', 'array-contains', runKey(kind, target, runId)).limit(1).get();
    const origin = originSnapshot.docs.map((d) => toEventView(d.id, d.data()))[0];
    const started = origin && startedRunsOf(origin).find((r) => r.kind === kind && r.target === target && r.runId === runId);
    let events: EventView[] = [];
    if (kind === 'dbt-cloud') {
      this.log?.record({ collection: 'audit', equalities: ['syncId'] });
      const snapshot = await this.db.collection(this.audit).where('syncId', '==', runId).limit(20).get();
      events = snapshot.docs
        .map((d) => toEventView(d.id, d.data()))
        .filter((e) => e.source === 'dbt-cloud' && e.runReport?.jobId === target)
        .sort((a, b) => (b.occurredAt?.getTime() ?? 0) - (a.occurredAt?.getTime() ?? 0));
    }
    const finals = events.filter((e) => e.type !== TYPE_OF.running);
    const reported = (finals[0] ?? events[0]) && toRunView(finals[0] ?? events[0]!);
    let run: RunView | undefined = started ? { ...started, targetName: reported?.targetName ?? null } : reported;
    if (!run) return undefined;
    if (!started) {
      const [reportOrigin] = run.originEventId ? await this.trail.getMany([run.originEventId]) : [];
      run = { ...run, ...causesFrom(run, reportOrigin) };
    }
    // The action that started it (or, without its record, dbt Cloud's: `dbt-job-<job>`) is the one its coalesced loads name too.
    const actionId = origin?.actions.find((a) => isRunAction(a.kind) && runKindOf(a.kind) === kind && a.target === target && String(a.runId ?? a.deferredRun?.runId) === runId)?.id ?? `dbt-job-${target}`;
    const storedRunId = origin?.actions.find((a) => a.id === actionId)?.runId ?? (Number.isSafeInteger(Number(runId)) ? Number(runId) : runId);
    this.log?.record({ collection: 'audit', equalities: ['actions.<action>.busy.runId'] });
    const coalescedSnapshot = await this.db.collection(this.audit).where(new FieldPath('actions', actionId, 'busy', 'runId'), '==', storedRunId).limit(limit + 1).get();
    const coalesced = coalescedSnapshot.docs.slice(0, limit).map((d) => toEventView(d.id, d.data()));
    run.causes.push(...coalesced.map((e) => ({ eventId: e.eventId, how: 'coalesced into it', source: e.source, connector: e.connectorName ?? e.connectorId, type: e.type, occurredAt: e.occurredAt })));
    // Loads covered by a batch (issue 26) name its holder, not the run: those of the batch that
    // started the run and of the batches that were coalesced into it (one `in` query on that field).
    const holders = [...new Set([...(run.originEventId ? [run.originEventId] : []), ...coalesced.map((e) => e.eventId)])].slice(0, 30);
    const room = Math.max(0, limit - coalesced.length);
    if (holders.length && room) this.log?.record({ collection: 'audit', equalities: ['actions.<action>.busy.holder'] });
    const coveredSnapshot = holders.length && room ? await this.db.collection(this.audit).where(new FieldPath('actions', actionId, 'busy', 'holder'), 'in', holders).limit(room + 1).get() : undefined;
    const covered = (coveredSnapshot?.docs ?? []).slice(0, room).map((d) => toEventView(d.id, d.data()));
    run.causes.push(...covered.map((e) => ({ eventId: e.eventId, how: `covered by the batch of ${e.actions.find((a) => a.busy?.holder)?.busy?.holder?.slice(0, 8) ?? '?'}`, source: e.source, connector: e.connectorName ?? e.connectorId, type: e.type, occurredAt: e.occurredAt })));
    return { run, events, coalesced: [...coalesced, ...covered], moreCoalesced: coalescedSnapshot.size > limit || (coveredSnapshot?.size ?? 0) > room };
  }
}
