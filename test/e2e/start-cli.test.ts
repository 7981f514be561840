import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudSdkRoot, freePort } from '../../functions/local/emulators.js';
import { DEVELOPMENT_SECRETS } from '../../functions/local/local-settings.js';
import { pollUntil } from '../../functions/local/poll.js';
import type { LocalStackState } from '../../functions/local/stack-state.js';
import { postDbtCloud } from '../../functions/local/webhooks.js';
import { fixtureText } from '../support/webhook-fixtures.js';

// `npm start` as a user runs it, and stops it: through npm itself (`npm start`; the build
// step, `prestart`, is skipped with --ignore-scripts because the suite has built already),
// or node dist/local/start.js directly. It must print one `ready` line with both webhook
// URLs and a signed example that works when pasted; the `postload` command must work
// against it with no setup; and a stop request to npm's pid, to the group (Ctrl-C), to
// start.js's pid, or npm dying, must leave no process, no port and no state file behind.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START = `${ROOT}dist/local/start.js`;
const READY = /postload is ready: Fivetran webhook (\S+)\s+Airbyte webhook (\S+)/;
const PORT_VARIABLES = ['INGEST_PORT', 'PROCESSOR_PORT', 'DBT_PORT', 'SLACK_PORT', 'PUBSUB_PORT', 'FIRESTORE_PORT', 'UI_PORT'] as const;
/** Settings a developer's shell may hold that would change what the stack or the CLI does. */
const OUTSIDE = ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'DBT_CLOUD_BASE_URL', 'SLACK_WEBHOOK_URL', 'ROUTING_CONFIG', 'FIVETRAN_WEBHOOK_SECRET', 'AIRBYTE_WEBHOOK_TOKEN', 'DBT_CLOUD_WEBHOOK_SECRET', 'SYNC_EVENTS_TOPIC', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'LOG_LEVEL'];

interface Started {
  child: ChildProcess;
  ports: number[];
  stateFile: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its process and every process below it now; each is remembered for cleanUp. */
  tree: () => number[];
  cleanUp: () => Promise<void>;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of OUTSIDE) delete env[name];
  return env;
}

/** `npm start` (how = 'npm') or node dist/local/start.js, on free ports, with its own state file; detached, so it leads its own process group as a terminal's job would. */
async function start(how: 'npm' | 'node', env: Record<string, string> = {}): Promise<Started> {
  assert.ok(existsSync(START), `${START} is missing: run npm run build first`);
  const ports = await Promise.all(PORT_VARIABLES.map(() => freePort()));
  const dir = mkdtempSync(join(tmpdir(), 'postload-start-'));
  const stateFile = join(dir, 'local-stack.json');
  const [command, args] = how === 'npm' ? ['npm', ['start', '--ignore-scripts']] : [process.execPath, [START]];
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    env: { ...cleanEnv(), NO_COLOR: '1', npm_config_update_notifier: 'false', POSTLOAD_STATE_FILE: stateFile, ...Object.fromEntries(PORT_VARIABLES.map((name, i) => [name, String(ports[i])])), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // After a failed test: ask politely first (it stops its emulators and functions, which
  // run in process groups of their own), then kill every group below it that is left.
  const seen = new Set<number>();
  const tree = () => {
    const pids = [child.pid!, ...descendants(child.pid!)];
    for (const pid of pids) seen.add(pid);
    return pids;
  };
  const cleanUp = async () => {
    const below = child.exitCode === null && child.signalCode === null ? tree() : [];
    if (below.length > 1) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // gone
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    }
    for (const pid of seen) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone, or not a group leader
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { child, ports, stateFile, output: () => output, exited, tree, cleanUp };
}

function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, output: () => string): Promise<T> {
  return pollUntil(probe, { timeoutMs, failure: () => `no ${what} within ${timeoutMs} ms; output:\n${output()}` });
}

/** Every process below pid (children, the emulators' java, ...), from ps. */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const [child, ppid] of table) if (ppid === parent) (found.push(child), queue.push(child));
  }
  return found;
}

/** Alive and not a zombie waiting for init to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Loopback as /proc/net writes it: 127.0.0.1, ::ffff:127.0.0.1 (a Java socket bound to 127.0.0.1), ::1. */
const LOOPBACK = new Set(['0100007F', '0000000000000000FFFF00000100007F', '00000000000000000000000001000000']);

