import assert from 'node:assert/strict';
import fc from 'fast-check';
import { originalAttributes, replay, type DeadLetter, type DeadLetterQueue, type Republisher } from '../../../functions/cli/replay.js';

// An in-memory dead-letter subscription with Pub/Sub's semantics that matter here: a pulled
// message is leased until acknowledged or released; released ones come back.
class MemoryQueue implements DeadLetterQueue {
  readonly available: DeadLetter[];
  readonly leased = new Map<string, DeadLetter>();
  readonly acked: string[] = [];
  constructor(messages: DeadLetter[]) {
    this.available = [...messages];
  }
  async pull(max: number) {
    const batch = this.available.splice(0, max);
    for (const m of batch) this.leased.set(m.ackId, m);
    return batch;
  }
  async ack(ackIds: string[]) {
    for (const id of ackIds) {
      this.acked.push(id);
      this.leased.delete(id);
    }
  }
  async release(ackIds: string[]) {
    for (const id of ackIds) {
      const m = this.leased.get(id);
      if (m) this.available.push(m);
      this.leased.delete(id);
    }
  }
  /** What a crash leaves: leases expire and the messages come back. */
  expireLeases() {
    this.available.push(...this.leased.values());
    this.leased.clear();
  }
}

function deadLetter(i: number): DeadLetter {
  return {
    ackId: `ack-${i}`,
    messageId: `m-${i}`,
    data: Buffer.from(JSON.stringify({ id: `event-${i}` })),
    attributes: {
      eventId: `event-${i}`,
      type: 'sync.succeeded',
      connectorId: `c${i}`,
      CloudPubSubDeadLetterSourceDeliveryCount: '5',
      CloudPubSubDeadLetterSourceSubscription: 'sync-events-processor',
      CloudPubSubDeadLetterSourceSubscriptionProject: 'p',
      CloudPubSubDeadLetterSourceTopicPublishTime: '2026-11-29T10:00:00.000+00:00',
    },
  };
}

describe('cli/replay', () => {
  it('drops exactly the attributes dead-lettering adds', () => {
    assert.deepEqual(originalAttributes(deadLetter(1).attributes), { eventId: 'event-1', type: 'sync.succeeded', connectorId: 'c1' });
  });

  it('acknowledges a dead letter only after its publish was confirmed; a failed publish leaves it on the subscription', async () => {
    const queue = new MemoryQueue([0, 1, 2].map(deadLetter));
    const order: string[] = [];
    const origAck = queue.ack.bind(queue);
    queue.ack = async (ids) => {
      order.push(`ack ${ids.join()}`);
      await origAck(ids);
    };
    const publisher: Republisher = {
      async publish(data, attributes) {
        order.push(`publish ${attributes.eventId}`);
        if (attributes.eventId === 'event-1') throw new Error('PERMISSION_DENIED');
        assert.ok(!Object.keys(attributes).some((k) => k.startsWith('CloudPubSubDeadLetter')));
        return `new-${JSON.parse(data.toString()).id}`;
      },
    };
    const lines = await replay(queue, publisher, { limit: 10, dryRun: false });
    assert.deepEqual(order, ['publish event-0', 'ack ack-0', 'publish event-1', 'publish event-2', 'ack ack-2']);
    assert.deepEqual(lines.map((l) => l.outcome), ['replayed', 'failed', 'replayed']);
    assert.deepEqual(queue.available.map((m) => m.ackId), ['ack-1']);
  });

  it('--dry-run and --event publish and acknowledge nothing they should not, and give the rest back', async () => {
    const queue = new MemoryQueue([0, 1, 2].map(deadLetter));
    const published: string[] = [];
    const publisher: Republisher = { publish: async (_d, a) => (published.push(a.eventId!), 'x') };
    const dry = await replay(queue, publisher, { limit: 10, dryRun: true });
    assert.equal(dry.length, 3);
    assert.deepEqual(published, []);
    assert.equal(queue.available.length, 3);
    const one = await replay(queue, publisher, { limit: 10, dryRun: false, eventId: 'event-2' });
    assert.deepEqual(one.map((l) => l.eventId), ['event-2']);
    assert.deepEqual(published, ['event-2']);
    assert.deepEqual(queue.available.map((m) => m.ackId).sort(), ['ack-0', 'ack-1']);
  });

  it('reports each dead letter with its delivery count and the last error from the audit trail', async () => {
    const queue = new MemoryQueue([deadLetter(7)]);
    const lines = await replay(queue, { publish: async () => 'new' }, { limit: 10, dryRun: true, lastError: async (id) => ({ error: `dbt Cloud answered 503 for ${id}`, outcome: 'retrying' }) });
    assert.deepEqual(
      lines.map(({ eventId, type, connector, deliveries, lastError, outcome }) => ({ eventId, type, connector, deliveries, lastError, outcome })),
      [{ eventId: 'event-7', type: 'sync.succeeded', connector: 'c7', deliveries: '5', lastError: 'dbt Cloud answered 503 for event-7', outcome: 'would replay' }],
    );
  });

  it('stops when the subscription comes round again (a run longer than the ack deadline), instead of looping', async () => {
    const queue = new MemoryQueue([0, 1].map(deadLetter));
    const pull = queue.pull.bind(queue);
    queue.pull = async (max) => {
      const batch = await pull(max);
      queue.expireLeases(); // every lease expires at once: the same messages come back
      return batch;
    };
    const lines = await replay(queue, { publish: async () => 'new' }, { limit: 100, dryRun: false, eventId: 'event-9' });
    assert.deepEqual(lines, []);
    assert.equal(queue.acked.length, 0);
  });

  it('whatever fails and wherever a run crashes, no dead letter is lost and none is acknowledged unpublished', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.constantFrom('ok', 'publish-fails', 'crash-before-ack'), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        async (count, faults, limit) => {
          const queue = new MemoryQueue(Array.from({ length: count }, (_, i) => deadLetter(i)));
          const published = new Set<string>();
          let step = 0;
          let crashAtNextAck = false;
          const publisher: Republisher = {
            async publish(_data, attributes) {
              const fault = faults[step++ % faults.length];
              if (fault === 'publish-fails') throw new Error('UNAVAILABLE');
              published.add(attributes.eventId!);
              crashAtNextAck = fault === 'crash-before-ack';
              return 'new';
            },
          };
          const ack = queue.ack.bind(queue);
          // A crash: the publish was confirmed, the process dies before acknowledging.
          queue.ack = async (ids) => {
            if (crashAtNextAck) throw new Error('crash');
            await ack(ids);
          };
          for (let run = 0; run < 40 && (queue.available.length || queue.leased.size); run++) {
            await replay(queue, publisher, { limit, dryRun: false }).catch(() => undefined);
            queue.expireLeases();
            for (const id of queue.acked) assert.ok(published.has(`event-${id.slice(4)}`), `${id} acknowledged without a confirmed publish`);
          }
          for (let i = 0; i < count; i++) {
            const waiting = queue.available.some((m) => m.ackId === `ack-${i}`);
            assert.ok(waiting || queue.acked.includes(`ack-${i}`), `event-${i} lost`);
            if (queue.acked.includes(`ack-${i}`)) assert.ok(published.has(`event-${i}`));
          }
        },
      ),
      { seed: 16, numRuns: 60 },
    );
  });
});
