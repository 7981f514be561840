import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// `npm run bench` at its smallest (one round of one second, one cold start each): the
// comparison runs end to end and writes every figure the table in docs/benchmarks.md is made of. Speed is
// measured by the bench itself, never asserted here.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('npm run bench (smallest settings)', function () {
  this.timeout(240_000);

  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'postload-bench-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('measures postload and the bare handler side by side and writes the results', async () => {
    const results = join(dir, 'results.json');
    const env = { ...process.env, BENCH_ROUNDS: '1', BENCH_DURATION_SECONDS: '1', BENCH_WARMUP_SECONDS: '1', BENCH_COLD_STARTS: '1', BENCH_CONNECTIONS: '4', SWEEP_BENCH_CONNECTORS: '100', BENCH_STATUS_EVENTS: '300', BENCH_STATUS_REPEATS: '1', BENCH_BURST_EVENTS: '16', BENCH_BURST_INSTANCES: '2', BENCH_BURST_CONCURRENCY: '8', BENCH_RESULTS: results };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/bench/run.ts'], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
    assert.match(stdout, /Ingest side by side/);
    const written = JSON.parse(readFileSync(results, 'utf8')) as {
      ingest: { medians: Record<'postload' | 'bare', Record<string, number>>; ratios: Record<string, { ratio: number; met?: boolean }>; pairedRoundRatios: Record<string, number[]>; forgedSignature: { answers: string } };
      pipeline: { firestoreRpcs: Record<string, number>; webhookToDbtTrigger: { samples: number }; emulatorPublishToPush: { samples: number } };
      sweep: Record<'firstTick' | 'noneChanging' | 'tenBecomingOverdue' | 'tenWithNewSyncs', { rpcs: number; candidates: number; stateChanges: number; messagesSent: number }> & { connectors: number };
      statusPage: { events: number; views: Array<{ view: string; reads: number; medianMs: number }> };
      burst: { scenarios: Array<{ scenario: string; events: number; drainMs: number; deliveries: number; runsStarted: number; maxWaitingRuns: number; firestoreRpcsPerEvent: number }> };
    };
    for (const name of ['postload', 'bare'] as const) {
      for (const figure of ['requestsPerSecond', 'p99Ms', 'first202Ms', 'cpuMsPerRequest', 'rssIdleBytes', 'rssPeakBytes']) {
        assert.ok(written.ingest.medians[name][figure]! > 0, `${name} ${figure}: ${written.ingest.medians[name][figure]}`);
      }
    }
    for (const goal of ['throughput', 'p99', 'coldStart', 'peakMemory']) assert.equal(typeof written.ingest.ratios[goal]!.met, 'boolean', goal);
    assert.deepEqual(Object.values(written.ingest.pairedRoundRatios).map((ratios) => ratios.length), [1, 1, 1]);
    // Every load request was answered 202 (the bench fails itself otherwise); forged ones 401.
    assert.match(written.ingest.forgedSignature.answers, /^401×\d+$/);
    // The processor's part: RPCs counted on the wire, both latency paths sampled.
    assert.ok(Object.keys(written.pipeline.firestoreRpcs).length >= 4);
    assert.ok(written.pipeline.webhookToDbtTrigger.samples > 0 && written.pipeline.emulatorPublishToPush.samples > 0);
    // Issue 26's burst: recording alone, then each onBusy mode, every event delivered.
    assert.deepEqual(written.burst.scenarios.map((s) => s.scenario), ['recorded, no action', 'one dbt job, coalesce', 'one dbt job, skip', 'one dbt job, queue']);
    for (const s of written.burst.scenarios) assert.ok(s.events === 16 && s.deliveries >= 16 && s.drainMs > 0 && s.firestoreRpcsPerEvent > 0, JSON.stringify(s));
    assert.equal(written.burst.scenarios[0]!.runsStarted, 0);
    assert.equal(written.burst.scenarios[3]!.runsStarted, 16, 'queue: a run per load');
    // The sweep's part: what each tick looked at follows what changed, not the number of connectors.
    const { sweep } = written;
    assert.equal(sweep.connectors, 100);
    assert.equal(sweep.firstTick.candidates, 100);
    assert.equal(sweep.noneChanging.candidates, 0);
    assert.deepEqual([sweep.tenBecomingOverdue.candidates, sweep.tenBecomingOverdue.stateChanges, sweep.tenBecomingOverdue.messagesSent], [10, 10, 10]);
    assert.equal(sweep.tenWithNewSyncs.candidates, 10);
    for (const tick of Object.values(sweep)) if (typeof tick === 'object') assert.ok(tick.rpcs > 0);
    // The status page's part: every view answered (the bench fails itself otherwise), with its reads counted.
    assert.equal(written.statusPage.events, 300);
    assert.ok(written.statusPage.views.length >= 10 && written.statusPage.views.every((v) => v.reads >= 1 && v.medianMs > 0), JSON.stringify(written.statusPage.views));
  });
});