/** The local addresses listening on a port (Linux: /proc/net/tcp and tcp6, state 0A). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, at] = local!.split(':');
      if (state === '0A' && at === hexPort) found.push(address!);
    }
  }
  return found;
}

/**
 * The processes listening on a port, with their process group: /proc/net/tcp{,6} gives the
 * listening socket's inode, each process's /proc/<pid>/fd the sockets it holds (only this
 * user's processes are readable: others' are not the stack's anyway).
 */
function listenersOf(port: number): Array<{ pid: number; pgid: number }> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && fields[1]!.endsWith(`:${hexPort}`)) inodes.add(fields[9]!);
    }
  }
  const found: Array<{ pid: number; pgid: number }> = [];
  if (!inodes.size) return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const holds = readdirSync(`/proc/${entry}/fd`).some((fd) => {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        return inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
      });
      if (holds) found.push({ pid: Number(entry), pgid: Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[2]) });
    } catch {
      // gone, or not this user's
    }
  }
  return found;
}

async function assertAllGone(pids: number[], started: Started): Promise<void> {
  // Orphans are reaped by init shortly after their parent exits.
  await waitFor('clean-up', () => (pids.some(alive) ? undefined : true), 15_000, () => `still alive: ${pids.filter(alive).join(', ')}\n${started.output()}`);
  // A freed port may be taken at once by another program on this busy machine (free ports
  // are picked at random): what matters is that nothing of the stack's holds it, a process
  // that escaped the tree included (it would still be in one of the stack's process groups).
  for (const port of started.ports) {
    if (!(await accepts(port))) continue;
    const ours = listenersOf(port).filter((l) => pids.includes(l.pgid) || pids.includes(l.pid));
    assert.deepEqual(ours, [], `port ${port} is still held by a process of the stack`);
  }
  assert.equal(existsSync(started.stateFile), false, 'the state file is removed');
}

/** Waits for the process to exit, or fails the test (a hang guard, not a timing assertion). */
function exitOf(started: Started): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return Promise.race([started.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`it did not exit:\n${started.output()}`)), 60_000))]);
}

