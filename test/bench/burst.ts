import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signFivetranPayload } from '../../functions/ingest/fivetran/signature.js';
import { table } from '../../functions/local/console-output.js';
import { freePort, startEmulator } from '../../functions/local/emulators.js';
import { fakeDbtCloud, type FakeRun } from '../../functions/local/fake-dbt-cloud.js';
import { fakeSlack } from '../../functions/local/fake-slack.js';
import { startFunction, type FunctionProcess } from '../../functions/local/function-process.js';
import { EmulatorAdmin } from '../../functions/local/pubsub-admin.js';
import { integer } from '../../functions/shared/settings.js';
import { standInEnv } from '../support/processor-harness.js';
import { TEST_SIGNING_KEY } from '../support/sync-event-fixtures.js';
import { FirestoreProxy } from './firestore-proxy.js';

// Issue 26's burst, in `npm run bench`: BENCH_BURST_EVENTS (300) signed Fivetran sync_end
// webhooks from as many connectors go through the ingest function into Pub/Sub; their
// SyncEvents are then pushed at once, BENCH_BURST_CONCURRENCY (96) at a time, round robin to
// BENCH_BURST_INSTANCES (4) processor processes, by this harness playing Pub/Sub's push: a
// delivery not answered 2xx is delivered again after 1 s × its attempt, and dead-lettered
// after the tenth. First with the connectors routed to no action (recording alone: the
// floor), then all routed to one dbt Cloud job under each onBusy mode. The dbt Cloud
// stand-in moves runs from queued to running to success in 3 s steps. Firestore is behind a
// proxy that decodes every commit (firestore-proxy.ts), for the writes per document.
// BENCH_BURST_DIRECT=1 points the processors at the emulator itself (no write counts), to
// rule the proxy out of a figure. Figures, not assertions (test/integration/bench/run.test.ts
// only checks they are written).

const EVENTS = integer(process.env, 'BENCH_BURST_EVENTS', 300, { min: 1, max: 5000 });
const INSTANCES = integer(process.env, 'BENCH_BURST_INSTANCES', 4, { min: 1, max: 16 });
const CONCURRENCY = integer(process.env, 'BENCH_BURST_CONCURRENCY', 96, { min: 1, max: 1000 });
// BENCH_BURST_MODES (coalesce,skip,queue): the onBusy modes measured after the recording-alone floor.
const MODES = (process.env.BENCH_BURST_MODES ?? 'coalesce,skip,queue').split(',').map((mode) => {
  if (mode !== 'coalesce' && mode !== 'skip' && mode !== 'queue') throw new Error(`BENCH_BURST_MODES: "${mode}" is not an onBusy mode (coalesce, skip, queue)`);
  return mode;
});
const MAX_DELIVERIES = 10;
const PROJECT = 'postload-bench';
const JOB = 7001;
const SECRET = 'bench-burst-fivetran-secret';

export interface BurstFigures {
  scenario: string;
  events: number;
  drainMs: number;
  /** drainMs / the recording-alone drain. */
  ratio: number | null;
  deliveries: number;
  redelivered: number;
  /** Why deliveries were not acknowledged: each distinct answer (ids masked) and how often. */
  failedAnswers: Record<string, number>;
  deadLettered: number;
  runsStarted: number;
  maxWaitingRuns: number;
  /** Writes to the job's lease document (one per batch opened) and its run log (one per batch settled, plus run events), in all. */
  jobDocWrites: { lease: number; runLog: number };
  /** The most writes one of the job's shared documents (lease, run log) took within a second, and which. */
  maxJobDocWritesPerSecond: { writes: number; path: string | null };
  /** The same over every document (an audit record takes its claim and settle within a second). */
  maxDocWritesPerSecond: { writes: number; path: string | null };
  firestoreRpcsPerEvent: number;
  /** The gRPC calls to Firestore by method, in all. */
  firestoreCalls: Record<string, number>;
  /** The machine's 1-minute load average when the scenario started and ended (a loaded machine stretches every drain). */
  loadAverage: [number, number];
}

export interface BurstResults {
  settings: { events: number; instances: number; concurrency: number; redeliveryBackoffMs: string; maxDeliveries: number; runStepMs: number };
  scenarios: BurstFigures[];
  goals: { drainRatio: number; redeliveredShare: number; deadLettered: number; maxWaitingRuns: number };
}

interface PushMessage {
  data: string;
  attributes: Record<string, string>;
  messageId: string;
  publishTime: string;
}

