import { Timestamp } from '@google-cloud/firestore';
import type { SyncEvent } from '../../shared/sync-event.js';
import { cutStrings, cutText } from './document-size.js';

/** Each text of the normalised event is kept up to this many bytes in the audit record. */
export const MAX_EVENT_TEXT_BYTES = 8_000;
/** The vendor payload is kept as JSON text up to this many bytes (the full payload stays in Pub/Sub). */
export const MAX_PAYLOAD_BYTES = 256_000;
/** A quarantined event's problems kept in the record, each text cut to this many bytes. */
const MAX_PROBLEMS = 10;
const MAX_PROBLEM_TEXT_BYTES = 1_000;

/**
 * The audit document's fields on an event's first delivery. Vendor texts are cut to a
 * byte size here, so that the record with its actions stays far under Firestore's 1 MiB
 * whatever the sender wrote (a 450 KB failure reason included): the event is stored once
 * (normalised, texts cut) and the payload once (as JSON text, cut; a body a quarantined
 * event could not structure as text, cut alike).
 */
export function initialEventRecord(event: SyncEvent, routes: string[]): Record<string, unknown> {
  const { payload, quarantine, ...rest } = event;
  const payloadJson = JSON.stringify(payload);
  const payloadCut = cutText(payloadJson, MAX_PAYLOAD_BYTES);
  const unread = quarantine ? quarantineFields(quarantine) : undefined;
  const normalised = { ...rest, ...(quarantine === undefined ? {} : { quarantine: unread?.event ?? quarantine }) };
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
    payloadTruncated: payloadCut !== payloadJson || unread?.truncated === true,
    ...unread?.record,
    routes,
  };
}

/**
 * A quarantined event's problems (at most ten, as ingest sends them) at the top of the
 * record, and the body it could not structure kept like the payload: as text (and, when
 * it is not UTF-8, base64), each cut to MAX_PAYLOAD_BYTES rather than the 8 KB of a
 * normalised text, since it is the only copy of what the sender wrote.
 */
function quarantineFields(quarantine: NonNullable<SyncEvent['quarantine']>) {
  const { payloadText, payloadBase64, ...rest } = quarantine;
  const problems = cutStrings(rest.problems.slice(0, MAX_PROBLEMS), MAX_PROBLEM_TEXT_BYTES);
  const text = payloadText == null ? null : cutText(payloadText, MAX_PAYLOAD_BYTES);
  const base64 = payloadBase64 === undefined ? undefined : cutText(payloadBase64, MAX_PAYLOAD_BYTES);
  return {
    event: { ...rest, problems },
    record: { problems, payloadText: text, ...(base64 === undefined ? {} : { payloadBase64: base64 }) },
    truncated: text !== (payloadText ?? null) || base64 !== payloadBase64,
  };
}

function timestampOf(iso: string): Timestamp | null {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : Timestamp.fromMillis(ms);
}
