import { FieldPath, type Firestore } from '@google-cloud/firestore';
import { eventId } from '../ingest/event-id.js';
import { originEventIdOf } from '../processor/planning/run-outcome.js';
import { toEventView, type AuditTrail, type EventView } from './audit-trail.js';
import type { EventCursor } from './event-query.js';
import type { QueryLog } from './query-shape.js';

// Runs as their run events report them: each dbt Cloud run event (source dbt-cloud) is an
// audit record, so the runs of a time range are one indexed query of the audit trail, and
// "failed in the last 24 h" counts exactly what the failed filter lists. A run postload
// started names the load that started it in its cause (`[event <id>]`); that record says
// which action started it, and, for a join, the upstream loads that completed the set.
// Issue 28's kinds (Cloud Run, Airflow) add their runs here as another kind.

export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatusName = (typeof RUN_STATUSES)[number];

const TYPE_OF: Record<RunStatusName, string> = {
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
  kind: 'dbt-cloud';
  /** The job id. */
  target: string;
  targetName: string | null;
  runId: string;
  status: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationSeconds: number | null;
  errorMessage: string | null;
  /** The run event shown (`postload event` tells its story). */
  reportedBy: string;
  occurredAt: Date | null;
  /** The load whose action started it; null when postload did not start it (a schedule, the dbt Cloud UI). */
  originEventId: string | null;
  /** The run's page in dbt Cloud, as the trigger's answer gave it. */
  href: string | null;
  causes: CauseView[];
}

export interface RunFilter {
  status?: RunStatusName;
  /** A job id. */
  target?: string;
  since: Date;
  until?: Date;
  limit: number;
}

export function isRunStatus(value: string): value is RunStatusName {
  return (RUN_STATUSES as readonly string[]).includes(value);
}

export function runTypeOf(status: RunStatusName): string {
  return TYPE_OF[status];
}

/** The run a run event reports, before its causes are read. */
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
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    durationSeconds: report.durationSeconds,
    errorMessage: report.errorMessage,
    reportedBy: view.eventId,
    occurredAt: view.occurredAt,
    originEventId: originEventIdOf(report.cause) ?? null,
    href: null,
    causes: [],
  };
}

/** The ids the run's final events have (ingest/dbt-cloud/normalise.ts: one id per run and outcome). */
export function finalEventIds(accountId: string, runId: string): string[] {
  return FINAL_OUTCOMES.map((outcome) => eventId(['dbt-cloud', accountId, runId, outcome]));
}

