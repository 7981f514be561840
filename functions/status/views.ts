import type { EventView } from '../read-model/audit-trail.js';
import type { ConnectorView } from '../read-model/connectors.js';
import { FRESHNESS_STATES } from '../read-model/connectors.js';
import { decodeCursor, encodeCursor, type EventFilter } from '../read-model/event-query.js';
import type { JoinView } from '../read-model/joins.js';
import type { ProblemList } from '../read-model/problems.js';
import { isRunAction } from '../processor/planning/claims.js';
import { runKindOf } from '../processor/store/run-index.js';
import { isRunStatus, RUN_KINDS, RUN_STATUSES, type RunView } from '../read-model/runs.js';
import type { HeaderCounts, StatusReader } from '../read-model/status-reader.js';
import { momentOf } from '../read-model/time.js';
import { timelineOf, type TimelineEntry } from '../read-model/timeline.js';
import { eventSources, eventTypes, OUTCOMES, syncStatuses } from '../read-model/vocabulary.js';

// Each view of the status page as data: what the HTML shows and what its JSON twin under
// /api/ returns, built from the shared read model. Query parameters are checked against
// their vocabularies; a wrong one is a 400 naming the allowed values, never an empty list.

export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

export class NotFound extends Error {
  override readonly name = 'NotFound';
}

export interface ViewLimits {
  /** Rows per page when the URL does not say (`limit`), and the most it may ask for. */
  pageSize: number;
  maxPageSize: number;
  /** Joins read for the header's count and the joins view (one document per join). */
  maxJoins: number;
  /** Records read for the problems view's groups. */
  maxProblems: number;
}

export const DEFAULT_LIMITS: ViewLimits = { pageSize: 50, maxPageSize: 200, maxJoins: 100, maxProblems: 500 };

type Params = URLSearchParams;

function oneOf(params: Params, name: string, allowed: readonly string[]): string | undefined {
  const value = params.get(name) ?? '';
  if (value === '') return undefined;
  if (!allowed.includes(value)) throw new BadRequest(`${name}=${value} is not one of: ${allowed.join(', ')}`);
  return value;
}

function text(params: Params, name: string, max = 1_500): string | undefined {
  const value = (params.get(name) ?? '').trim();
  if (value === '') return undefined;
  if (value.length > max) throw new BadRequest(`${name} is longer than ${max} characters`);
  return value;
}

function moment(params: Params, name: string, fallback: string | undefined, now: Date): Date | undefined {
  const value = text(params, name, 100) ?? fallback;
  if (value === undefined) return undefined;
  const at = momentOf(value, now.getTime());
  if (!at) throw new BadRequest(`${name}=${value} is neither a duration (30m, 24h, 7d) nor a date (2026-11-20T00:00:00Z)`);
  return at;
}

function limit(params: Params, limits: ViewLimits): number {
  const value = params.get('limit');
  if (value === null || value === '') return limits.pageSize;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > limits.maxPageSize) throw new BadRequest(`limit must be a whole number from 1 to ${limits.maxPageSize}`);
  return n;
}

function cursor(params: Params) {
  const token = params.get('cursor');
  if (!token) return undefined;
  const decoded = decodeCursor(token);
  if (!decoded) throw new BadRequest('cursor is not one this page made; start again from the first page');
  return decoded;
}

/** The filters as given (for links and forms), besides the parsed filter. */
export type Echo = Record<string, string>;

function echo(params: Params, names: readonly string[]): Echo {
  return Object.fromEntries(names.flatMap((n) => (params.get(n) ? [[n, params.get(n)!]] : [])));
}

export interface OverviewData {
  counts: HeaderCounts;
  attention: ConnectorView[];
  moreAttention: boolean;
  waitingJoins: JoinView[];
  latest: EventView[];
}

export async function overview(reader: StatusReader, now: Date, limits: ViewLimits): Promise<OverviewData> {
  const [counts, attention, joins, latest] = await Promise.all([
    reader.counts(now, limits.maxJoins),
    reader.connectors.needingAttention(20),
    reader.joins.page(limits.maxJoins),
    reader.trail.page({ since: new Date(now.getTime() - 86_400_000), limit: 15 }),
  ]);
  return { counts, attention: attention.connectors, moreAttention: attention.more, waitingJoins: joins.joins.filter((j) => j.waiting), latest: latest.events };
}

