import { FieldPath, type Firestore } from '@google-cloud/firestore';
import { FINAL_ALERT_ACTION_ID } from '../processor/store/event-store.js';
import { toEventView, type AuditTrail, type EventView } from './audit-trail.js';
import { encodeCursor, type EventCursor } from './event-query.js';
import type { QueryLog } from './query-shape.js';

// Quarantined events and dead letters, grouped by problem, from the audit trail alone (the
// page changes nothing: pulling the dead-letter subscription to look would hold its
// messages from a `postload replay` running at the same time).
// - Quarantined: type `quarantined` (ingest could not interpret an authenticated payload),
//   grouped by source, vendor event and problem code.
// - Dead letters: records still `retrying` that carry the final alert, which the processor
//   plans only on the delivery that reaches max_delivery_attempts (after it Pub/Sub moves
//   the message to the dead-letter topic); grouped by their last error, with the numbers
//   and ids in it blanked so that "dbt Cloud answered 503 for run 7001" and "… run 7002"
//   are one problem.

export interface ProblemGroup {
  /** What the events have in common, in words: the newest one's text. */
  problem: string;
  /** What they were grouped by. */
  key: string;
  count: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
  /** The connectors involved (name or id), at most 10. */
  connectors: string[];
  /** The newest events of the group, at most 10. */
  events: EventView[];
  /** Commands to copy: what an operator runs about this group. */
  commands: string[];
}

export interface ProblemList {
  groups: ProblemGroup[];
  /** Records read. */
  read: number;
  /** More records matched than were read: the groups cover these `read`, and `next` reads on. */
  more: boolean;
  /** Where the next page starts: an event cursor (quarantined) or a document id (dead letters). */
  next: string | null;
}

const SAMPLE = 10;

/** The dead-letter predicate as Firestore equality filters (single-field indexes, merged: no composite index). */
export const DEAD_LETTER_FILTERS = [
  { field: 'status', value: 'retrying' },
  { field: new FieldPath('actions', FINAL_ALERT_ACTION_ID, 'kind'), label: `actions.${FINAL_ALERT_ACTION_ID}.kind`, value: 'alert' },
] as const;

/**
 * A problem text with what differs between instances of one problem blanked: hex ids,
 * UUIDs, times and long numbers (run and message ids). Short numbers stay: a job id, an
 * HTTP status tell problems apart.
 */
export function problemKey(text: string): string {
  return text
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '…')
    .replace(/\b[0-9a-f]{16,}\b/gi, '…')
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?/g, '…')
    .replace(/\d{5,}/g, '#')
    .slice(0, 300);
}

export function groupProblems(events: EventView[], keyOf: (e: EventView) => string, commandsOf: (group: EventView[]) => string[], headlineOf: (e: EventView) => string | null = () => null): ProblemGroup[] {
  const groups = new Map<string, EventView[]>();
  for (const event of events) {
    const key = keyOf(event);
    groups.set(key, [...(groups.get(key) ?? []), event]);
  }
  return [...groups.entries()]
    .map(([key, members]) => {
      const times = members.map((e) => e.occurredAt ?? e.receivedAt).filter((d): d is Date => d !== null).map((d) => d.getTime());
      const newest = [...members].sort((a, b) => (b.occurredAt?.getTime() ?? 0) - (a.occurredAt?.getTime() ?? 0));
      return {
        problem: headlineOf(newest[0]!) ?? key,
        key,
        count: members.length,
        firstSeen: times.length ? new Date(Math.min(...times)) : null,
        lastSeen: times.length ? new Date(Math.max(...times)) : null,
        connectors: [...new Set(members.map((e) => e.connectorName ?? e.connectorId ?? '—'))].slice(0, SAMPLE),
        events: newest.slice(0, SAMPLE),
        commands: commandsOf(newest),
      };
    })
    .sort((a, b) => b.count - a.count || (b.lastSeen?.getTime() ?? 0) - (a.lastSeen?.getTime() ?? 0));
}

/** A quarantined event's problem: who sent what, and the first problem code. */
export function quarantineKey(event: EventView): string {
  const first = event.notUnderstood[0] ?? 'not understood';
  const code = first.split(/[ :]/)[0] ?? first;
  return `${event.source} ${event.vendorEvent || '(no event name)'}: ${code}`;
}

export function deadLetterKey(event: EventView): string {
  return event.lastError ? problemKey(event.lastError) : 'no error recorded';
}

export class ProblemReader {
  constructor(
    private readonly db: Firestore,
    private readonly audit: string,
    private readonly trail: AuditTrail,
    private readonly log?: QueryLog,
  ) {}

  /** Quarantined events since `since`, `limit` at a time (newest first, after `cursor`), grouped. Nothing to replay: a replay would be quarantined the same way. */
  async quarantined(since: Date, limit: number, cursor?: EventCursor): Promise<ProblemList> {
    const page = await this.trail.page({ type: 'quarantined', since, limit }, cursor, limit + 1);
    const groups = groupProblems(page.events, quarantineKey, (members) => [`npx postload event ${members[0]!.eventId}`, `npx postload events --type quarantined --source ${members[0]!.source} --since 7d`]);
    return { groups, read: page.events.length, more: page.next !== null, next: page.next ? encodeCursor(page.next) : null };
  }

  /** Dead letters, `limit` at a time in document order (after the document id `after`), grouped by their last error. */
  async deadLetters(limit: number, after?: string): Promise<ProblemList> {
    this.log?.record({ collection: 'audit', equalities: DEAD_LETTER_FILTERS.map((f) => ('label' in f ? f.label : f.field)) });
    let query = this.db.collection(this.audit).where(DEAD_LETTER_FILTERS[0].field, '==', DEAD_LETTER_FILTERS[0].value);
    query = query.where(DEAD_LETTER_FILTERS[1].field, '==', DEAD_LETTER_FILTERS[1].value).orderBy(FieldPath.documentId());
    if (after) query = query.startAfter(after);
    const snapshot = await query.limit(limit + 1).get();
    const docs = snapshot.docs.slice(0, limit);
    const events = docs.map((d) => toEventView(d.id, d.data()));
    const groups = groupProblems(
      events,
      deadLetterKey,
      (members) => [...members.slice(0, 3).map((e) => `npx postload replay --event ${e.eventId}`), 'npx postload replay --dry-run'],
      (e) => e.lastError,
    );
    const more = snapshot.size > limit;
    return { groups, read: events.length, more, next: more ? docs.at(-1)!.id : null };
  }
}