/** The loads behind a run, from the record of the load that started it. */
export function causesFrom(run: RunView, origin: EventView | undefined): { causes: CauseView[]; href: string | null } {
  if (!origin) return { causes: [], href: null };
  const action = origin.actions.find((a) => a.kind === 'dbt' && a.runId !== null && String(a.runId) === run.runId);
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

export class RunReader {
  constructor(
    private readonly db: Firestore,
    private readonly audit: string,
    private readonly trail: AuditTrail,
    private readonly log?: QueryLog,
  ) {}

  /**
   * One page of runs, newest first. A run reported started and later ended is shown once,
   * as its end: a start is left out when one of the run's final events is recorded (their
   * ids are known, so that is one read of at most three documents per start).
   */
  async page(filter: RunFilter, cursor?: EventCursor): Promise<{ runs: RunView[]; next: EventCursor | null; partial: boolean; scanned: number }> {
    const page = await this.trail.page(
      { source: 'dbt-cloud', ...(filter.status ? { type: TYPE_OF[filter.status] } : {}), ...(filter.target ? { connector: filter.target } : {}), since: filter.since, ...(filter.until ? { until: filter.until } : {}), limit: filter.limit },
      cursor,
    );
    let runs = page.events.map(toRunView).filter((r): r is RunView => r !== undefined);
    const starts = page.events.filter((e) => e.type === TYPE_OF.running && e.runReport?.accountId && e.runReport.runId);
    if (starts.length) {
      const ids = starts.flatMap((e) => finalEventIds(e.runReport!.accountId!, e.runReport!.runId!));
      const ended = new Set((await this.trail.getMany(ids)).map((e) => `${e.runReport?.jobId}/${e.runReport?.runId}`));
      runs = runs.filter((r) => r.status !== 'running' || !ended.has(`${r.target}/${r.runId}`));
    }
    return { runs: await this.withCauses(runs), next: page.next, partial: page.partial, scanned: page.scanned };
  }

  /**
   * One run with every load that caused it: its run events (by run id), the load that
   * started it, the loads coalesced into it (their dbt action names the run: one equality
   * query on that field, served by its single-field index), and the loads covered by those
   * loads' batches (their dbt action names the batch's holder).
   */
  async get(target: string, runId: string, limit: number): Promise<{ run: RunView; events: EventView[]; coalesced: EventView[]; moreCoalesced: boolean } | undefined> {
    this.log?.record({ collection: 'audit', equalities: ['syncId'] });
    const snapshot = await this.db.collection(this.audit).where('syncId', '==', runId).limit(20).get();
    const events = snapshot.docs
      .map((d) => toEventView(d.id, d.data()))
      .filter((e) => e.source === 'dbt-cloud' && e.runReport?.jobId === target)
      .sort((a, b) => (b.occurredAt?.getTime() ?? 0) - (a.occurredAt?.getTime() ?? 0));
    const finals = events.filter((e) => e.type !== TYPE_OF.running);
    const shown = (finals[0] ?? events[0]) && toRunView(finals[0] ?? events[0]!);
    if (!shown) return undefined;
    const [run] = await this.withCauses([shown]);
    const field = new FieldPath('actions', `dbt-job-${target}`, 'busy', 'runId');
    this.log?.record({ collection: 'audit', equalities: ['actions.dbt-job-<job>.busy.runId'] });
    const numeric = Number(runId);
    const coalescedSnapshot = Number.isSafeInteger(numeric) ? await this.db.collection(this.audit).where(field, '==', numeric).limit(limit + 1).get() : undefined;
    const coalesced = (coalescedSnapshot?.docs ?? []).slice(0, limit).map((d) => toEventView(d.id, d.data()));
    run!.causes.push(...coalesced.map((e) => ({ eventId: e.eventId, how: 'coalesced into it', source: e.source, connector: e.connectorName ?? e.connectorId, type: e.type, occurredAt: e.occurredAt })));
    // Loads covered by a batch (issue 26) name its holder, not the run: those of the batch that
    // started the run and of the batches that were coalesced into it (one `in` query on that field).
    const holders = [...new Set([...(run!.originEventId ? [run!.originEventId] : []), ...coalesced.map((e) => e.eventId)])].slice(0, 30);
    const holderField = new FieldPath('actions', `dbt-job-${target}`, 'busy', 'holder');
    if (holders.length) this.log?.record({ collection: 'audit', equalities: ['actions.dbt-job-<job>.busy.holder'] });
    const room = Math.max(0, limit - coalesced.length);
    const coveredSnapshot = holders.length && room ? await this.db.collection(this.audit).where(holderField, 'in', holders).limit(room + 1).get() : undefined;
    const covered = (coveredSnapshot?.docs ?? []).slice(0, room).map((d) => toEventView(d.id, d.data()));
    run!.causes.push(...covered.map((e) => ({ eventId: e.eventId, how: `covered by the batch of ${e.actions.find((a) => a.busy?.holder)?.busy?.holder?.slice(0, 8) ?? '?'}`, source: e.source, connector: e.connectorName ?? e.connectorId, type: e.type, occurredAt: e.occurredAt })));
    return { run: run!, events, coalesced: [...coalesced, ...covered], moreCoalesced: (coalescedSnapshot?.size ?? 0) > limit || (coveredSnapshot?.size ?? 0) > room };
  }

  private async withCauses(runs: RunView[]): Promise<RunView[]> {
    const origins = await this.trail.getMany(runs.flatMap((r) => (r.originEventId ? [r.originEventId] : [])));
    const byId = new Map(origins.map((o) => [o.eventId, o]));
    return runs.map((run) => ({ ...run, ...causesFrom(run, run.originEventId ? byId.get(run.originEventId) : undefined) }));
  }
}
