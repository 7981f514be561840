import type { Firestore } from '@google-cloud/firestore';
import { connectorDocId } from '../processor/store/document-ids.js';
import { describeExpectation } from '../sweep/freshness/expectation.js';
import { DurationError, formatSpan, parseFreshnessDuration } from '../sweep/freshness/duration.js';
import { setFreshnessPause } from '../sweep/freshness/pause.js';
import { fromFirestore, type FreshnessRecord } from '../sweep/freshness/record.js';
import { STATE_ORDER, type FreshnessState } from '../sweep/freshness/state-machine.js';
import type { CloudContext } from './context.js';
import { CliError, EXIT, explainGoogleError, type ExitCode } from './errors.js';
import type { Output } from './output.js';

// `postload freshness`: every watched connector's state as the sweep last judged it, what
// needs a person first; `postload freshness pause|resume`: an operator's snooze.

const STATE_COLOUR: Record<FreshnessState, 'red' | 'yellow' | 'green' | 'dim'> = { failing: 'red', overdue: 'red', late: 'yellow', unknown: 'dim', paused: 'dim', fresh: 'green' };

export interface FreshnessRow {
  connector: string;
  source: string;
  connectorId: string;
  connectorName: string | null;
  state: FreshnessState;
  since: string;
  lastSuccessfulSync: string | null;
  nextExpected: string | null;
  overdueAt: string | null;
  expectation: string;
  expectationSource: string;
  expectationDetail: string;
  why: string;
  incident: { id: string; openedAt: string; reminders: number } | null;
  pausedUntil: string | null;
  evaluatedAt: string;
}

/** Rows sorted as the table shows them: failing first, then overdue, late, unknown, paused, fresh; by connector within a state. */
export function freshnessRows(records: FreshnessRecord[]): FreshnessRow[] {
  const iso = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);
  return records
    .map((r) => ({
      connector: `${r.source}:${r.connectorId}`,
      source: r.source,
      connectorId: r.connectorId,
      connectorName: r.connectorName,
      state: r.state,
      since: iso(r.since)!,
      lastSuccessfulSync: iso(r.lastSuccessAt),
      nextExpected: iso(r.expectedBy),
      overdueAt: iso(r.overdueAt),
      expectation: describeExpectation(r.expectation),
      expectationSource: r.expectation.source,
      expectationDetail: r.expectation.detail,
      why: r.why,
      incident: r.incident ? { id: r.incident.id, openedAt: iso(r.incident.openedAt)!, reminders: r.incident.reminders } : null,
      pausedUntil: iso(r.pause?.until),
      evaluatedAt: iso(r.evaluatedAt)!,
    }))
    .sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || (a.connectorName ?? a.connectorId).localeCompare(b.connectorName ?? b.connectorId));
}

export async function listFreshness(context: CloudContext, out: Output, nowMs = Date.now()): Promise<ExitCode> {
  const { db, project } = await open(context);
  const records = await readAll(db, context.freshnessCollection).catch((error: unknown) => {
    throw explainGoogleError(error, `reading ${context.freshnessCollection} from Firestore`, project);
  });
  const rows = freshnessRows(records);
  if (out.json) {
    out.data(rows);
    return EXIT.ok;
  }
  if (!rows.length) {
    out.line(`no connector is watched yet (project ${project}, collection ${context.freshnessCollection}): the sweep writes one document per connector it has seen`);
    return EXIT.ok;
  }
  const ago = (iso: string | null) => (iso ? `${iso.replace(/\.\d{3}Z$/, 'Z')} (${formatSpan(nowMs - Date.parse(iso))} ago)` : '—');
  out.table(
    ['state', 'connector', 'last successful sync', 'next expected', 'expectation', 'source'],
    rows.map((r) => [
      out.colour(STATE_COLOUR[r.state], r.state) + (r.pausedUntil ? ` until ${r.pausedUntil.replace(/\.\d{3}Z$/, 'Z')}` : ''),
      r.connectorName && r.connectorName !== r.connectorId ? `${r.source} ${r.connectorName} (${r.connectorId})` : `${r.source} ${r.connectorId}`,
      ago(r.lastSuccessfulSync),
      r.nextExpected?.replace(/\.\d{3}Z$/, 'Z') ?? '—',
      r.expectation,
      r.expectationSource === 'none' ? r.expectationDetail : `${r.expectationSource}: ${r.expectationDetail}`,
    ]),
  );
  return EXIT.ok;
}

/**
 * Snoozes one connector until now + `forText` (its state is `paused`: no alert, no
 * reminder; an open incident waits), or ends a snooze (`forText` null). The sweep takes it
 * into account at its next tick (the document is made due now).
 */
export async function pauseConnector(reference: string, forText: string | null, reason: string | undefined, context: CloudContext, out: Output, nowMs = Date.now()): Promise<ExitCode> {
  let forMs: number | null = null;
  if (forText !== null) {
    try {
      forMs = parseFreshnessDuration(forText);
    } catch (error) {
      if (error instanceof DurationError) throw new CliError(`--for ${error.message}`, 'give a duration such as 2h, 1d or 2d', EXIT.usage);
      throw error;
    }
  }
  const { db, project } = await open(context);
  const docId = await resolve(db, context.freshnessCollection, reference).catch((error: unknown) => {
    throw explainGoogleError(error, `reading ${context.freshnessCollection} from Firestore`, project);
  });
  const by = context.env.USER ?? context.env.LOGNAME ?? 'postload CLI';
  const until = forMs === null ? null : nowMs + forMs;
  const found = await setFreshnessPause(db, context.freshnessCollection, docId, until === null ? null : { until, by, reason: reason ?? null, at: nowMs });
  if (!found) throw new CliError(`no freshness document ${docId}`, undefined, EXIT.failed);
  if (out.json) out.data({ connector: docId, pausedUntil: until === null ? null : new Date(until).toISOString(), by });
  else out.line(until === null ? `${docId}: snooze ended; the next sweep judges it again` : `${docId}: paused until ${new Date(until).toISOString()} (no alert, no reminder until then; the next sweep shows it as paused)`);
  return EXIT.ok;
}

async function open(context: CloudContext): Promise<{ db: Firestore; project: string }> {
  const project = await context.project();
  return { db: await context.firestore(), project };
}

async function readAll(db: Firestore, collection: string): Promise<FreshnessRecord[]> {
  const snapshot = await db.collection(collection).get();
  return snapshot.docs.map((doc) => fromFirestore<FreshnessRecord>(doc.data())).filter((r) => typeof r.state === 'string');
}

/** `fivetran:abc` (vendor and id), or a connector id or name that names exactly one watched connector. */
async function resolve(db: Firestore, collection: string, reference: string): Promise<string> {
  const typed = /^(fivetran|airbyte):(.+)$/.exec(reference);
  if (typed) return connectorDocId(typed[1]!, typed[2]!);
  const [byId, byName] = await Promise.all([db.collection(collection).where('connectorId', '==', reference).get(), db.collection(collection).where('connectorName', '==', reference).get()]);
  const found = [...new Set([...byId.docs, ...byName.docs].map((d) => d.id))];
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new CliError(`no watched connector is called or has the id "${reference}"`, '`postload freshness` lists them; name one as fivetran:ID or airbyte:ID', EXIT.failed);
  throw new CliError(`"${reference}" names ${found.length} connectors (${found.join(', ')})`, 'name one as fivetran:ID or airbyte:ID', EXIT.usage);
}