export async function benchBurst(pubsubHost: string): Promise<BurstResults> {
  console.log(
    `\nA burst of loads for one dbt job (issue 26): ${EVENTS} signed Fivetran sync_end webhooks through ingest, then their SyncEvents pushed at once, ${CONCURRENCY} at a time, to ${INSTANCES} processor instances; a failed push redelivered after 1 s × attempt, dead-lettered after ${MAX_DELIVERIES}; dbt Cloud runs move queued → running → success in 3 s steps\n`,
  );
  const firestore = await startEmulator('firestore');
  const proxy = new FirestoreProxy(firestore.host);
  const proxied = await proxy.start();
  const dbt = fakeDbtCloud();
  const slack = fakeSlack();
  await Promise.all([dbt.start(), slack.start()]);
  try {
    const messages = await publishThroughIngest(pubsubHost);
    const dir = mkdtempSync(join(tmpdir(), 'postload-burst-'));
    const scenarios: BurstFigures[] = [];
    const modes = [undefined, ...MODES];
    for (const mode of modes) {
      const scenario = mode === undefined ? 'recorded, no action' : `one dbt job, ${mode}`;
      const routing = join(dir, `${mode ?? 'none'}.json`);
      writeFileSync(routing, JSON.stringify({ routes: mode ? [{ name: 'all', match: { source: 'fivetran', connectorId: { glob: 'burst_*' } }, dbtJobs: [{ jobId: JOB, onBusy: mode }], slack: { notify: [] } }] : [], slack: { notify: [] } }));
      const suffix = `${mode ?? 'none'}-${process.pid}`;
      const processors = await Promise.all(
        Array.from({ length: INSTANCES }, async () =>
          startFunction({
            target: 'processSyncEvent',
            port: await freePort(),
            env: {
              ROUTING_CONFIG: routing,
              ...standInEnv(dbt, slack, { token: 'dbtc_bench_burst_token_0123456789abcdef', webhookPath: '/services/T/B/burst' }, PROJECT),
              FIRESTORE_EMULATOR_HOST: process.env.BENCH_BURST_DIRECT ? firestore.host : proxied,
              AUDIT_COLLECTION: `burst-events-${suffix}`,
              CONNECTORS_COLLECTION: `burst-connectors-${suffix}`,
              JOB_STATE_COLLECTION: `burst-jobs-${suffix}`,
              JOINS_COLLECTION: `burst-joins-${suffix}`,
              METADATA_SERVER_DETECTION: 'none',
              LOG_LEVEL: 'error',
            },
            onLine: logged,
          }),
        ),
      );
      try {
        await warmUp(processors);
        await new Promise((resolve) => setTimeout(resolve, 500)); // its log lines, before the count starts
        dbt.reset();
        dbt.progressRuns(3000);
        proxy.reset();
        const loadAverage = loadavg()[0]!;
        const delivery = await pushAll(messages, processors);
        // Let the last runs progress for the count of waiting runs; nothing else moves.
        const runs = [...dbt.runs];
        scenarios.push({
          scenario,
          events: messages.length,
          drainMs: delivery.drainMs,
          ratio: null,
          deliveries: delivery.deliveries,
          redelivered: delivery.redelivered,
          failedAnswers: Object.fromEntries(failures),
          deadLettered: delivery.deadLettered,
          runsStarted: runs.length,
          maxWaitingRuns: maxWaiting(runs),
          jobDocWrites: {
            lease: proxy.writes.filter((w) => w.path === `burst-jobs-${suffix}/dbt-cloud-${JOB}`).length,
            runLog: proxy.writes.filter((w) => w.path === `burst-jobs-${suffix}/dbt-cloud-${JOB}#runs`).length,
          },
          maxJobDocWritesPerSecond: proxy.maxWritesPerSecond((path) => path.startsWith(`burst-jobs-${suffix}/`)),
          maxDocWritesPerSecond: proxy.maxWritesPerSecond(),
          firestoreRpcsPerEvent: Number(([...proxy.calls.values()].reduce((a, b) => a + b, 0) / messages.length).toFixed(2)),
          firestoreCalls: Object.fromEntries(proxy.calls),
          loadAverage: [Number(loadAverage.toFixed(1)), Number(loadavg()[0]!.toFixed(1))],
        });
      } finally {
        await Promise.all(processors.map((p) => p.stop()));
      }
    }
    const floor = scenarios[0]!.drainMs;
    for (const s of scenarios) s.ratio = Number((s.drainMs / floor).toFixed(2));
    const goals = { drainRatio: 1.5, redeliveredShare: 0.05, deadLettered: 0, maxWaitingRuns: 1 };
    console.log(
      table(
        ['scenario', 'drain', 'vs recording', 'deliveries', 'redelivered', 'dead-lettered', 'runs started', 'most runs waiting at once', 'job documents written (lease, run log)', 'most writes/s to a job document', 'most writes/s to any document', 'Firestore RPCs per event', 'load average'],
        scenarios.map((s) => [
          s.scenario,
          `${(s.drainMs / 1000).toFixed(1)} s`,
          `${s.ratio!.toFixed(2)}×`,
          String(s.deliveries),
          `${s.redelivered} (${((100 * s.redelivered) / s.deliveries).toFixed(1)} %)`,
          String(s.deadLettered),
          String(s.runsStarted),
          String(s.maxWaitingRuns),
          `${s.jobDocWrites.lease}, ${s.jobDocWrites.runLog}`,
          s.maxJobDocWritesPerSecond.path ? `${s.maxJobDocWritesPerSecond.writes} (${s.maxJobDocWritesPerSecond.path.split('/').pop()})` : '0',
          String(s.maxDocWritesPerSecond.writes),
          s.firestoreRpcsPerEvent.toFixed(2),
          s.loadAverage.join(' → '),
        ]),
      ),
    );
    for (const s of scenarios) for (const [answer, n] of Object.entries(s.failedAnswers)) console.log(`${s.scenario}: ${n} × ${answer}`);
    const coalesce = scenarios.find((s) => s.scenario.endsWith('coalesce'));
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    if (coalesce) console.log(
      `\nGoals (issue 26, coalesce): drain ≤ ${goals.drainRatio}× recording alone: ${coalesce.ratio}× ${met(coalesce.ratio! <= goals.drainRatio)}; ` +
        `≤ ${goals.redeliveredShare * 100} % redelivered: ${((100 * coalesce.redelivered) / coalesce.deliveries).toFixed(1)} % ${met(coalesce.redelivered <= goals.redeliveredShare * coalesce.deliveries)}; ` +
        `none dead-lettered: ${coalesce.deadLettered} ${met(coalesce.deadLettered === 0)}; never two waiting runs: ${coalesce.maxWaitingRuns} ${met(coalesce.maxWaitingRuns <= goals.maxWaitingRuns)}`,
    );
    return { settings: { events: EVENTS, instances: INSTANCES, concurrency: CONCURRENCY, redeliveryBackoffMs: '1000 × attempt', maxDeliveries: MAX_DELIVERIES, runStepMs: 3000 }, scenarios, goals };
  } finally {
    await Promise.all([dbt.stop(), slack.stop()]);
    await proxy.stop();
    await firestore.stop();
  }
}

