import { Timestamp } from '@google-cloud/firestore';
import type { SyncEvent } from '../../shared/sync-event.js';
import { cutStrings, cutText } from './document-size.js';

/** Each text of the normalised event is kept up to this many bytes in the audit record. */
export const MAX_EVENT_TEXT_BYTES = 8_000;
/** The vendor payload is kept as JSON text up to this many bytes (the full payload stays in Pub/Sub). */
export const MAX_PAYLOAD_BYTES = 256_000;

/**
 * The audit document's fields on an event's first delivery. Vendor texts are cut to a
 * byte size here, so that the record with its actions stays far under Firestore's 1 MiB
 * whatever the sender wrote (a 450 KB failure reason included): the event is stored once
 * (normalised, texts cut) and the payload once (as JSON text, cut).
 */
export function initialEventRecord(event: SyncEvent, routes: string[]): Record<string, unknown> {
  const { payload, ...normalised } = event;
  const payloadJson = JSON.stringify(payload);
  const payloadCut = cutText(payloadJson, MAX_PAYLOAD_BYTES);
  return {
    eventId: event.id,
    source: event.source,
    type: event.type,
    vendorEvent: cutText(event.vendorEvent, 1_000),
    connectorId: event.connector.id == null ? null : cutText(event.connector.id, 1_000),
    connectorName: event.connector.name == null ? null : cutText(event.connector.name, 1_000),
    destinationId: event.destination.id == null ? null : cutText(event.destination.id, 1_000),
    syncId: event.sync.id == null ? null : cutText(event.sync.id, 1_000),
    syncStatus: event.sync.status ?? null,
    occurredAt: timestampOf(event.occurredAt),
    receivedAt: timestampOf(event.receivedAt),
    event: cutStrings(normalised, MAX_EVENT_TEXT_BYTES),
    payloadJson: payloadCut,
    payloadTruncated: payloadCut !== payloadJson,
    routes,
  };
}

function timestampOf(iso: string): Timestamp | null {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : Timestamp.fromMillis(ms);
}
