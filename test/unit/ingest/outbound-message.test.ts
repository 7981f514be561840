import assert from 'node:assert/strict';
import fc from 'fast-check';
import { boundedView, CLASSIFY_PREFIX_CHARS } from '../../../functions/ingest/bounded-view.js';
import { MAX_BODY_BYTES_LIMIT } from '../../../functions/ingest/config.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../../../functions/ingest/json-depth.js';
import { outboundMessage } from '../../../functions/ingest/outbound-message.js';
import { SOURCES } from '../../../functions/ingest/sources.js';
import { validator } from '../../../functions/shared/schemas.js';
import { messageBytes, PUBSUB_MESSAGE_MAX_BYTES, storable, type SyncEvent } from '../../../functions/shared/sync-event.js';
import { TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';
import { fixtureNames, fixtureText } from '../../support/webhook-fixtures.js';

const SIGNING = { signingKey: Buffer.from(TEST_SIGNING_KEY), staleAfterMs: 48 * 3_600_000 };

const isSyncEvent = validator<SyncEvent>('sync-event.v1');
const receivedAt = new Date('2026-11-29T12:00:00.000Z');
const RUNS = { seed: 8, numRuns: 300 };

describe('making a message storable', () => {
  it('property: attribute values are well-formed UTF-8, within the byte limit, and a prefix of the value', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom('\ud800', '\udc00', '😀', 'é', 'a'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 1500 }), fc.integer({ min: 1, max: 1024 }), (value, max) => {
        const result = storable(value, max);
        assert.ok(Buffer.byteLength(result) <= max);
        assert.equal(Buffer.from(result, 'utf8').toString('utf8'), result, 'round-trips, so no lone surrogate');
        const wellFormed = value.replace(/\p{Cs}/gu, '\ufffd');
        assert.ok(wellFormed.startsWith(result), 'cut, never rewritten');
        if (Buffer.byteLength(wellFormed) <= max) assert.equal(result, wellFormed, 'short values are kept whole');
      }),
      RUNS,
    );
  });

  it('encodes each event into a buffer of its own, not a slice of the shared pool a long-lived message would pin', () => {
    for (const name of fixtureNames('fivetran').slice(0, 3)) {
      const { data, event } = outboundMessage('fivetran', Buffer.from(fixtureText('fivetran', name)), receivedAt, SIGNING);
      assert.equal(data.byteOffset, 0);
      assert.equal(data.buffer.byteLength, data.length);
      assert.deepEqual(JSON.parse(data.toString('utf8')), JSON.parse(JSON.stringify(event)));
    }
  });

  it('never cuts a character in half', () => {
    assert.equal(storable('ab😀', 5), 'ab', 'the 4-byte emoji would not fit whole');
    assert.equal(storable('éé', 3), 'é');
  });

  describe('nesting depth, counted without recursion', () => {
    for (const [text, depth] of [
      ['{}', 1],
      ['[[[]]]', 3],
      ['{"a":"[[[[","b":[1,{"c":[]}]}', 4],
      ['"\\"[["', 0],
      ['['.repeat(100_000), 100_000],
      ['not json at all', 0],
    ] as const) {
      it(`${text.slice(0, 30)} → ${depth}`, () => assert.equal(jsonDepth(Buffer.from(text)), depth));
    }

    it('property: agrees with a recursive count on any JSON value', () => {
      const depthOf = (value: unknown): number =>
        typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
      fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => assert.equal(jsonDepth(Buffer.from(JSON.stringify(value))), depthOf(value))), RUNS);
    });
  });

  describe('the largest accepted body always fits one Pub/Sub message', () => {
    const worstCases: Array<[string, Buffer]> = [
      ['control characters (six bytes each once escaped)', Buffer.alloc(MAX_BODY_BYTES_LIMIT, 0x01)],
      ['invalid UTF-8 (replacement characters plus base64)', Buffer.alloc(MAX_BODY_BYTES_LIMIT, 0xff)],
      ['half control characters, half invalid bytes', Buffer.concat([Buffer.alloc(MAX_BODY_BYTES_LIMIT / 2, 0x01), Buffer.alloc(MAX_BODY_BYTES_LIMIT / 2, 0xfe)])],
      ['numbers that grow when re-serialised (1e20 → 21 digits)', Buffer.from(`{"event":"x","n":[${Array(Math.floor(MAX_BODY_BYTES_LIMIT / 5)).fill('1e20').join(',')}]}`.slice(0, MAX_BODY_BYTES_LIMIT - 3) + ']}')],
      ['a Fivetran failure whose reason is copied into the event', Buffer.from(JSON.stringify({ event: 'sync_end', created: '2026-05-22T00:06:08.638Z', connector_id: 'c', data: { status: 'FAILURE', reason: '"'.repeat((MAX_BODY_BYTES_LIMIT - 200) / 2) } }))],
    ];
    for (const [name, raw] of worstCases) {
      it(name, () => {
        assert.ok(raw.length <= MAX_BODY_BYTES_LIMIT, `${raw.length}`);
        const message = outboundMessage('fivetran', raw, receivedAt, SIGNING);
        assert.ok(messageBytes(message.data, message.attributes) <= PUBSUB_MESSAGE_MAX_BYTES);
        assert.ok(isSyncEvent(JSON.parse(message.data.toString('utf8'))), JSON.stringify(isSyncEvent.errors?.slice(0, 3)));
      });
    }

    it('a body that is not valid UTF-8 is kept exactly, in base64', () => {
      const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      const { event } = outboundMessage('airbyte', raw, receivedAt, SIGNING);
      assert.equal(event.type, 'quarantined');
      assert.equal(event.quarantine?.problems[0]?.code, 'invalid_json');
      assert.deepEqual(Buffer.from(event.quarantine!.payloadBase64!, 'base64'), raw);
    });

    it(`a body nested deeper than ${MAX_JSON_DEPTH} is quarantined as text`, () => {
      const raw = Buffer.from(`{"event":"sync_end","x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`);
      const { event } = outboundMessage('fivetran', raw, receivedAt, SIGNING);
      assert.deepEqual([event.type, event.quarantine?.problems[0]?.code, event.quarantine?.payloadText, event.payload], ['quarantined', 'too_deep', raw.toString(), {}]);
    });

    it('the same body quarantined twice gets the same id', () => {
      const raw = Buffer.from('{"nope"');
      assert.equal(outboundMessage('fivetran', raw, receivedAt, SIGNING).event.id, outboundMessage('fivetran', raw, new Date(), SIGNING).event.id);
    });
  });
});

