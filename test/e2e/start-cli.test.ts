import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { cloudSdkRoot, freePort } from '../../functions/local/emulators.js';
import { DEVELOPMENT_SECRETS } from '../../functions/local/local-settings.js';
import { pollUntil } from '../../functions/local/poll.js';
import { postDbtCloud } from '../../functions/local/webhooks.js';
import { fixtureText } from '../support/webhook-fixtures.js';

// `npm start` as a user runs it: node dist/local/start.js as a child process. It must print
// one `ready` line with both webhook URLs and a signed example that works when pasted,
// and SIGTERM (like Ctrl-C) or a failure must leave no process and no port behind.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START = `${ROOT}dist/local/start.js`;
const READY = /postload is ready: Fivetran webhook (\S+)\s+Airbyte webhook (\S+)/;
const PORT_VARIABLES = ['INGEST_PORT', 'PROCESSOR_PORT', 'DBT_PORT', 'SLACK_PORT', 'PUBSUB_PORT', 'FIRESTORE_PORT', 'UI_PORT'] as const;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runStart(env: Record<string, string>): Started {
  assert.ok(existsSync(START), `${START} is missing: run npm run build first`);
  const clean = { ...process.env };
  for (const name of ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'DBT_CLOUD_BASE_URL', 'SLACK_WEBHOOK_URL', 'ROUTING_CONFIG', 'FIVETRAN_WEBHOOK_SECRET', 'AIRBYTE_WEBHOOK_TOKEN', 'SYNC_EVENTS_TOPIC']) {
    delete clean[name];
  }
  const child = spawn(process.execPath, [START], { cwd: ROOT, env: { ...clean, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number, output: () => string): Promise<T> {
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

async function assertAllGone(pids: number[], ports: number[]): Promise<void> {
  // Orphans are reaped by init shortly after their parent exits.
  await waitFor('clean-up', () => (pids.some(alive) ? undefined : true), 5000, () => `still alive: ${pids.filter(alive).join(', ')}`);
  for (const port of ports) assert.equal(await accepts(port), false, `port ${port} still accepts connections`);
}

describe('npm start (node dist/local/start.js as a child process)', function () {
  this.timeout(120_000);

  before(function () {
    try {
      if (!existsSync(`${cloudSdkRoot()}/platform/pubsub-emulator`) || !existsSync(`${cloudSdkRoot()}/platform/cloud-firestore-emulator`)) throw new Error();
    } catch {
      console.warn('\n  !!! SKIPPED: npm start needs the Pub/Sub and Firestore emulators, which are not installed\n');
      this.skip();
    }
  });

  it('prints one ready line with both webhook URLs, the pasted signed example is accepted and processed, and SIGTERM leaves nothing behind', async () => {
    const ports = await Promise.all(PORT_VARIABLES.map(() => freePort()));
    const start = runStart(Object.fromEntries(PORT_VARIABLES.map((name, i) => [name, String(ports[i])])));
    try {
      const [, fivetranUrl, airbyteUrl] = await waitFor('ready line', () => READY.exec(start.output()) ?? undefined, 90_000, start.output);
      assert.equal(fivetranUrl, `http://127.0.0.1:${ports[0]}/fivetran`);
      assert.equal(airbyteUrl, `http://127.0.0.1:${ports[0]}/airbyte?token=local-airbyte-token`);
      assert.equal(start.output().split('\n').filter((line) => /\bready\b/.test(line)).length, 1, 'exactly one ready line');

      // The example, pasted into a shell as the user would.
      const curl = await waitFor('curl example', () => start.output().split('\n').find((line) => line.startsWith('curl ')), 5000, start.output);
      const answer = execFileSync('sh', ['-c', curl], { encoding: 'utf8' });
      const { id } = JSON.parse(answer) as { id: string };
      await waitFor('live output for the event', () => (new RegExp(`audit written: event ${id.slice(0, 8)}`).test(start.output()) ? true : undefined), 30_000, start.output);
      assert.match(start.output(), /ingest\s+▶ received fivetran webhook → published sync\.succeeded/);
      assert.match(start.output(), /dbt Cloud ◀ POST \/api\/v2\/accounts\/1\/jobs\/101\/run\//);
      assert.match(start.output(), /processor ▶ dbt run started: job 101/);
      assert.match(start.output(), /Slack\s+◀ message sent/);

      // The status page is served on UI_PORT and shows the event the pasted example sent.
      const statusPage = await waitFor('status page line', () => /status page\s+(http:\/\/\S+)/.exec(start.output())?.[1], 5000, start.output);
      assert.equal(statusPage, `http://127.0.0.1:${ports[6]}/`);
      const story = await fetch(`${statusPage}api/events/${id}`);
      assert.equal(story.status, 200);
      assert.equal(((await story.json()) as { event: { eventId: string } }).event.eventId, id);
      const page = await fetch(`${statusPage}events/${id}`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), new RegExp(`<code>${id}</code>`));

      // The dbt Cloud endpoint is printed and takes requests signed with the development secret.
      assert.match(start.output(), new RegExp(`dbt Cloud webhook http://127\\.0\\.0\\.1:${ports[0]}/dbt-cloud\\b`));
      const dbtCloud = await postDbtCloud(`http://127.0.0.1:${ports[0]}/dbt-cloud`, fixtureText('dbt-cloud', 'job.run.started'), DEVELOPMENT_SECRETS.DBT_CLOUD_WEBHOOK_SECRET);
      assert.equal(dbtCloud.status, 202);

      const pids = descendants(start.child.pid!);
      assert.ok(pids.length >= 4, `expected emulators and functions below start.js, found ${pids.length}`);
      start.child.kill('SIGTERM');
      const { code } = await Promise.race([start.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`start.js did not exit:\n${start.output()}`)), 30_000))]);
      assert.equal(code, 143);
      assert.match(start.output(), /SIGTERM: stopping everything/);
      await assertAllGone(pids, ports);
    } finally {
      start.child.kill('SIGKILL');
    }
  });

  it('stops what it had started and exits 1 when a part fails to start (a routing file that fails its schema)', async () => {
    const ports = await Promise.all(PORT_VARIABLES.map(() => freePort()));
    const start = runStart({
      ...Object.fromEntries(PORT_VARIABLES.map((name, i) => [name, String(ports[i])])),
      ROUTING_CONFIG: '{"version":1,"routes":[{"name":"bad","match":{},"dbtJobs":[]}]}',
    });
    let pids: number[] = [];
    // Watch the process tree while it starts: the emulators are up before the processor fails.
    const watcher = setInterval(() => {
      if (start.child.exitCode === null) pids = [...new Set([...pids, ...descendants(start.child.pid!)])];
    }, 100);
    try {
      const { code } = await start.exited;
      assert.equal(code, 1, start.output());
      assert.match(start.output(), /postload could not start: processSyncEvent exited/);
      assert.match(start.output(), /ROUTING_CONFIG/);
      assert.ok(pids.length > 0, 'it had started processes');
      await assertAllGone(pids, ports);
    } finally {
      clearInterval(watcher);
      start.child.kill('SIGKILL');
    }
  });

  it('refuses a port that is in use, naming its setting, before starting anything', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const start = runStart({ INGEST_PORT: String(port), PROCESSOR_PORT: '0', DBT_PORT: '0', SLACK_PORT: '0', PUBSUB_PORT: '0', FIRESTORE_PORT: '0', UI_PORT: '0' });
      const { code } = await start.exited;
      assert.equal(code, 1);
      assert.match(start.output(), new RegExp(`INGEST_PORT: port ${port} is already in use`));
      assert.doesNotMatch(start.output(), /is ready/);
    } finally {
      busy.close();
    }
  });
});
