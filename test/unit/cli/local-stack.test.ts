import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseLocalStack, localStackEnv, runningLocalStack } from '../../../functions/cli/local-stack.js';
import { checkFivetranSignature } from '../../../functions/ingest/fivetran/signature.js';
import { DEVELOPMENT_SECRETS } from '../../../functions/local/local-settings.js';
import { readStackState, removeStackState, stateFilePath, writeStackState, type LocalStackState } from '../../../functions/local/stack-state.js';
import { runCli } from '../../support/run-cli.js';

// The CLI finds a running `npm start` with no setup: the stack keeps a state file while it
// runs; the CLI uses it when nothing explicit says otherwise, and ignores a file whose
// process is gone.

function state(overrides: Partial<LocalStackState> = {}): LocalStackState {
  return {
    version: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    projectId: 'postload-local',
    pubsubEmulatorHost: '127.0.0.1:1',
    firestoreEmulatorHost: '127.0.0.1:2',
    topic: 'sync-events',
    deadLetterSubscription: 'sync-events-dead-letter',
    auditCollection: 'syncEvents',
    connectorsCollection: 'connectors',
    ingestUrl: 'http://127.0.0.1:8080',
    developmentSecrets: ['FIVETRAN_WEBHOOK_SECRET'],
    routing: '{"version":1,"routes":[{"name":"orders","match":{"source":"fivetran","connectorId":"assimilate_seem"},"dbtJobs":[{"jobId":101}]}]}',
    ...overrides,
  };
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('cli/local-stack: finding the running npm start', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'postload-state-'));
    file = join(dir, 'local-stack.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the state file: POSTLOAD_STATE_FILE or the clone\'s .postload/; written whole, read back, removed only by its own process', () => {
    assert.equal(stateFilePath({ POSTLOAD_STATE_FILE: file }), file);
    assert.match(stateFilePath({}), /\.postload\/local-stack\.json$/);
    writeStackState(file, state());
    assert.deepEqual(readStackState(file), state({ startedAt: readStackState(file)!.startedAt }));
    removeStackState(file, process.pid + 1);
    assert.ok(readStackState(file), 'another process does not remove it');
    removeStackState(file);
    assert.equal(readStackState(file), undefined);
    writeFileSync(file, '{"version":1}');
    assert.equal(readStackState(file), undefined, 'not a state file');
    writeFileSync(file, 'not json');
    assert.equal(readStackState(file), undefined);
  });

  it('a file naming a process that is gone is ignored (npm start killed without cleaning up)', () => {
    writeStackState(file, state({ pid: deadPid() }));
    assert.equal(runningLocalStack({ POSTLOAD_STATE_FILE: file }), undefined);
    writeStackState(file, state());
    assert.equal(runningLocalStack({ POSTLOAD_STATE_FILE: file })?.pid, process.pid);
  });

  it('explicit choices win: --project, emulator hosts, or a --url that is not the stack\'s', () => {
    writeStackState(file, state());
    const env = { POSTLOAD_STATE_FILE: file };
    assert.ok(chooseLocalStack(env, undefined));
    assert.ok(chooseLocalStack({ ...env, GOOGLE_CLOUD_PROJECT: 'prod' }, undefined), 'a project left in the shell does not hide the stack');
    assert.equal(chooseLocalStack(env, 'prod'), undefined);
    assert.equal(chooseLocalStack({ ...env, FIRESTORE_EMULATOR_HOST: '127.0.0.1:9' }, undefined), undefined);
    assert.equal(chooseLocalStack(env, undefined, 'https://postload-ingest-abc.a.run.app/fivetran'), undefined);
    assert.ok(chooseLocalStack(env, undefined, 'http://localhost:8080/fivetran'), 'localhost is 127.0.0.1');
    const seen = localStackEnv({ GOOGLE_CLOUD_PROJECT: 'prod', SYNC_EVENTS_TOPIC: 'other' }, chooseLocalStack(env, undefined)!);
    assert.deepEqual(
      [seen.GOOGLE_CLOUD_PROJECT, seen.PUBSUB_EMULATOR_HOST, seen.FIRESTORE_EMULATOR_HOST, seen.SYNC_EVENTS_TOPIC, seen.AUDIT_COLLECTION],
      ['postload-local', '127.0.0.1:1', '127.0.0.1:2', 'sync-events', 'syncEvents'],
    );
  });

  describe('postload send with no --url and no secret, while a stack runs', () => {
    let server: Server;
    let received: Array<{ path: string; valid: boolean }>;
    before(async () => {
      received = [];
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const valid = checkFivetranSignature(Buffer.from(body), req.headers['x-fivetran-signature-256'] as string, [Buffer.from(DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET)]) === 'valid';
          received.push({ path: req.url ?? '', valid });
          res.writeHead(valid ? 202 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(valid ? { id: 'abc', type: 'sync.succeeded' } : { error: 'unauthorized' }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("goes to the stack's endpoint, signed with its development secret; a shell's project is named in a note", async () => {
      writeStackState(file, state({ ingestUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
      const run = await runCli(['send', 'fivetran', '--event', 'sync_end'], { POSTLOAD_STATE_FILE: file, GOOGLE_CLOUD_PROJECT: 'prod' });
      assert.equal(run.code, 0, run.stderr);
      // Planned with the stack's own routing file before it was sent.
      assert.match(run.stdout, /^by inline JSON, this sync.succeeded event of ftar_pg:\n  starts dbt job 101 \(orders\)\n/);
      assert.deepEqual(received, [{ path: '/fivetran', valid: true }]);
      assert.match(run.stderr, /using the local stack \(npm start, pid \d+\), not GOOGLE_CLOUD_PROJECT; pass --project to use Google Cloud/);
      assert.ok(JSON.parse(readFileSync(file, 'utf8')), 'the CLI leaves the file alone');
    });
  });
});