describe('what the normalisers see', () => {
  it('a bounded prefix of every string; the event keeps the payload whole', () => {
    const text = `Your connection 'orders' failed. ${'schema '.repeat(50_000)}`;
    const raw = Buffer.from(JSON.stringify({ text, blocks: [{ text: { text: 'x'.repeat(40_000) } }] }));
    const { event } = outboundMessage('airbyte', raw, receivedAt, SIGNING);
    assert.equal((event.payload as { text: string }).text, text, 'payload exactly as received');
    assert.ok((event.summary ?? '').length <= CLASSIFY_PREFIX_CHARS + 80);
    const long = 'y'.repeat(CLASSIFY_PREFIX_CHARS);
    const [a, b] = [boundedView(`${long}tail-a`), boundedView(`${long}tail-b`)] as string[];
    assert.ok(a!.startsWith(long) && a!.length < CLASSIFY_PREFIX_CHARS + 80, 'a bounded prefix');
    assert.notEqual(a, b, 'texts that differ past the prefix stay distinct (ids hashed from text)');
    assert.deepEqual(boundedView({ a: ['short'], n: 1, z: null }), { a: ['short'], n: 1, z: null });
    const proto = boundedView(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.deepEqual(Object.keys(proto), ['__proto__']);
  });

  // A body of at most CLASSIFY_PREFIX_CHARS bytes is normalised from the parsed payload itself,
  // without the bounded copy: the copy must change nothing for it, and no normaliser may
  // change what it reads (the same object is the event's payload).
  for (const source of ['fivetran', 'airbyte', 'dbt-cloud'] as const) {
    it(`${source}: every fixture normalises the same from the bounded copy and from the payload itself, which stays as received`, () => {
      for (const name of fixtureNames(source)) {
        const text = fixtureText(source, name);
        assert.ok(Buffer.byteLength(text) <= CLASSIFY_PREFIX_CHARS, `${name} is small enough to skip the copy`);
        const parsed = JSON.parse(text) as unknown;
        let fromCopy: unknown;
        try {
          fromCopy = SOURCES[source].normalise(boundedView(parsed), receivedAt);
        } catch (error) {
          fromCopy = (error as Error).message;
        }
        let fromItself: unknown;
        try {
          fromItself = SOURCES[source].normalise(parsed, receivedAt);
        } catch (error) {
          fromItself = (error as Error).message;
        }
        assert.deepEqual(fromItself, fromCopy, name);
        assert.deepEqual(parsed, JSON.parse(text), `${name}: the payload is unchanged`);
        assert.deepEqual(outboundMessage(source, Buffer.from(text), receivedAt, SIGNING).event.payload, JSON.parse(text), name);
      }
    });
  }
});
