import { Timestamp } from '@google-cloud/firestore';
import type { QuarantineAlertKey } from '../planning/quarantine-alerts.js';
import { cutText } from './document-size.js';
import { quarantineAlertDocId } from './document-ids.js';
import type { BeginRequest, Begun } from './event-store.js';

/** One document per (day, source, vendor event, problem code) that has been alerted. */
export const QUARANTINE_ALERTS_COLLECTION = 'quarantineAlerts';

// Long enough that a replay of the day's events within Pub/Sub's 7-day retention (or from
// the dead-letter topic soon after) is still recognised; Terraform's TTL policy deletes it then.
const KEEP_MS = 8 * 86_400_000;

type AlsoDocument = NonNullable<BeginRequest['also']>[number];

/**
 * The day documents of an event's keys, for `EventStore.begin({ also })`: read with the
 * audit record and created in the same commit as the claims when they do not exist yet
 * (never rewritten after), so that of two events with the same problem on the same day
 * exactly one creates the document and alerts, without an extra round trip.
 */
export function quarantineAlertDocuments(keys: QuarantineAlertKey[], eventId: string, nowMs: number): AlsoDocument[] {
  return keys.map((key) => ({
    collection: QUARANTINE_ALERTS_COLLECTION,
    docId: quarantineAlertDocId(key.day, key.source, key.vendorEvent, key.code),
    update: (existing) =>
      existing
        ? undefined
        : {
            day: key.day,
            source: key.source,
            vendorEvent: cutText(key.vendorEvent, 1_000),
            code: cutText(key.code, 1_000),
            eventId,
            createdAt: Timestamp.fromMillis(nowMs),
            expireAt: Timestamp.fromMillis(nowMs + KEEP_MS),
          },
  }));
}

/** The event id a key's day document names, as this delivery left it. */
export function alertedBy(begun: Pick<Begun, 'also'>, key: QuarantineAlertKey): string | undefined {
  const stored = begun.also.get(`${QUARANTINE_ALERTS_COLLECTION}/${quarantineAlertDocId(key.day, key.source, key.vendorEvent, key.code)}`);
  return typeof stored?.eventId === 'string' ? stored.eventId : undefined;
}
