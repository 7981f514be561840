import { createHash } from 'node:crypto';
import { SCHEMA_VERSION, type SyncEvent } from '../shared/sync-event.js';
import { eventId } from './event-id.js';

export type QuarantineProblem = NonNullable<SyncEvent['quarantine']>['problems'][number];

const MAX_PROBLEMS = 10;
const MAX_MESSAGE_CHARS = 500;
const MAX_VENDOR_EVENT_CHARS = 256;

export interface Unreadable {
  source: SyncEvent['source'];
  /** The exact body bytes that were authenticated. */
  raw: Buffer;
  /** The parsed body, when it parsed; kept as `payload` when it is a JSON object. */
  parsed?: unknown;
  /** The vendor's event name when the body names one. */
  vendorEvent?: unknown;
  problems: QuarantineProblem[];
  receivedAt: Date;
}

/**
 * An authenticated body postload could not interpret, as a SyncEvent of type
 * `quarantined`: published like any other so nothing is lost and the sender gets its 2xx
 * (a refused Fivetran delivery is retried for a day, then the webhook is deactivated).
 * The id hashes the exact bytes, so a re-sent body deduplicates.
 */
export function quarantinedEvent({ source, raw, parsed, vendorEvent, problems, receivedAt }: Unreadable): SyncEvent {
  const structured = isObject(parsed);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(raw);
  const validUtf8 = Buffer.from(text, 'utf8').equals(raw);
  const name = typeof vendorEvent === 'string' && vendorEvent !== '' ? vendorEvent.slice(0, MAX_VENDOR_EVENT_CHARS) : 'unknown';
  const kept = problems.slice(0, MAX_PROBLEMS).map((p) => ({ ...p, message: p.message.slice(0, MAX_MESSAGE_CHARS) }));
  const at = receivedAt.toISOString();
  return {
    schemaVersion: SCHEMA_VERSION,
    id: eventId(['quarantined', source, createHash('sha256').update(raw).digest('hex')]),
    source,
    type: 'quarantined',
    vendorEvent: name,
    occurredAt: at,
    receivedAt: at,
    connector: { id: null, name: null, type: null },
    destination: { id: null, name: null },
    sync: { id: null, status: null, vendorStatus: null, startedAt: null, finishedAt: null },
    metrics: null,
    error: null,
    quarantine: {
      problems: kept,
      payloadText: structured ? null : text,
      ...(structured || validUtf8 ? {} : { payloadBase64: raw.toString('base64') }),
    },
    summary: `postload could not interpret a ${source} webhook (${name}): ${kept[0]?.message ?? 'unknown problem'}`,
    payload: structured ? parsed : {},
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
