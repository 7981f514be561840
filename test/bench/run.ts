import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { signFivetranPayload } from '../../functions/ingest/fivetran/signature.js';
import { table } from '../../functions/local/console-output.js';
import { freePort, startEmulator } from '../../functions/local/emulators.js';
import { stopAll } from '../../functions/local/lifecycle.js';
import { startFunction, type FunctionProcess } from '../../functions/local/function-process.js';
import { EmulatorAdmin } from '../../functions/local/pubsub-admin.js';
import { integer } from '../../functions/shared/settings.js';
import { benchBurst } from './burst.js';
import { benchProcessor } from './processor.js';
import { benchSweep } from './sweep.js';
import { benchStatusPage } from './status-page.js';
import { compare, GOALS, median, type Figures } from './ratios.js';
import { readProc } from './proc.js';

// `npm run bench`: postload's ingest function side by side with a bare Functions Framework
// handler that only publishes the body (test/bench/bare-handler/), both built code served by
// the framework as separate processes on one Pub/Sub emulator, all on loopback. Cold starts
// and load rounds alternate between the two (the CPU is shared, so conditions drift) and
// the figures are medians. The load rounds also run the bare handler publishing a message of
// postload's size and attributes, to tell the cost of the message from the cost of the
// checks. Before the measured rounds each function serves BENCH_WARMUP_SECONDS (10) of the
// same load: V8 needs thousands of calls to optimise a handler, and the emulator's JVM its
// own JIT warm-up, so a short warm-up penalised whichever function ran first (postload
// measured 0.73× in a first round and 0.88–0.93× in the next seven of one run). Then the
// processor's part (processor.ts), a burst of loads for one dbt job (burst.ts), then the sweep's (sweep.ts), then the status page's (status-page.ts: Firestore reads and
// server time per view over BENCH_STATUS_EVENTS, 10,000). Writes bench-results/latest.json. Bounded: BENCH_ROUNDS
// (8) load rounds of BENCH_DURATION_SECONDS (5) each per function, BENCH_CONNECTIONS (32),
// BENCH_COLD_STARTS (5) per function.
// BENCH_RESULTS=path writes the results there instead (test/integration/bench/run.test.ts).
// BENCH_CPU_PROFILE_DIR=dir writes a V8 CPU profile of every function process (one per
// cold start, one for the load rounds) into dir/postload and dir/bare.

const ROUNDS = integer(process.env, 'BENCH_ROUNDS', 8, { min: 1, max: 20 });
const DURATION = integer(process.env, 'BENCH_DURATION_SECONDS', 5, { min: 1, max: 120 });
const WARMUP = integer(process.env, 'BENCH_WARMUP_SECONDS', 10, { min: 1, max: 120 });
const CONNECTIONS = integer(process.env, 'BENCH_CONNECTIONS', 32, { min: 1, max: 200 });
const COLD_STARTS = integer(process.env, 'BENCH_COLD_STARTS', 5, { min: 1, max: 20 });
const SWEEP_CONNECTORS = integer(process.env, 'SWEEP_BENCH_CONNECTORS', 1000, { min: 20, max: 10_000 });
/** The status page's part: views over this many events, each requested this many times. */
const STATUS_EVENTS = integer(process.env, 'BENCH_STATUS_EVENTS', 10_000, { min: 100, max: 100_000 });
const STATUS_REPEATS = integer(process.env, 'BENCH_STATUS_REPEATS', 5, { min: 1, max: 50 });
const PROJECT = 'postload-bench';
const SECRET = 'bench-fivetran-secret';
const TOPIC = 'sync-events';
/** When set, both functions write V8 CPU profiles there (--cpu-prof), to see where the time goes. */
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;
const BARE_SOURCE = fileURLToPath(new URL('./bare-handler/', import.meta.url));
/** Where the results go: BENCH_RESULTS (a path) or the committed bench-results/latest.json. */
const RESULTS = process.env.BENCH_RESULTS ? pathToFileURL(resolve(process.env.BENCH_RESULTS)) : new URL('../../bench-results/latest.json', import.meta.url);

type Name = 'postload' | 'bare';
const NAMES: Name[] = ['postload', 'bare'];
/** The load rounds also measure the bare handler publishing a message shaped like postload's (bare-handler/index.js). */
type LoadName = Name | 'shaped';
const LOAD_NAMES: LoadName[] = ['postload', 'bare', 'shaped'];