export interface ConnectorsData {
  filter: Echo;
  attention: ConnectorView[];
  moreAttention: boolean;
  connectors: ConnectorView[];
  next: string | null;
  states: readonly string[];
}

const CONNECTOR_PARAMS = ['state', 'source', 'latest', 'limit'] as const;

export async function connectors(reader: StatusReader, params: Params, limits: ViewLimits): Promise<ConnectorsData> {
  const state = oneOf(params, 'state', FRESHNESS_STATES);
  const source = oneOf(params, 'source', eventSources());
  const latest = oneOf(params, 'latest', syncStatuses());
  if ([state, source, latest].filter(Boolean).length > 1) throw new BadRequest('filter connectors by one of state, source or latest at a time');
  const after = text(params, 'after');
  const filtered = Boolean(state ?? source ?? latest);
  const [page, attention] = await Promise.all([
    reader.connectors.page({ ...(state ? { state } : {}), ...(source ? { source } : {}), ...(latest ? { latest } : {}), limit: limit(params, limits), ...(after ? { after } : {}) }),
    filtered || after ? undefined : reader.connectors.needingAttention(50),
  ]);
  return { filter: echo(params, CONNECTOR_PARAMS), attention: attention?.connectors ?? [], moreAttention: attention?.more ?? false, connectors: page.connectors, next: page.next, states: FRESHNESS_STATES };
}

export interface ConnectorData {
  connector: ConnectorView;
  events: EventView[];
}

export async function connector(reader: StatusReader, docId: string, now: Date): Promise<ConnectorData> {
  const found = await reader.connectors.get(docId);
  if (!found) throw new NotFound(`no connector ${docId}`);
  const events = await reader.trail.page({ connector: found.connectorId, source: found.source, since: new Date(now.getTime() - 30 * 86_400_000), limit: 20 });
  return { connector: found, events: events.events };
}

export interface EventsData {
  filter: Echo;
  events: EventView[];
  /** The next page's cursor token, or null. */
  next: string | null;
  partial: boolean;
  scanned: number;
  scannedTo: Date | null;
  since: Date;
  until: Date | null;
  /** This page continues an earlier one. */
  atCursor: boolean;
  vocabulary: { sources: string[]; types: string[]; statuses: string[]; outcomes: readonly string[] };
}

const EVENT_PARAMS = ['source', 'connector', 'type', 'status', 'outcome', 'since', 'until', 'q', 'limit'] as const;

export async function events(reader: StatusReader, params: Params, now: Date, limits: ViewLimits): Promise<EventsData> {
  const vocabulary = { sources: eventSources(), types: eventTypes(), statuses: syncStatuses(), outcomes: OUTCOMES };
  const since = moment(params, 'since', '24h', now)!;
  const until = moment(params, 'until', undefined, now);
  const filter: EventFilter = { since, limit: limit(params, limits) };
  const source = oneOf(params, 'source', vocabulary.sources);
  const type = oneOf(params, 'type', vocabulary.types);
  const status = oneOf(params, 'status', vocabulary.statuses);
  const outcome = oneOf(params, 'outcome', vocabulary.outcomes);
  const connectorId = text(params, 'connector');
  const q = text(params, 'q', 200);
  Object.assign(filter, source && { source }, type && { type }, status && { status }, outcome && { outcome }, connectorId && { connector: connectorId }, until && { until }, q && { text: q });
  const after = cursor(params);
  const page = await reader.trail.page(filter, after);
  return {
    atCursor: after !== undefined,
    filter: echo(params, EVENT_PARAMS),
    events: page.events,
    next: page.next ? encodeCursor(page.next) : null,
    partial: page.partial,
    scanned: page.scanned,
    scannedTo: page.scannedTo,
    since,
    until: until ?? null,
    vocabulary,
  };
}

