import { AuditTrail, type EventFilter, type EventView } from '../read-model/audit-trail.js';
import { lookUpConnector } from '../read-model/connectors.js';
import type { CloudContext } from './context.js';
import { CliError, EXIT, explainGoogleError, type ExitCode } from './errors.js';
import { resolveEventId } from './event-ids.js';
import { closest } from '../shared/closest.js';
import { terminalSafe, type Output } from './output.js';
import { momentOf } from '../read-model/time.js';
import { actionSummary, timelineOf } from '../read-model/timeline.js';

/** `postload event ID`: one event's whole story as a timeline. ID may be a unique prefix of at least 8 characters. */
export async function showEvent(given: string, context: CloudContext, out: Output): Promise<ExitCode> {
  const project = await context.project();
  const trail = new AuditTrail(await context.firestore(), context.auditCollection);
  const explain = (error: unknown) => {
    throw explainGoogleError(error, `reading ${context.auditCollection}/${given} from Firestore`, project);
  };
  const eventId = (await resolveEventId(trail, given).catch(explain)) ?? given;
  const view = await trail.get(eventId).catch(explain);
  if (!view) {
    throw new CliError(
      `no audit record for event ${eventId} in ${context.auditCollection} (project ${project})`,
      'check the id (the ingest answer and `postload events` print it), --project, and AUDIT_COLLECTION; an event the processor has not received yet has no record',
      EXIT.failed,
    );
  }
  if (out.json) out.data({ event: view, timeline: timelineOf(view) });
  else renderTimeline(view, out);
  return EXIT.ok;
}

export function renderTimeline(raw: EventView, out: Output): void {
  // Every string of the record is the vendor's or the processor's: made visible before it is coloured.
  const view = terminalSafe(raw);
  const outcome = view.outcome === 'processed' ? out.colour('green', view.outcome) : out.colour(view.outcome === 'failed' ? 'red' : 'yellow', view.outcome);
  out.line(`${out.colour('bold', `event ${view.eventId}`)}  ${view.source} ${view.type}  connector ${connectorLabel(view)}  ${outcome}, ${plural(view.deliveries, 'delivery', 'deliveries')}`);
  for (const entry of timelineOf(view)) {
    const mark = entry.level === 'ok' ? out.colour('green', '✔') : entry.level === 'error' ? out.colour('red', '✖') : out.colour('dim', '·');
    out.line(`  ${entry.at ? entry.at.toISOString() : '                        '}  ${mark} ${entry.what}`);
  }
}

/** `postload events`: the sync history, newest first. */
export async function listEvents(filter: EventFilter, context: CloudContext, out: Output): Promise<ExitCode> {
  const project = await context.project();
  const trail = new AuditTrail(await context.firestore(), context.auditCollection);
  const explain = (error: unknown): never => {
    throw explainGoogleError(error, `querying ${context.auditCollection} in Firestore`, project);
  };
  let views = await trail.list(filter).catch(explain);
  if (views.length === 0 && filter.connector !== undefined) {
    // Not a connector id with events in the window: perhaps its name, or no connector at all.
    const known = await lookUpConnector(await context.firestore(), context.connectorsCollection, filter.connector).catch(explain);
    const ids = [...new Set(known.named.map((c) => c.connectorId))].filter((id) => id !== filter.connector);
    if (ids.length) {
      const lists = await Promise.all(ids.map((id) => trail.list({ ...filter, connector: id }).catch(explain)));
      views = lists.flat().sort((a, b) => (b.occurredAt?.getTime() ?? 0) - (a.occurredAt?.getTime() ?? 0)).slice(0, filter.limit);
    } else if (!known.exists) {
      const suggestion = closest(filter.connector, known.sample.flatMap((c) => [c.connectorId, ...(c.connectorName ? [c.connectorName] : [])]));
      throw new CliError(
        `--connector "${filter.connector}" is no connector id or name postload has seen (project ${project}, collection ${context.connectorsCollection})`,
        `${suggestion ? `did you mean --connector ${suggestion}? ` : ''}\`postload events\` lists the connectors of recent events`,
        EXIT.failed,
      );
    }
  }
  if (out.json) {
    out.data(views);
    return EXIT.ok;
  }
  if (views.length === 0) {
    out.line(`no events since ${filter.since.toISOString()} match (project ${project}, collection ${context.auditCollection})`);
    return EXIT.ok;
  }
  renderEventTable(views, out);
  return EXIT.ok;
}

/** The `events` table: one row per event, every vendor string made visible before it is coloured. */
export function renderEventTable(views: EventView[], out: Output): void {
  out.table(
    ['occurred', 'event', 'source', 'type', 'connector', 'sync', 'outcome', 'deliveries', 'actions', 'last error'],
    views.map(terminalSafe).map((v) => [
      v.occurredAt?.toISOString().replace(/\.\d{3}Z$/, 'Z') ?? '—',
      v.eventId.slice(0, 8),
      v.source,
      v.type,
      connectorLabel(v),
      v.syncStatus ?? '—',
      v.outcome === 'processed' ? out.colour('green', v.outcome) : out.colour(v.outcome === 'failed' ? 'red' : 'yellow', v.outcome),
      String(v.deliveries),
      v.actions.map(actionSummary).join('; ') || '—',
      v.lastError ?? '',
    ]),
    // Never cut: what a reader matches on (time, id, source, type, status, outcome, count).
    new Set([0, 1, 2, 3, 5, 6, 7]),
  );
}

function connectorLabel(view: EventView): string {
  return view.connectorName && view.connectorId && view.connectorName !== view.connectorId ? `${view.connectorName} (${view.connectorId})` : (view.connectorId ?? view.connectorName ?? '—');
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "24h", "30m", "7d", "90s" or an ISO date → the moment that long ago. */
export function parseSince(value: string, now = Date.now()): Date {
  const moment = momentOf(value, now);
  if (!moment) throw new CliError(`--since "${value}" is neither a duration nor a date`, 'use e.g. --since 24h, 30m, 7d, or an ISO date such as 2026-11-20T00:00:00Z', EXIT.usage);
  return moment;
}
