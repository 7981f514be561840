import assert from 'node:assert/strict';
import fc from 'fast-check';
import { interpret } from '../../../../functions/ingest/interpret.js';
import { quarantinedEvent } from '../../../../functions/ingest/quarantine.js';
import { documentSize, MAX_DOCUMENT_BYTES } from '../../../../functions/processor/store/document-size.js';
import { initialEventRecord, MAX_PAYLOAD_BYTES } from '../../../../functions/processor/store/event-record.js';
import { decodeSyncEvent, encodeSyncEvent } from '../../../../functions/shared/sync-event.js';

// A generous stand-in for what the actions add to the record (ten actions with ten errors of 1 KB each).
const ACTIONS_BYTES = 10 * 10 * 1_100;

describe('processor/store/event-record: quarantined events', () => {
  it('says quarantined, with the problems at the top and the body it could not structure as text', () => {
    const event = interpret('fivetran', Buffer.from('{"event": "sync_end", '), new Date('2026-11-29T12:00:00Z'));
    const record = initialEventRecord(event, ['(default)']);
    assert.equal(record.type, 'quarantined');
    assert.equal(record.vendorEvent, 'unknown');
    assert.deepEqual((record.problems as Array<{ code: string }>).map((p) => p.code), ['invalid_json']);
    assert.equal(record.payloadText, '{"event": "sync_end", ');
    assert.equal(record.payloadTruncated, false);
    const normalised = record.event as { quarantine: Record<string, unknown> };
    assert.deepEqual(Object.keys(normalised.quarantine), ['problems'], 'the body is kept once, not in the normalised event too');
  });

  it('a body that is not UTF-8 keeps its exact bytes in base64', () => {
    const raw = Buffer.from([0x7b, 0xff, 0x7d]);
    const record = initialEventRecord(interpret('airbyte', raw, new Date()), []);
    assert.equal(Buffer.from(record.payloadBase64 as string, 'base64').toString('hex'), raw.toString('hex'));
  });

  it('other events have no quarantine fields', () => {
    const event = interpret('fivetran', Buffer.from(JSON.stringify({ event: 'sync_start', created: '2026-11-29T12:00:00Z', connector_type: 'pg', connector_id: 'c', destination_group_id: 'g', sync_id: 's', data: {} })), new Date());
    const record = initialEventRecord(event, []);
    assert.equal(event.type, 'sync.started');
    assert.ok(!('problems' in record) && !('payloadText' in record));
  });

  it('property: whatever the sender wrote (far over every budget), the record is cut to fit 1 MiB, keeping the start of the body', () => {
    const big = (max: number) => fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max })).map(([s, n]) => s.repeat(n));
    fc.assert(
      fc.property(big(500_000), big(300_000), fc.array(fc.record({ code: big(2_000), message: big(2_000), pointer: fc.option(big(20_000)) }), { maxLength: 30 }), (text, base64, problems) => {
        const event = quarantinedEvent({ source: 'fivetran', raw: Buffer.from('x'), problems: [], receivedAt: new Date() });
        // As a hand-made message could carry it: more problems and longer texts than ingest sends.
        event.quarantine = { problems, payloadText: text, ...(base64 ? { payloadBase64: base64 } : {}) };
        const stored = decodeSyncEvent(encodeSyncEvent(event));
        const record = initialEventRecord(stored, ['(default)']);
        assert.ok(documentSize(`syncEvents/${event.id}`, record) + ACTIONS_BYTES <= MAX_DOCUMENT_BYTES);
        const kept = record.payloadText as string;
        assert.ok(Buffer.byteLength(kept, 'utf8') <= MAX_PAYLOAD_BYTES);
        assert.equal(record.payloadTruncated, kept !== text || record.payloadBase64 !== (base64 || undefined));
        assert.ok(text.startsWith(kept.endsWith('…') && kept !== text ? kept.slice(0, -1) : kept));
        assert.ok((record.problems as unknown[]).length <= 10);
      }),
      { seed: 21, numRuns: 20 },
    );
  });
});