/** The `npx postload …` command lines of the README's quick start, as arguments (comments cut). */
function quickStartCommands(): string[][] {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const from = readme.indexOf('## Quick start');
  const section = readme.slice(from, readme.indexOf('\n## ', from + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((block) => block[1]!.split('\n'))
    .map((line) => line.replace(/\s#.*$/, '').trim())
    .filter((line) => line.startsWith('npx postload '))
    .map((line) => line.split(/\s+/).slice(2));
}

/** `npx postload ARGS` as a user runs it, in another terminal: a new process with nothing set up. */
function postload(args: string[], stateFile: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['postload', ...args], { cwd: ROOT, env: { ...cleanEnv(), npm_config_update_notifier: 'false', POSTLOAD_STATE_FILE: stateFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm start, stopped however it is asked to, and the postload command against it', function () {
  this.timeout(180_000);

  before(function () {
    try {
      if (!existsSync(`${cloudSdkRoot()}/platform/pubsub-emulator`) || !existsSync(`${cloudSdkRoot()}/platform/cloud-firestore-emulator`)) throw new Error();
    } catch {
      console.warn('\n  !!! SKIPPED: npm start needs the Pub/Sub and Firestore emulators, which are not installed\n');
      this.skip();
    }
  });

  it('npm start: ready; listens on 127.0.0.1 only; the CLI works with no setup; the processor refuses a non-push; SIGINT to npm\'s pid stops everything', async () => {
    const started = await start('npm');
    try {
      const [, fivetranUrl, airbyteUrl] = await waitFor('ready line', () => READY.exec(started.output()) ?? undefined, 120_000, started.output);
      const [ingestPort, processorPort] = started.ports;
      assert.equal(fivetranUrl, `http://127.0.0.1:${ingestPort}/fivetran`);
      assert.equal(airbyteUrl, `http://127.0.0.1:${ingestPort}/airbyte?token=${DEVELOPMENT_SECRETS.AIRBYTE_WEBHOOK_TOKEN}`);
      assert.equal(started.output().split('\n').filter((line) => /\bready\b/.test(line)).length, 1, 'exactly one ready line');

      // Every part answers this machine only.
      for (const port of started.ports) {
        const addresses = listeningAddresses(port);
        assert.ok(addresses.length > 0, `nothing listens on ${port}`);
        const notLoopback = addresses.filter((a) => !LOOPBACK.has(a));
        assert.deepEqual(notLoopback, [], `port ${port} listens on ${notLoopback.join(', ')} (0.0.0.0 or :: is every interface), not on loopback only`);
      }

      // The state file names start.js, which is npm's own child: the script `exec`s it in
      // place of the shell, so npm's signals reach it.
      const state = JSON.parse(readFileSync(started.stateFile, 'utf8')) as LocalStackState;
      assert.equal(state.ingestUrl, `http://127.0.0.1:${ingestPort}`);
      const [ppid, args] = execFileSync('ps', ['-o', 'ppid=,args=', '-p', String(state.pid)], { encoding: 'utf8' }).trim().split(/\s+(.*)/);
      assert.equal(Number(ppid), started.child.pid);
      assert.match(args!, /node .*dist\/local\/start\.js$/);

      // A webhook sent to the processor is refused, saying where webhooks go.
      const wrong = await fetch(`http://127.0.0.1:${processorPort}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(wrong.status, 400);
      assert.match(((await wrong.json()) as { message: string }).message, /Webhooks go to the ingest function: POST \/fivetran, \/airbyte or \/dbt-cloud/);

      // The README's quick start, as printed: the CLI in another terminal, with nothing set, finds the stack.
      const commands = quickStartCommands();
      assert.deepEqual(commands.map((c) => c.slice(0, 2).join(' ')), ['send fivetran', 'send fivetran', 'send airbyte', 'events', 'event ID'], 'the quick start changed: update this test with it');
      let eventId = '';
      for (const command of commands) {
        const args = command.map((arg) => (arg === 'ID' ? eventId.slice(0, 8) : arg));
        const run = await postload(args, started.stateFile);
        assert.equal(run.code, 0, `npx postload ${args.join(' ')}:\n${run.stdout}${run.stderr}`);
        assert.equal(run.stderr, '', `npx postload ${args.join(' ')} wrote to stderr`);
        if (args[0] === 'send') assert.match(run.stdout, /✔ outcome: processed/);
        // The real event is planned with the stack's own routing file before it is sent.
        if (args.includes('sync_end')) assert.match(run.stdout, /^by \S+routing\.local\.json, this sync\.succeeded event of ftar_pg:\n  starts dbt job 101 /);
        if (args.join(' ') === 'send airbyte --event schema-propagated --wait') {
          assert.match(run.stdout, /airbyte schema-propagated .*: 202 \{"id":"[0-9a-f]{32}","type":"schema.changed"\}/);
          assert.match(run.stdout, /Slack SLACK_WEBHOOK_URL: message sent/);
        }
        if (args[0] === 'event') assert.match(run.stdout, new RegExp(`^event ${eventId}  fivetran sync.succeeded`));
        if (args.includes('sync_end')) eventId = /: 202 \{"id":"([0-9a-f]{32})"/.exec(run.stdout)?.[1] ?? '';
      }
      assert.ok(eventId);

      // The pasted example: dated now, so `events` (last 24 h by default) lists it.
      const curl = await waitFor('curl example', () => started.output().split('\n').find((line) => line.startsWith('curl ')), 5000, started.output);
      const pasted = (JSON.parse(execFileSync('sh', ['-c', curl], { encoding: 'utf8' })) as { id: string }).id;
      await waitFor('live output for the event', () => (new RegExp(`audit written: event ${pasted.slice(0, 8)}`).test(started.output()) ? true : undefined), 30_000, started.output);
      assert.match(started.output(), /dbt Cloud ◀ POST \/api\/v2\/accounts\/1\/jobs\/101\/run\//);
      // The status page is served on UI_PORT and shows the event the pasted example sent.
      const statusPage = await waitFor('status page line', () => /status page\s+(http:\/\/\S+)/.exec(started.output())?.[1], 5000, started.output);
      assert.equal(statusPage, `http://127.0.0.1:${started.ports[6]}/`);
      const shown = await fetch(`${statusPage}api/events/${pasted}`);
      assert.equal(shown.status, 200);
      assert.equal(((await shown.json()) as { event: { eventId: string } }).event.eventId, pasted);

      const dbtCloud = await postDbtCloud(`http://127.0.0.1:${ingestPort}/dbt-cloud`, fixtureText('dbt-cloud', 'job.run.started'), DEVELOPMENT_SECRETS.DBT_CLOUD_WEBHOOK_SECRET);
      assert.equal(dbtCloud.status, 202);

      const events = await postload(['events'], started.stateFile);
      assert.equal(events.code, 0, events.stderr);
      for (const id of [eventId, pasted]) assert.match(events.stdout, new RegExp(`\\b${id.slice(0, 8)}\\b`), `${id} in\n${events.stdout}`);

      // The console is calm: no stack trace, and none of the stack's own values is warned about.
      assert.doesNotMatch(started.output(), /^\S+ \S+\s+\s+at /m, 'a stack trace in the live output');
      assert.doesNotMatch(started.output(), /shorter than \d+ characters/, "a warning about the stack's own development values");

      const pids = started.tree();
      assert.ok(pids.length >= 5, `expected npm, start.js, emulators and functions, found ${pids.length}`);
      // Only npm's pid, as a process manager or a script would: not the group.
      process.kill(started.child.pid!, 'SIGINT');
      await exitOf(started);
      assert.match(started.output(), /Ctrl-C \(SIGINT\): stopping everything/);
      await assertAllGone(pids, started);
    } finally {
      await started.cleanUp();
    }
  });

  for (const [how, stop, expected] of [
    ['npm', 'SIGTERM to npm\'s pid', /SIGTERM: stopping everything/],
    ['npm', 'SIGINT to the process group (a terminal\'s Ctrl-C: npm and start.js both get it, and npm passes its copy on)', /Ctrl-C \(SIGINT\): stopping everything/],
    ['npm', 'npm killed (SIGKILL: it passes nothing on)', /the parent process \(pid \d+\) went away: stopping everything/],
    ['node', 'SIGTERM to start.js\'s pid', /SIGTERM: stopping everything/],
  ] as const) {
    it(`${how === 'npm' ? 'npm start' : 'node dist/local/start.js'}: ${stop} stops everything it started`, async () => {
      const started = await start(how);
      try {
        await waitFor('ready line', () => READY.exec(started.output()) ?? undefined, 120_000, started.output);
        const pids = started.tree();
        assert.ok(pids.length >= 4, `expected emulators and functions, found ${pids.length}`);
        if (stop.startsWith('SIGINT to the process group')) process.kill(-started.child.pid!, 'SIGINT');
        else if (stop.startsWith('npm killed')) process.kill(started.child.pid!, 'SIGKILL');
        else process.kill(started.child.pid!, 'SIGTERM');
        if (stop.startsWith('npm killed')) {
          // npm is gone at once; what it started must notice and stop on its own.
          await started.exited;
          await waitFor('start.js stopping', () => (expected.test(started.output()) ? true : undefined), 30_000, started.output);
        } else {
          const { code } = await exitOf(started);
          if (how === 'node') assert.equal(code, 143);
          assert.match(started.output(), expected);
        }
        await assertAllGone(pids, started);
      } finally {
        await started.cleanUp();
      }
    });
  }

  it('stops what it had started and exits 1 when a part fails to start (a routing file that fails its schema)', async () => {
    const started = await start('node', { ROUTING_CONFIG: '{"version":1,"routes":[{"name":"bad","match":{},"dbtJobs":[]}]}' });
    let pids: number[] = [];
    // Watch the process tree while it starts: the emulators are up before the processor fails.
    const watcher = setInterval(() => {
      if (started.child.exitCode === null) pids = [...new Set([...pids, ...started.tree().slice(1)])];
    }, 100);
    try {
      const { code } = await exitOf(started);
      assert.equal(code, 1, started.output());
      assert.match(started.output(), /postload could not start: processSyncEvent exited/);
      assert.match(started.output(), /ROUTING_CONFIG/);
      assert.ok(pids.length > 0, 'it had started processes');
      await assertAllGone(pids, started);
    } finally {
      clearInterval(watcher);
      await started.cleanUp();
    }
  });

  it('refuses a port that is in use, naming its setting, before starting anything', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    const started = await start('node', { INGEST_PORT: String(port) });
    try {
      const { code } = await exitOf(started);
      assert.equal(code, 1);
      assert.match(started.output(), new RegExp(`INGEST_PORT: port ${port} is already in use`));
      assert.doesNotMatch(started.output(), /is ready/);
    } finally {
      busy.close();
      await started.cleanUp();
    }
  });
});