/** Distinct signed sync_end bodies (distinct events, as real traffic is). */
const BODIES = Array.from({ length: 2000 }, (_, i) => {
  const body = JSON.stringify({
    event: 'sync_end',
    created: new Date(Date.UTC(2026, 4, 22) + i * 1000).toISOString(),
    connector_type: 'google_cloud_postgresql',
    connector_id: `bench_connector_${i % 50}`,
    connector_name: `bench_pg_${i % 50}`,
    sync_id: randomUUID(),
    destination_group_id: 'bench_destination',
    data: { status: i % 10 === 0 ? 'FAILURE' : 'SUCCESSFUL', ...(i % 10 === 0 ? { reason: 'bench failure' } : {}) },
  });
  return { body, signature: signFivetranPayload(body, SECRET) };
});

const ms = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function env(pubsubHost: string): Record<string, string> {
  return {
    PUBSUB_EMULATOR_HOST: pubsubHost,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    SYNC_EVENTS_TOPIC: TOPIC,
    FIVETRAN_WEBHOOK_SECRET: SECRET,
    AIRBYTE_WEBHOOK_TOKEN: 'bench-airbyte-token',
    SYNC_EVENT_SIGNING_KEY: 'bench-sync-event-signing-key-0123456789abcdef',
    // No metadata server on loopback: without this the client probes for one on its first call.
    METADATA_SERVER_DETECTION: 'none',
  };
}

