import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon, { type Result } from 'autocannon';
import { signFivetranPayload } from '../../functions/ingest/fivetran/signature.js';
import { table } from '../../functions/local/console-output.js';
import { freePort, startEmulator, stopAll } from '../../functions/local/emulators.js';
import { startFunction, type FunctionProcess } from '../../functions/local/function-process.js';
import { EmulatorAdmin } from '../../functions/local/pubsub-admin.js';
import { integer } from '../../functions/shared/settings.js';
import { benchProcessor } from './processor.js';

// `npm run bench`: the real ingest function (dist/, served by the Functions Framework) on
// the Pub/Sub emulator, all on loopback. Measures cold start (spawn → listening → first
// 202) and memory, then throughput and latency for signed Fivetran webhooks with
// autocannon. Bounded: BENCH_DURATION_SECONDS (10) per load run, BENCH_CONNECTIONS (10),
// BENCH_COLD_STARTS (3). Not part of npm test: numbers depend on the machine.

const DURATION = integer(process.env, 'BENCH_DURATION_SECONDS', 10, { min: 1, max: 120 });
const CONNECTIONS = integer(process.env, 'BENCH_CONNECTIONS', 10, { min: 1, max: 200 });
const COLD_STARTS = integer(process.env, 'BENCH_COLD_STARTS', 3, { min: 1, max: 20 });
const PROJECT = 'postload-bench';
const SECRET = 'bench-fivetran-secret';
const TOPIC = 'sync-events';

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
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}

function env(pubsubHost: string): Record<string, string> {
  return {
    PUBSUB_EMULATOR_HOST: pubsubHost,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    SYNC_EVENTS_TOPIC: TOPIC,
    FIVETRAN_WEBHOOK_SECRET: SECRET,
    AIRBYTE_WEBHOOK_TOKEN: 'bench-airbyte-token',
    // No metadata server on loopback: without this the client probes for one on its first call.
    METADATA_SERVER_DETECTION: 'none',
  };
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
  rssIdle: number;
}

/** Spawn → TCP listening → first 202 (the first publish included), then RSS once idle. */
async function coldStart(pubsubHost: string, run: number): Promise<ColdStart> {
  const started = performance.now();
  const fn = await startFunction({ target: 'ingestWebhook', port: await freePort(), env: env(pubsubHost) });
  try {
    const listening = performance.now();
    let status = 0;
    let sent = listening;
    const deadline = listening + 30_000;
    while (status !== 202) {
      if (performance.now() > deadline) throw new Error(`no 202 within 30 s (last ${status}):\n${fn.output()}`);
      sent = performance.now();
      status = await post(fn.url, run).catch(() => 0);
    }
    const answered = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { listenMs: listening - started, first202Ms: answered - started, firstRequestMs: answered - sent, rssIdle: rss(fn.child.pid!) };
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

function loadRow(name: string, result: Result, peakRss: number): string[] {
  const ok = signedStatus(result);
  return [
    name,
    result.requests.average.toFixed(0),
    ms(result.latency.p50),
    ms(result.latency.p90),
    ms(result.latency.p99),
    ms(result.latency.max),
    `${result.requests.total}`,
    ok,
    mb(peakRss),
  ];
}

function signedStatus(result: Result): string {
  const codes = Object.entries(result.statusCodeStats ?? {})
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ');
  return `${codes || '-'}${result.errors ? ` errors×${result.errors}` : ''}${result.timeouts ? ` timeouts×${result.timeouts}` : ''}`;
}

async function main(): Promise<void> {
  console.log(`postload bench: ingestWebhook on the Pub/Sub emulator, loopback only (${CONNECTIONS} connections, ${DURATION} s per run, ${COLD_STARTS} cold starts)`);
  const pubsub = await startEmulator('pubsub');
  const admin = new EmulatorAdmin(pubsub.host, PROJECT);
  await admin.ensureTopic(TOPIC);

  const colds: ColdStart[] = [];
  for (let i = 0; i < COLD_STARTS; i++) colds.push(await coldStart(pubsub.host, i));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`\nCold start (median of ${COLD_STARTS}; each a fresh process)\n`);
  console.log(
    table(
      ['spawn → listening', 'spawn → first 202', 'first request (incl. first publish)', 'RSS idle after first request'],
      [[ms(median(colds.map((c) => c.listenMs))), ms(median(colds.map((c) => c.first202Ms))), ms(median(colds.map((c) => c.firstRequestMs))), mb(median(colds.map((c) => c.rssIdle)))]],
    ),
  );

  const fn = await startFunction({ target: 'ingestWebhook', port: await freePort(), env: env(pubsub.host) });
  try {
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(fn.child.pid!))), 100);
    await load(fn, { signed: true, duration: 2 }); // warm-up, not reported
    peak = 0;
    const signed = await load(fn, { signed: true, duration: DURATION });
    const signedPeak = peak;
    peak = 0;
    const forged = await load(fn, { signed: false, duration: Math.max(1, Math.ceil(DURATION / 2)) });
    const forgedPeak = peak;
    clearInterval(sampler);
    console.log(`\nLoad (autocannon, ${CONNECTIONS} connections)\n`);
    console.log(
      table(
        ['requests', 'req/s', 'p50', 'p90', 'p99', 'max', 'total', 'answers', 'peak RSS'],
        [loadRow('signed sync_end → published (202)', signed, signedPeak), loadRow('bad signature → refused (401)', forged, forgedPeak)],
      ),
    );
    console.log(`\nnode ${process.version}, ${(await import('node:os')).cpus().length} CPUs (${(await import('node:os')).cpus()[0]?.model ?? 'unknown'})`);
    if (signed.non2xx || signed.errors) process.exitCode = 1;
    await benchProcessor(pubsub.host);
  } finally {
    await fn.stop();
    await pubsub.stop();
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
