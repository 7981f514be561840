import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { encodeMessage, InvalidMessageError, PublishError, PubSubPublisher, unstorable } from '../../../functions/ingest/publisher.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { emulator, PROJECT_ID } from '../../support/global-hooks.js';
import { EmulatorPubSub } from '../../support/pubsub-emulator.js';
import { syncEvent, TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

const isSyncEvent = validator<SyncEvent>('sync-event.v1');

describe('PubSubPublisher isolation (Pub/Sub emulator)', function () {
  this.timeout(60_000);
  let pubsub: EmulatorPubSub;
  let topic: string;
  let subscription: string;

  before(async function () {
    pubsub = new EmulatorPubSub(await emulator('pubsub', this), PROJECT_ID);
    topic = await pubsub.createTopic();
    subscription = await pubsub.createPullSubscription(topic);
    process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
  });
  after(() => {
    delete process.env.PUBSUB_EMULATOR_HOST;
  });

  const message = (event: SyncEvent) => encodeMessage(event, Buffer.from(TEST_SIGNING_KEY));

  it('knows Pub/Sub\'s limits', () => {
    const ok = message(syncEvent());
    assert.equal(unstorable(ok), undefined);
    assert.match(unstorable({ ...ok, attributes: { a: 'x'.repeat(1025) } }) ?? '', /over 1024 bytes/);
    assert.match(unstorable({ ...ok, attributes: { ['k'.repeat(257)]: 'v' } }) ?? '', /key/);
    assert.match(unstorable({ ...ok, attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v'])) }) ?? '', /101 attributes/);
    assert.match(unstorable(message(syncEvent({ payload: { big: 'x'.repeat(10_000_001) } }))) ?? '', /over 10000000/);
  });

  it('a message Pub/Sub refuses fails alone: the messages batched with it are still stored', async () => {
    const publisher = new PubSubPublisher(topic, 5000, PROJECT_ID);
    const good = [1, 2, 3].map((n) => syncEvent({ id: `${n}`.repeat(32) }));
    const bad = syncEvent({ id: 'b'.repeat(32) });
    // Bypasses attributesOf's sanitising, as a bug or a future field might: a lone surrogate is not UTF-8.
    const invalid = message(bad);
    invalid.attributes.connectorId = '\ud800';
    const results = await Promise.allSettled([message(good[0]!), invalid, message(good[1]!), message(good[2]!)].map((m) => publisher.publish(m)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.ok((results[1] as PromiseRejectedResult).reason instanceof InvalidMessageError, 'refused before it is sent, never a hang');
    const stored = await pubsub.pullAtLeast(subscription, 3);
    assert.deepEqual(stored.map((m) => (JSON.parse(m.data) as SyncEvent).id).sort(), good.map((e) => e.id).sort());
    for (const m of stored) assert.ok(isSyncEvent(JSON.parse(m.data)));
  });
});

describe('PubSubPublisher deadline', function () {
  this.timeout(30_000);

  it('rejects with PublishError (the handler answers 503) when Pub/Sub accepts the connection but never answers', async () => {
    // A server that takes the TCP connection and stays silent: the worst case, a hang.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const timeoutMs = 500;
      const publisher = new PubSubPublisher('silent-topic', timeoutMs, PROJECT_ID);
      const started = Date.now();
      await assert.rejects(publisher.publish(encodeMessage(syncEvent(), Buffer.from(TEST_SIGNING_KEY))), PublishError);
      // Bounded by the deadline, not by the client's own retries (generous: a busy CI machine).
      assert.ok(Date.now() - started < timeoutMs + 5000, `rejected after ${Date.now() - started} ms`);
    } finally {
      if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
      else process.env.PUBSUB_EMULATOR_HOST = saved;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
