import type { EventView } from './audit-trail.js';
import type { QueryShape } from './query-shape.js';

// Which events a list shows, as a query the CLI's `events` and the status page's feed share:
// the filters, the one of them Firestore applies (the others are applied to the records
// read, so no combination needs an index of its own), and a cursor that keeps paging stable
// while new events arrive.

export interface EventFilter {
  source?: string;
  /** A connector id (Fivetran connector, Airbyte connection, dbt Cloud job). */
  connector?: string;
  type?: string;
  /** The sync's status (succeeded, failed, ...), as the message attribute `status`. */
  status?: string;
  /** The processor's outcome. */
  outcome?: string;
  /** Events that occurred at or after this. */
  since: Date;
  /** Events that occurred before this (default: no end). */
  until?: Date;
  /** Case-insensitive text anywhere in the event id, connector, sync id, vendor event, type, the vendor's error or the last error. */
  text?: string;
  limit: number;
}

/**
 * Where a page ended: the last event shown, by its time and id. The next page starts after
 * it in (occurredAt desc, id desc) order, so events arriving meanwhile (newer) never shift
 * it, and no event is shown twice or skipped.
 */
export interface EventCursor {
  occurredAtMs: number;
  id: string;
}

/** The audit record fields each filter is stored in (processor/store/event-record.ts, event-store.ts). */
export const FILTER_FIELDS = { connector: 'connectorId', type: 'type', status: 'syncStatus', source: 'source', outcome: 'status' } as const;
type Filterable = keyof typeof FILTER_FIELDS;

/**
 * The one filter Firestore applies with its equality index: the most selective that is
 * given. One only, so each needs one composite index (field, occurredAt desc), declared in
 * terraform/firestore.tf, instead of one per combination.
 */
const PUSHDOWN_ORDER: readonly Filterable[] = ['connector', 'type', 'status', 'source', 'outcome'];

export function pushedDown(filter: Pick<EventFilter, Filterable>): Filterable | undefined {
  return PUSHDOWN_ORDER.find((key) => filter[key] !== undefined && filter[key] !== '');
}

export function eventQueryShape(filter: Pick<EventFilter, Filterable>, count = false): QueryShape {
  const key = pushedDown(filter);
  return { collection: 'audit', equalities: key ? [FILTER_FIELDS[key]] : [], orderBy: { field: 'occurredAt', direction: 'desc' }, ...(count ? { count } : {}) };
}

/** Whether a record read matches every filter (the pushed-down one included: it costs nothing to check again). */
export function matchesFilter(view: EventView, filter: EventFilter): boolean {
  const at = view.occurredAt?.getTime();
  return (
    (!filter.source || view.source === filter.source) &&
    (!filter.connector || view.connectorId === filter.connector) &&
    (!filter.type || view.type === filter.type) &&
    (!filter.status || view.syncStatus === filter.status) &&
    (!filter.outcome || view.outcome === filter.outcome) &&
    (at === undefined || (at >= filter.since.getTime() && (!filter.until || at < filter.until.getTime()))) &&
    (!filter.text || textMatches(view, filter.text))
  );
}

function textMatches(view: EventView, text: string): boolean {
  const needle = text.toLowerCase();
  const haystack = [view.eventId, view.connectorId, view.connectorName, view.syncId, view.vendorEvent, view.type, view.syncError, view.lastError, ...view.notUnderstood];
  return haystack.some((value) => typeof value === 'string' && value.toLowerCase().includes(needle));
}

/** The cursor as a URL-safe token. */
export function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify([cursor.occurredAtMs, cursor.id]), 'utf8').toString('base64url');
}

/** The cursor a token names, or undefined when it is not one (a hand-edited URL). */
export function decodeCursor(token: string): EventCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(token)) return undefined;
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [ms, id] = value as [unknown, unknown];
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || typeof id !== 'string' || id === '' || id.length > 1_500) return undefined;
    return { occurredAtMs: ms, id };
  } catch {
    return undefined;
  }
}

export function cursorOf(view: EventView): EventCursor | undefined {
  return view.occurredAt ? { occurredAtMs: view.occurredAt.getTime(), id: view.eventId } : undefined;
}

/** One page of a list: the events, where the next page starts (null: nothing older), and how far the read went. */
export interface EventPage {
  events: EventView[];
  next: EventCursor | null;
  /** Records read for this page. */
  scanned: number;
  /**
   * The read stopped at its bound before filling the page: the filters applied to the
   * records read (text, the filters not pushed down) matched too few of them. `next`
   * continues the search from the oldest record read.
   */
  partial: boolean;
  /** The time of the oldest record read, when any was. */
  scannedTo: Date | null;
}
