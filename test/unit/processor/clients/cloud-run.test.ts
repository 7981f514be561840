import assert from 'node:assert/strict';
import { fakeCloudRun, runRequests, type FakeCloudRun } from '../../../../functions/local/fake-cloud-run.js';
import { ACTION_ID_ENV, CloudRunClient, ExecutionLookupExhaustedError, executionView, LOOKUP_MAX_PAGES } from '../../../../functions/processor/clients/cloud-run.js';
import { fixedAccessToken } from '../../../../functions/processor/clients/google-token.js';
import { deadlineIn, type AttemptRecord } from '../../../../functions/processor/clients/http-retry.js';
import { PermanentError, TransientError } from '../../../../functions/processor/errors.js';

const JOB = 'projects/acme-data/locations/europe-west1/jobs/dbt-core';
const policy = { callTimeoutMs: 2000, minDelayMs: 0, maxDelayMs: 0, maxAttempts: 4 };

describe('processor/clients/cloud-run against the Cloud Run stand-in', () => {
  let server: FakeCloudRun;
  let client: CloudRunClient;

  beforeEach(async () => {
    server = fakeCloudRun({ token: 'tok', jobs: [{ name: JOB, containers: [{ name: 'dbt', image: 'ghcr.io/acme/dbt:1', args: ['build'], env: [{ name: 'DBT_TARGET', value: 'prod' }] }] }] });
    await server.start();
    client = new CloudRunClient({ baseUrl: server.url, tokens: fixedAccessToken('tok'), policy });
  });
  afterEach(() => server.stop());

  const options = (checkFirst = false, attempts: AttemptRecord[] = []) => ({ deadline: deadlineIn(10_000), attempts, checkFirst, since: new Date(Date.now() - 1000) });

  it('runs the job with its args replaced, env merged and the action id in POSTLOAD_ACTION_ID', async () => {
    const started = await client.run(JOB, 'evt.cloud-run-1', { container: 'dbt', args: ['build', '--select', 'source:stripe+'], env: [{ name: 'X', value: '1' }], taskCount: 1, timeout: '3600s' }, options());
    assert.equal(started.recovered, false);
    assert.match(started.operation ?? '', /^projects\/acme-data\/locations\/europe-west1\/operations\//);
    assert.equal(started.execution.state, 'pending');
    assert.equal(started.execution.actionId, 'evt.cloud-run-1');
    const [execution] = server.executions;
    assert.deepEqual(execution!.containers[0]!.args, ['build', '--select', 'source:stripe+']);
    assert.deepEqual(execution!.containers[0]!.env.map((v) => v.name), ['DBT_TARGET', 'X', ACTION_ID_ENV]);
    assert.equal(runRequests(server)[0]!.headers.authorization, 'Bearer tok');
  });

  for (const fault of ['lost', 'ran-then-503'] as const) {
    it(`after a ${fault} answer it finds the execution by the action id and runs nothing twice`, async () => {
      server.failRuns(fault);
      const started = await client.run(JOB, 'evt.a', { env: [] }, options());
      assert.equal(started.recovered, true);
      assert.equal(server.executions.length, 1);
      assert.equal(started.execution.name, server.executions[0]!.name);
      assert.equal(runRequests(server).length, 1);
    });
  }

  it('a redelivery that may follow a lost answer looks first and finds the execution', async () => {
    await client.run(JOB, 'evt.b', { env: [] }, options());
    const again = await client.run(JOB, 'evt.b', { env: [] }, options(true));
    assert.equal(again.recovered, true);
    assert.equal(server.executions.length, 1);
  });

  it('a 429 is waited out and retried without a lookup (it was not carried out)', async () => {
    server.rateLimit(1, 0);
    const attempts: AttemptRecord[] = [];
    const started = await client.run(JOB, 'evt.c', { env: [] }, options(false, attempts));
    assert.equal(started.recovered, false);
    assert.deepEqual(attempts.map((a) => a.status), [429, 200]);
    assert.equal(server.executions.length, 1);
  });

  it('a 503 that ran nothing is retried after a lookup that finds nothing: one execution', async () => {
    server.failRuns({ status: 503, body: { error: { code: 503, status: 'UNAVAILABLE', message: 'x' } } });
    const started = await client.run(JOB, 'evt.d', { env: [] }, options());
    assert.equal(started.recovered, false);
    assert.equal(server.executions.length, 1);
    assert.deepEqual(server.requests.map((r) => r.method), ['POST', 'GET', 'POST']);
  });

  it('5xx until the retries run out is a TransientError (the next delivery looks first)', async () => {
    for (let i = 0; i < 8; i++) server.script({ status: 503, body: {} });
    await assert.rejects(client.run(JOB, 'evt.e', { env: [] }, options()), TransientError);
  });

  it('a missing permission is a permanent error naming the job and the role to grant', async () => {
    server.permissions.delete('run.jobs.runWithOverrides');
    await assert.rejects(client.run(JOB, 'evt.f', { env: [] }, options()), (error: unknown) => error instanceof PermanentError && /roles\/run\.jobsExecutorWithOverrides/.test(error.message) && /dbt-core \(europe-west1\)/.test(error.message));
    assert.equal(server.executions.length, 0);
  });

  it('a job that does not exist: 403 to a caller without project access, 404 with it; both permanent', async () => {
    await assert.rejects(client.run('projects/acme-data/locations/europe-west1/jobs/nope', 'evt.g', { env: [] }, options()), (e: unknown) => e instanceof PermanentError && e.status === 403);
    const revealing = fakeCloudRun({ jobs: [], revealMissingJobs: true });
    await revealing.start();
    try {
      const other = new CloudRunClient({ baseUrl: revealing.url, tokens: fixedAccessToken(), policy });
      await assert.rejects(other.run(JOB, 'evt.g', { env: [] }, options()), (e: unknown) => e instanceof PermanentError && e.status === 404 && /does not exist/.test(e.message));
    } finally {
      await revealing.stop();
    }
  });

  it('an override beyond the API limits is refused by the stand-in as Cloud Run does (400, permanent)', async () => {
    await assert.rejects(client.run(JOB, 'evt.h', { env: [{ name: 'BIG', value: 'x'.repeat(32_769) }] }, options()), (e: unknown) => e instanceof PermanentError && e.status === 400);
  });

  it('the lookup reads newest first and stops at executions older than the first attempt', async () => {
    const old = new Date(Date.now() - 3_600_000).toISOString();
    for (let i = 0; i < 150; i++) server.addExecution(JOB, { createTime: old });
    const found = await client.findExecution(JOB, 'evt.none', new Date(), { system: 'Cloud Run', label: 'x', policy, deadline: deadlineIn(5000) });
    assert.equal(found, undefined);
    assert.equal(server.requests.filter((r) => r.method === 'GET').length, 1, 'one page: it reached older executions');
  });

  it('the lookup is bounded: past LOOKUP_MAX_PAGES pages of newer executions it refuses to guess', async () => {
    for (let i = 0; i < LOOKUP_MAX_PAGES * 100 + 1; i++) server.addExecution(JOB);
    await assert.rejects(
      client.findExecution(JOB, 'evt.none', new Date(Date.now() - 60_000), { system: 'Cloud Run', label: 'x', policy, deadline: deadlineIn(5000) }),
      ExecutionLookupExhaustedError,
    );
    assert.equal(server.requests.length, LOOKUP_MAX_PAGES);
  });

  it('reads an execution through every state, and a gone one as undefined', async () => {
    const { execution } = await client.run(JOB, 'evt.i', { env: [] }, options());
    const read = () => client.execution(execution.name, deadlineIn(5000), []);
    assert.equal((await read())?.state, 'pending');
    server.setState(execution.name, 'running');
    assert.equal((await read())?.state, 'running');
    server.setState(execution.name, 'failed', 3);
    const failed = await read();
    assert.equal(failed?.state, 'failed');
    assert.match(failed?.message ?? '', /exit code: 3/);
    assert.equal(await client.execution(`${JOB}/executions/dbt-core-zzzzz`, deadlineIn(5000), []), undefined);
  });

  it('tells a cancelled execution from a failed one (its operation ends without an error)', async () => {
    const { execution } = await client.run(JOB, 'evt.j', { env: [] }, options());
    server.setState(execution.name, 'cancelled');
    assert.equal((await client.execution(execution.name, deadlineIn(5000), []))?.state, 'cancelled');
  });

  it('reads enums given as numbers (a client asking numericEnums)', () => {
    const view = executionView({ name: `${JOB}/executions/dbt-core-abcde`, conditions: [{ type: 'Completed', state: 4 }], succeededCount: 1, completionTime: '2026-01-01T00:00:00Z' });
    assert.equal(view?.state, 'succeeded');
    const cancelled = executionView({ name: `${JOB}/executions/dbt-core-abcde`, conditions: [{ type: 'Completed', state: 3, executionReason: 3 }] });
    assert.equal(cancelled?.state, 'cancelled');
  });

  it('checks a job: exists, and which permissions are held', async () => {
    server.permissions.delete('run.jobs.runWithOverrides');
    const check = await client.checkJob(JOB, ['run.jobs.run', 'run.jobs.runWithOverrides', 'run.jobs.get'], deadlineIn(5000));
    assert.deepEqual(check, { exists: true, held: ['run.jobs.run', 'run.jobs.get'] });
  });

  it('the operation completes when the execution does: get and wait', async () => {
    const { operation, execution } = await client.run(JOB, 'evt.k', { env: [] }, options());
    const get = async () => (await fetch(`${server.url}/v2/${operation}`, { headers: { authorization: 'Bearer tok' } })).json() as Promise<{ done?: boolean; error?: unknown; response?: unknown }>;
    assert.equal((await get()).done, undefined);
    server.setState(execution.name, 'running');
    setTimeout(() => server.setState(execution.name, 'succeeded'), 100);
    const waited = (await (await fetch(`${server.url}/v2/${operation}:wait`, { method: 'POST', headers: { authorization: 'Bearer tok' }, body: JSON.stringify({ timeout: '5s' }) })).json()) as { done?: boolean; response?: unknown; error?: unknown };
    assert.equal(waited.done, true);
    assert.ok(waited.response);
    assert.equal(waited.error, undefined);
  });
});