/** The webhooks through the real ingest function; the SyncEvents it published, as Pub/Sub would push them. */
async function publishThroughIngest(pubsubHost: string): Promise<PushMessage[]> {
  const admin = new EmulatorAdmin(pubsubHost, PROJECT);
  const topic = `bench-burst-${process.pid}`;
  await admin.ensureTopic(topic);
  await admin.ensurePullSubscription(`${topic}-collect`, topic);
  const ingest = await startFunction({
    target: 'ingestWebhook',
    port: await freePort(),
    env: { PUBSUB_EMULATOR_HOST: pubsubHost, GOOGLE_CLOUD_PROJECT: PROJECT, SYNC_EVENTS_TOPIC: topic, FIVETRAN_WEBHOOK_SECRET: SECRET, AIRBYTE_WEBHOOK_TOKEN: 'bench-burst-airbyte-token-0123456789', SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY, METADATA_SERVER_DETECTION: 'none', LOG_LEVEL: 'warn' },
  });
  try {
    const at = new Date().toISOString();
    const bodies = Array.from({ length: EVENTS }, (_, i) =>
      JSON.stringify({ event: 'sync_end', created: at, connector_type: 'postgres', connector_id: `burst_${i}`, connector_name: `burst_${i}`, sync_id: randomUUID(), destination_group_id: 'bench', data: { status: 'SUCCESSFUL' } }),
    );
    for (let i = 0; i < bodies.length; i += 32) {
      await Promise.all(
        bodies.slice(i, i + 32).map(async (body) => {
          const response = await fetch(`${ingest.url}/fivetran`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fivetran-signature-256': signFivetranPayload(body, SECRET) }, body });
          if (response.status !== 202) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
        }),
      );
    }
  } finally {
    await ingest.stop();
  }
  const messages: PushMessage[] = [];
  const base = `http://${pubsubHost}/v1/projects/${PROJECT}/subscriptions/${topic}-collect`;
  while (messages.length < EVENTS) {
    const pulled = (await (await fetch(`${base}:pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ maxMessages: 1000 }) })).json()) as { receivedMessages?: Array<{ ackId: string; message: PushMessage }> };
    const received = pulled.receivedMessages ?? [];
    messages.push(...received.map((r) => r.message));
    if (received.length) await fetch(`${base}:acknowledge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ackIds: received.map((r) => r.ackId) }) });
  }
  return messages.slice(0, EVENTS);
}