export interface EventData {
  event: EventView;
  timeline: TimelineEntry[];
  /** The runs this event's run actions started or were coalesced into, and the run it reports, for links. */
  runs: Array<{ kind: string; target: string; runId: string; how: string }>;
}

export async function event(reader: StatusReader, id: string): Promise<EventData> {
  const view = await reader.trail.get(id);
  if (!view) throw new NotFound(`no audit record for event ${id}`);
  const runs = view.actions.flatMap((a) => {
    if (!isRunAction(a.kind)) return [];
    const kind = runKindOf(a.kind);
    if (a.runId !== null) return [{ kind, target: a.target, runId: String(a.runId), how: 'started' }];
    if (a.busy?.runId != null) return [{ kind, target: a.target, runId: String(a.busy.runId), how: a.busy.outcome }];
    return [];
  });
  if (view.runReport?.jobId && view.runReport.runId) runs.push({ kind: 'dbt-cloud', target: view.runReport.jobId, runId: view.runReport.runId, how: 'reported' });
  return { event: view, timeline: timelineOf(view), runs };
}

export interface JoinsData {
  joins: JoinView[];
  next: string | null;
}

export async function joins(reader: StatusReader, params: Params, limits: ViewLimits): Promise<JoinsData> {
  const after = text(params, 'after');
  const waitingOnly = oneOf(params, 'waiting', ['1']) !== undefined;
  const page = await reader.joins.page(Math.min(limit(params, limits), limits.maxJoins), after);
  return { joins: waitingOnly ? page.joins.filter((j) => j.waiting) : page.joins, next: page.next };
}

export async function join(reader: StatusReader, name: string): Promise<{ join: JoinView }> {
  const found = await reader.joins.get(name);
  if (!found) throw new NotFound(`no join ${name}`);
  return { join: found };
}

export interface RunsData {
  filter: Echo;
  runs: RunView[];
  next: string | null;
  partial: boolean;
  statuses: readonly string[];
  kinds: readonly string[];
}

const RUN_PARAMS = ['status', 'kind', 'target', 'since', 'until', 'limit'] as const;

export async function runs(reader: StatusReader, params: Params, now: Date, limits: ViewLimits): Promise<RunsData> {
  const status = oneOf(params, 'status', RUN_STATUSES);
  const kind = oneOf(params, 'kind', RUN_KINDS);
  const target = text(params, 'target', 1_000);
  const since = moment(params, 'since', '7d', now)!;
  const until = moment(params, 'until', undefined, now);
  const page = await reader.runs.page({ ...(status && isRunStatus(status) ? { status } : {}), ...(kind ? { kind } : {}), ...(target ? { target } : {}), since, ...(until ? { until } : {}), limit: limit(params, limits) }, cursor(params));
  return { filter: echo(params, RUN_PARAMS), runs: page.runs, next: page.next ? encodeCursor(page.next) : null, partial: page.partial, statuses: RUN_STATUSES, kinds: RUN_KINDS };
}

export async function run(reader: StatusReader, kind: string, target: string, runId: string, limits: ViewLimits) {
  const found = await reader.runs.get(kind, target, runId, limits.pageSize);
  if (!found) throw new NotFound(`no run ${runId} of ${kind} ${target} in the audit trail`);
  return found;
}

export interface ProblemsData {
  since: Date;
  filter: Echo;
  quarantined: ProblemList;
  deadLetters: ProblemList;
}

export async function problems(reader: StatusReader, params: Params, now: Date, limits: ViewLimits): Promise<ProblemsData> {
  const since = moment(params, 'since', '7d', now)!;
  const qToken = params.get('qcursor');
  const qCursor = qToken ? decodeCursor(qToken) : undefined;
  if (qToken && !qCursor) throw new BadRequest('qcursor is not one this page made; start again from the first page');
  const dlAfter = text(params, 'dlafter');
  const [quarantined, deadLetters] = await Promise.all([reader.problems.quarantined(since, limits.maxProblems, qCursor), reader.problems.deadLetters(limits.maxProblems, dlAfter)]);
  return { since, filter: echo(params, ['since']), quarantined, deadLetters };
}
