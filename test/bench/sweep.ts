import { table } from '../../functions/local/console-output.js';
import { startEmulator } from '../../functions/local/emulators.js';
import { deliveredMessages, fakeSlack } from '../../functions/local/fake-slack.js';
import { mergeConnector } from '../../functions/processor/store/connector-document.js';
import { connectorDocId } from '../../functions/processor/store/document-ids.js';
import { readSweepConfig } from '../../functions/sweep/config.js';
import { createSweep, type TickReport } from '../../functions/sweep/sweep.js';
import { GrpcStreamCounter } from '../support/grpc-stream-counter.js';
import { emulatorFirestore, quietLogger } from '../support/processor-harness.js';
import { syncEvent } from '../support/sync-event-fixtures.js';

// The sweep's part of `npm run bench`: Firestore RPCs (counted on the wire, as for the
// processor) and wall-clock time of one tick over SWEEP_BENCH_CONNECTORS (1,000) watched
// connectors, under a fake clock: the first tick (every connector new to the sweep), quiet
// ticks (nothing changed: the cost every 5 minutes), a tick where 10 connectors become
// overdue (10 state changes, 10 Slack alerts) and one where 10 connectors have new syncs.
// The cost must follow the connectors that changed, not their number.

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PROJECT = 'postload-bench';
const MIN = 60_000;
const T0 = Date.parse('2026-06-01T08:00:00Z');
const QUIET_TICKS = 5;

export interface TickFigures {
  rpcs: number;
  ms: number;
  /** Connectors the tick looked at, and freshness documents it wrote. */
  candidates: number;
  written: number;
  stateChanges: number;
  messagesSent: number;
}

export interface SweepFigures {
  connectors: number;
  firstTick: TickFigures;
  /** Medians over QUIET_TICKS ticks. */
  noneChanging: TickFigures;
  tenBecomingOverdue: TickFigures;
  tenWithNewSyncs: TickFigures;
}

export async function benchSweep(connectors: number): Promise<SweepFigures> {
  const firestore = await startEmulator('firestore');
  const slack = fakeSlack();
  await slack.start();
  const counter = new GrpcStreamCounter(firestore.host);
  const proxied = await counter.start();
  const db = emulatorFirestore(proxied, PROJECT);
  let clock = T0;
  try {
    const env = {
      ROUTING_CONFIG: JSON.stringify({ routes: [], freshness: { rules: [{ match: { source: 'fivetran' }, freshness: { every: '1h', grace: '30m' } }], realert: 'off' } }),
      GOOGLE_CLOUD_PROJECT: PROJECT,
      SLACK_WEBHOOK_URL: `${slack.url}/services/T/B/bench`,
      SLACK_WEBHOOK_HOSTS: new URL(slack.url).origin,
      METADATA_SERVER_DETECTION: 'none',
    };
    const sweep = createSweep(readSweepConfig(env), { firestore: db, logger: quietLogger(), now: () => clock });

    // 1,000 connectors as the processor leaves them (its own merge function): 10 of them last synced 80 minutes ago (late: overdue at T0 + 10 min), the rest 10 minutes ago.
    const write = async (ids: number[], syncedAt: (i: number) => number, updatedAt: number) => {
      for (let start = 0; start < ids.length; start += 400) {
        const batch = db.batch();
        for (const i of ids.slice(start, start + 400)) {
          const at = new Date(syncedAt(i)).toISOString();
          const id = `bench_connector_${String(i).padStart(4, '0')}`;
          const ref = db.collection('connectors').doc(connectorDocId('fivetran', id));
          const existing = (await ref.get()).data();
          batch.set(ref, mergeConnector(existing, syncEvent({ connector: { id, name: id }, occurredAt: at, sync: { id: `s-${i}-${at}`, finishedAt: at } }), updatedAt)!);
        }
        await batch.commit();
      }
    };
    const all = Array.from({ length: connectors }, (_, i) => i);
    await write(all, (i) => (i < 10 ? T0 - 80 * MIN : T0 - 10 * MIN), T0 - MIN);

    const tick = async (at: number): Promise<TickFigures> => {
      clock = at;
      counter.reset();
      const started = performance.now();
      const report: TickReport = await sweep.tick();
      const f = report.tasks.freshness ?? {};
      return { rpcs: counter.count, ms: Math.round(performance.now() - started), candidates: f.candidates ?? 0, written: f.written ?? 0, stateChanges: f.stateChanges ?? 0, messagesSent: f.messagesSent ?? 0 };
    };
    await db.collection('warm-up').doc('x').get();
    const firstTick = await tick(T0);
    const quiet: TickFigures[] = [];
    for (let i = 1; i <= QUIET_TICKS; i++) quiet.push(await tick(T0 + i * MIN));
    const tenBecomingOverdue = await tick(T0 + 10 * MIN + 1000);
    if (deliveredMessages(slack).length !== 10) throw new Error(`the 10 overdue connectors sent ${deliveredMessages(slack).length} alerts, expected 10`);
    await tick(T0 + 15 * MIN); // their incidents settled
    await write(Array.from({ length: 10 }, (_, i) => 100 + i), () => T0 + 17 * MIN, T0 + 17 * MIN);
    const tenWithNewSyncs = await tick(T0 + 20 * MIN);
    const median = (of: (t: TickFigures) => number) => [...quiet.map(of)].sort((a, b) => a - b)[Math.floor(quiet.length / 2)]!;
    const noneChanging: TickFigures = { rpcs: median((t) => t.rpcs), ms: median((t) => t.ms), candidates: median((t) => t.candidates), written: median((t) => t.written), stateChanges: median((t) => t.stateChanges), messagesSent: median((t) => t.messagesSent) };

    const figures = { connectors, firstTick, noneChanging, tenBecomingOverdue, tenWithNewSyncs };
    console.log(`\nSweep: one tick over ${connectors} watched connectors (Firestore RPCs counted on the wire against the emulator; time on this machine)\n`);
    const row = (name: string, t: TickFigures) => [name, String(t.rpcs), `${t.ms} ms`, String(t.candidates), String(t.written), String(t.stateChanges), String(t.messagesSent)];
    console.log(
      table(
        ['tick', 'Firestore RPCs', 'time', 'connectors looked at', 'documents written', 'state changes', 'Slack messages'],
        [row('first (every connector new)', firstTick), row(`none changing (median of ${QUIET_TICKS})`, noneChanging), row('10 becoming overdue', tenBecomingOverdue), row('10 with new syncs', tenWithNewSyncs)],
      ),
    );
    return figures;
  } finally {
    await db.terminate();
    await counter.stop();
    await slack.stop();
    await firestore.stop();
  }
}