/** One delivery per instance first (an unsigned message, refused and logged), so no cold start is in the figures. */
async function warmUp(processors: FunctionProcess[]): Promise<void> {
  await Promise.all(processors.map((p) => fetch(`${p.url}/projects/${PROJECT}/topics/warm-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: { data: Buffer.from('{}').toString('base64'), messageId: `warm-${randomUUID()}`, publishTime: new Date().toISOString() }, subscription: `projects/${PROJECT}/subscriptions/warm-up` }) }).then((r) => r.arrayBuffer())));
}

/** Pub/Sub's part: every message pushed, at most CONCURRENCY at once, a failed push delivered again after 1 s × attempt. */
async function pushAll(messages: PushMessage[], processors: FunctionProcess[]): Promise<{ drainMs: number; deliveries: number; redelivered: number; deadLettered: number }> {
  failures.clear();
  const started = performance.now();
  let deliveries = 0;
  let redelivered = 0;
  let deadLettered = 0;
  let next = 0;
  const ready: Array<{ message: PushMessage; attempt: number }> = messages.map((message) => ({ message, attempt: 1 }));
  let inFlight = 0;
  let pending = messages.length;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (inFlight < CONCURRENCY && ready.length) {
        const item = ready.shift()!;
        const processor = processors[next++ % processors.length]!;
        inFlight++;
        deliveries++;
        void push(processor, item.message)
          .then((ok) => {
            inFlight--;
            if (ok) pending--;
            else if (item.attempt >= MAX_DELIVERIES) {
              deadLettered++;
              pending--;
            } else {
              redelivered++;
              setTimeout(() => {
                ready.push({ message: item.message, attempt: item.attempt + 1 });
                pump();
              }, 1000 * item.attempt);
            }
            if (pending === 0) resolve();
            else pump();
          });
      }
    };
    pump();
  });
  return { drainMs: Math.round(performance.now() - started), deliveries, redelivered, deadLettered };
}

/** Why deliveries were answered other than 2xx: the answer's first line, ids and numbers masked, counted. */
const failures = new Map<string, number>();

async function push(processor: FunctionProcess, message: PushMessage): Promise<boolean> {
  try {
    const response = await fetch(`${processor.url}/projects/${PROJECT}/topics/bench`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message, subscription: `projects/${PROJECT}/subscriptions/bench-burst` }),
    });
    const text = await response.text();
    const ok = response.status >= 200 && response.status < 300;
    if (!ok) count(`${response.status} ${mask(text.split('\n')[0]!)}`);
    return ok;
  } catch (error) {
    count(`no answer: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

/** What the processors logged at ERROR (why a delivery failed), ids and numbers masked, counted with the answers. */
function logged(line: string): void {
  let entry: { severity?: string; message?: string; msg?: string; err?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    if (/Error|error/.test(line)) count(`log: ${mask(line)}`);
    return;
  }
  if (entry.severity === 'ERROR' || entry.severity === 'CRITICAL') count(`log: ${mask(`${entry.message ?? entry.msg ?? ''} ${typeof entry.err === 'string' ? entry.err : ''}`)}`);
}

function mask(text: string): string {
  return text.replace(/[0-9a-f]{32}|[0-9a-f-]{36}/g, '…').replace(/\d+/g, 'N').slice(0, 200);
}

function count(reason: string): void {
  failures.set(reason, (failures.get(reason) ?? 0) + 1);
}

/** The most runs of the job waiting (queued, not yet started) at any one moment. */
function maxWaiting(runs: FakeRun[]): number {
  const edges = runs.flatMap((run) => [
    { at: Date.parse(run.createdAt), delta: 1 },
    { at: run.startedAt ? Date.parse(run.startedAt) : Number.POSITIVE_INFINITY, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let waiting = 0;
  let most = 0;
  for (const edge of edges) {
    waiting += edge.delta;
    most = Math.max(most, waiting);
  }
  return most;
}