async function start(name: LoadName, pubsubHost: string, readyPollMs?: number): Promise<FunctionProcess> {
  const port = await freePort();
  const execArgv = CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}/${name}`] : [];
  const bare = name === 'postload' ? {} : { source: BARE_SOURCE };
  const shaped = name === 'shaped' ? { BARE_MESSAGE: 'sync-event-shaped' } : {};
  return startFunction({ target: 'ingestWebhook', port, env: { ...env(pubsubHost), ...shaped }, execArgv, ...bare, ...(readyPollMs ? { readyPollMs } : {}) });
}

async function post(url: string, i: number): Promise<number> {
  const { body, signature } = BODIES[i % BODIES.length]!;
  const response = await fetch(`${url}/fivetran`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fivetran-signature-256': signature }, body });
  await response.arrayBuffer();
  return response.status;
}

interface ColdStart {
  listenMs: number;
  first202Ms: number;
  firstRequestMs: number;
  /** CPU time the process used from spawn to its first 202. */
  cpuMs: number;
  rssIdle: number;
}

/** Spawn → TCP listening → first 202 (the first publish included), then RSS once idle. */
async function coldStart(name: Name, pubsubHost: string, run: number): Promise<ColdStart> {
  const started = performance.now();
  // Polled every 5 ms: the usual 100 ms step would round each start up by up to 100 ms, more
  // than the difference being measured.
  const fn = await start(name, pubsubHost, 5);
  try {
    const listening = performance.now();
    let status = 0;
    let sent = listening;
    const deadline = listening + 30_000;
    while (status !== 202) {
      if (performance.now() > deadline) throw new Error(`${name}: no 202 within 30 s (last ${status}):\n${fn.output()}`);
      sent = performance.now();
      status = await post(fn.url, run).catch(() => 0);
    }
    const answered = performance.now();
    const { cpuMs } = readProc(fn.child.pid!);
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { listenMs: listening - started, first202Ms: answered - started, firstRequestMs: answered - sent, cpuMs, rssIdle: readProc(fn.child.pid!).rss };
  } finally {
    await fn.stop();
  }
}

async function load(fn: FunctionProcess, { signed, duration }: { signed: boolean; duration: number }): Promise<Result> {
  let next = 0;
  return autocannon({
    url: `${fn.url}/fivetran`,
    connections: CONNECTIONS,
    duration,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const { body, signature } = BODIES[next++ % BODIES.length]!;
          return {
            ...request,
            body,
            headers: { 'content-type': 'application/json', 'x-fivetran-signature-256': signed ? signature : '0'.repeat(64) },
          };
        },
      },
    ],
  });
}

function answers(result: Result): string {
  const codes = Object.entries(result.statusCodeStats ?? {})
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ');
  return `${codes || '-'}${result.errors ? ` errors×${result.errors}` : ''}${result.timeouts ? ` timeouts×${result.timeouts}` : ''}`;
}

interface Round {
  round: number;
  order: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  total: number;
  /** The function process's CPU time (user + system) per request answered in the round. */
  cpuMsPerRequest: number;
  answers: string;
}

async function main(): Promise<void> {
  console.log(
    `postload bench: ingestWebhook beside a bare publish handler on one Pub/Sub emulator, loopback only ` +
      `(${CONNECTIONS} connections, ${WARMUP} s warm-up, then ${ROUNDS} alternated rounds of ${DURATION} s each; ${COLD_STARTS} cold starts each)`,
  );
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
  const pubsub = await startEmulator('pubsub');
  const admin = new EmulatorAdmin(pubsub.host, PROJECT);
  await admin.ensureTopic(TOPIC);

  const colds: Record<Name, ColdStart[]> = { postload: [], bare: [] };
  for (let i = 0; i < COLD_STARTS; i++) {
    for (const name of i % 2 === 0 ? NAMES : [...NAMES].reverse()) colds[name].push(await coldStart(name, pubsub.host, i));
  }

  const fns = { postload: await start('postload', pubsub.host), bare: await start('bare', pubsub.host), shaped: await start('shaped', pubsub.host) };
  const rounds: Record<LoadName, Round[]> = { postload: [], bare: [], shaped: [] };
  let forged: Result;
  let peak: Record<LoadName, number>;
  try {
    for (const name of LOAD_NAMES) await load(fns[name], { signed: true, duration: WARMUP }); // not reported
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? LOAD_NAMES : [...LOAD_NAMES].reverse();
      for (const [position, name] of order.entries()) {
        const cpuBefore = readProc(fns[name].child.pid!).cpuMs;
        const result = await load(fns[name], { signed: true, duration: DURATION });
        const cpuMs = readProc(fns[name].child.pid!).cpuMs - cpuBefore;
        if (result.non2xx || result.errors) process.exitCode = 1;
        rounds[name].push({
          round: r + 1,
          order: position + 1,
          requestsPerSecond: result.requests.average,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          maxMs: result.latency.max,
          total: result.requests.total,
          cpuMsPerRequest: Number((cpuMs / Math.max(1, result.requests.total)).toFixed(3)),
          answers: answers(result),
        });
      }
    }
    // Peaks read here, after the same warm-up and rounds for each function: the forged round
    // below is postload's alone.
    peak = { postload: readProc(fns.postload.child.pid!).peakRss, bare: readProc(fns.bare.child.pid!).peakRss, shaped: readProc(fns.shaped.child.pid!).peakRss };
    forged = await load(fns.postload, { signed: false, duration: Math.max(1, Math.ceil(DURATION / 2)) });
  } finally {
    await Promise.all([fns.postload.stop(), fns.bare.stop(), fns.shaped.stop()]);
  }

  const figures = (name: Name): Figures => ({
    requestsPerSecond: median(rounds[name].map((r) => r.requestsPerSecond)),
    p99Ms: median(rounds[name].map((r) => r.p99Ms)),
    first202Ms: median(colds[name].map((c) => c.first202Ms)),
    listenMs: median(colds[name].map((c) => c.listenMs)),
    firstRequestMs: median(colds[name].map((c) => c.firstRequestMs)),
    coldStartCpuMs: median(colds[name].map((c) => c.cpuMs)),
    cpuMsPerRequest: median(rounds[name].map((r) => r.cpuMsPerRequest)),
    rssIdleBytes: median(colds[name].map((c) => c.rssIdle)),
    rssPeakBytes: peak[name],
  });
  const both = { postload: figures('postload'), bare: figures('bare') };
  const ratios = compare(both.postload, both.bare);

  console.log(`\nIngest side by side (medians; ratio = postload / bare; goals from issue 14)\n`);
  const row = (label: string, show: (f: Figures) => string, ratio: number | undefined, goal: string) => [
    label,
    show(both.postload),
    show(both.bare),
    ratio === undefined ? '' : `${ratio.toFixed(2)}×`,
    goal,
  ];
  const rows = [
    row('throughput, signed sync_end → 202', (f) => `${f.requestsPerSecond.toFixed(0)} req/s`, ratios.throughput.ratio, `≥ ${GOALS.throughput}× ${ratios.throughput.met ? 'met' : 'NOT met'}`),
    row('  CPU per request (user + system)', (f) => `${f.cpuMsPerRequest.toFixed(2)} ms`, ratios.cpuPerRequest.ratio, 'less noisy than req/s'),
    row('p99 latency', (f) => ms(f.p99Ms), ratios.p99.ratio, `≤ ${GOALS.p99}× ${ratios.p99.met ? 'met' : 'NOT met'}`),
    row('cold start, spawn → first 202', (f) => ms(f.first202Ms), ratios.coldStart.ratio, `≤ ${GOALS.coldStart}× ${ratios.coldStart.met ? 'met' : 'NOT met'}`),
    row('  of which spawn → listening', (f) => ms(f.listenMs), undefined, ''),
    row('  of which the first request', (f) => ms(f.firstRequestMs), undefined, ''),
    row('  CPU used, spawn → first 202', (f) => ms(f.coldStartCpuMs), ratios.coldStartCpu.ratio, 'less noisy than wall clock'),
    row('peak RSS (VmHWM) under load', (f) => mib(f.rssPeakBytes), ratios.peakMemory.ratio, `≤ ${GOALS.peakMemory}× ${ratios.peakMemory.met ? 'met' : 'NOT met'}`),
    row('RSS idle after the first request', (f) => mib(f.rssIdleBytes), ratios.idleMemory.ratio, ''),
  ];
  console.log(table(['measure', 'postload', 'bare handler', 'ratio', 'goal'], rows));
  console.log(`\nLoad rounds (${CONNECTIONS} connections, ${DURATION} s each)\n`);
  console.log(
    table(
      ['round', 'function', 'req/s', 'p50', 'p99', 'max', 'CPU/request', 'answers'],
      LOAD_NAMES.flatMap((name) => rounds[name].map((r) => [name === 'shaped' ? 'bare, postload-shaped message' : name, r] as const))
        .sort(([, a], [, b]) => a.round - b.round || a.order - b.order)
        .map(([name, r]) => [String(r.round), name, r.requestsPerSecond.toFixed(0), ms(r.p50Ms), ms(r.p99Ms), ms(r.maxMs), `${r.cpuMsPerRequest.toFixed(2)} ms`, r.answers]),
    ),
  );
  const shaped = {
    requestsPerSecond: median(rounds.shaped.map((r) => r.requestsPerSecond)),
    p99Ms: median(rounds.shaped.map((r) => r.p99Ms)),
    cpuMsPerRequest: median(rounds.shaped.map((r) => r.cpuMsPerRequest)),
    rssPeakBytes: peak.shaped,
  };
  const vsShaped = { throughput: Number((both.postload.requestsPerSecond / shaped.requestsPerSecond).toFixed(3)), cpuPerRequest: Number((both.postload.cpuMsPerRequest / shaped.cpuMsPerRequest).toFixed(3)), p99: Number((both.postload.p99Ms / shaped.p99Ms).toFixed(3)) };
  console.log(
    `\nReference: the bare handler publishing a message of postload's size and attributes: ${shaped.requestsPerSecond.toFixed(0)} req/s, ` +
      `CPU ${shaped.cpuMsPerRequest.toFixed(2)} ms/request, p99 ${ms(shaped.p99Ms)}; postload / it: throughput ${vsShaped.throughput}×, CPU ${vsShaped.cpuPerRequest}×, p99 ${vsShaped.p99}×`,
  );
  // Each round's postload / bare, the two measured one after the other: drift on the shared
  // machine moves both, so the paired ratio is steadier than the ratio of the medians.
  const paired = pairedRatios(rounds.postload, rounds.bare);
  console.log(
    `\nPaired rounds (postload / bare within each round; median, range): ` +
      `throughput ${spread(paired.throughput)}, p99 ${spread(paired.p99)}, CPU per request ${spread(paired.cpuPerRequest)}`,
  );
  console.log(`\npostload, bad signature → 401: ${forged.requests.average.toFixed(0)} req/s, p99 ${ms(forged.latency.p99)} (${answers(forged)})`);
  console.log(`\n${machine.cpus} CPUs (${machine.model}), ${machine.memoryGiB} GiB, node ${machine.node}, load average at start ${machine.loadAverageAtStart.join(' ')}`);

  const pipeline = await benchProcessor(pubsub.host);
  const burst = await benchBurst(pubsub.host);
  await pubsub.stop();
  const sweep = await benchSweep(SWEEP_CONNECTORS);

  const firestore = await startEmulator('firestore');
  const statusPage = await benchStatusPage(firestore.host, STATUS_EVENTS, STATUS_REPEATS);
  await firestore.stop();

  const results = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine,
    settings: { rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, coldStarts: COLD_STARTS },
    ingest: { medians: both, ratios, pairedRoundRatios: paired, bareWithPostloadShapedMessage: { medians: shaped, postloadOverIt: vsShaped }, rounds, coldStarts: colds, forgedSignature: { requestsPerSecond: forged.requests.average, p99Ms: forged.latency.p99, answers: answers(forged) } },
    pipeline,
    burst,
    sweep,
    statusPage,
  };
  mkdirSync(new URL('.', RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${fileURLToPath(RESULTS)}`);
}

function pairedRatios(postload: Round[], bare: Round[]): Record<'throughput' | 'p99' | 'cpuPerRequest', number[]> {
  const each = (of: (r: Round) => number) => postload.map((p, i) => Number((of(p) / of(bare[i]!)).toFixed(3)));
  return { throughput: each((r) => r.requestsPerSecond), p99: each((r) => r.p99Ms), cpuPerRequest: each((r) => r.cpuMsPerRequest) };
}

function spread(values: number[]): string {
  return `${median(values).toFixed(2)}× (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}×)`;
}

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return null;
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
