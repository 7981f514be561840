// Which quarantine problems an event alerts. Pure: the store reads and creates one small
// document per key and day in the same read and commit as the event's claims; these
// functions name the keys and read the verdict. "Why was this quarantined event not
// alerted?" is answered here: another event said the same thing earlier that day.
import type { SyncEvent } from '../../shared/sync-event.js';

/** One thing postload did not understand, alerted at most once per UTC day. */
export interface QuarantineAlertKey {
  /** The UTC day the event was received (YYYY-MM-DD): fixed for its redeliveries and replays. */
  day: string;
  /** The event's source; `pubsub` for a message postload did not sign. */
  source: SyncEvent['source'] | 'pubsub';
  vendorEvent: string;
  code: string;
}

/** A quarantined event carries at most ten problems; a hand-made one is held to that many keys. */
export const MAX_ALERT_KEYS = 10;

/** The keys of a quarantined event: one per distinct problem code (none for any other type). */
export function quarantineAlertKeys(event: SyncEvent, nowMs: number): QuarantineAlertKey[] {
  if (event.type !== 'quarantined') return [];
  const day = utcDay(event.receivedAt, nowMs);
  const codes = [...new Set((event.quarantine?.problems ?? []).map((problem) => problem.code))].slice(0, MAX_ALERT_KEYS);
  return (codes.length ? codes : ['unknown']).map((code) => ({ day, source: event.source, vendorEvent: event.vendorEvent, code }));
}

/** YYYY-MM-DD of an instant in UTC; the processor's clock when the text is not a usable date. */
export function utcDay(iso: string, nowMs: number): string {
  const ms = Date.parse(iso);
  const day = Number.isNaN(ms) ? '' : new Date(ms).toISOString().slice(0, 10);
  return /^\d{4}-\d\d-\d\d$/.test(day) ? day : new Date(nowMs).toISOString().slice(0, 10);
}

/** What the day documents say: the codes this event alerts (it created their documents), and who alerted the others. */
export interface QuarantineVerdict {
  alertCodes: string[];
  alreadyAlertedBy: string[];
}

/** `alertedBy(key)` is the event id stored in the key's day document (undefined when there is none). */
export function quarantineVerdict(eventId: string, keys: QuarantineAlertKey[], alertedBy: (key: QuarantineAlertKey) => string | undefined): QuarantineVerdict {
  const alertCodes: string[] = [];
  const others = new Set<string>();
  for (const key of keys) {
    const by = alertedBy(key);
    if (by === eventId || by === undefined) alertCodes.push(key.code);
    else others.add(by);
  }
  return { alertCodes, alreadyAlertedBy: [...others] };
}
