import assert from 'node:assert/strict';
import { dagRunRequests, fakeAirflow, type FakeAirflow } from '../../../../functions/local/fake-airflow.js';
import { AirflowClient, type AirflowTarget } from '../../../../functions/processor/clients/airflow.js';
import { deadlineIn, type AttemptRecord } from '../../../../functions/processor/clients/http-retry.js';
import { PermanentError, TransientError } from '../../../../functions/processor/errors.js';

const policy = { callTimeoutMs: 2000, minDelayMs: 0, maxDelayMs: 0, maxAttempts: 4 };
const RUN_ID = 'postload-0123456789abcdef0123456789abcdef-airflow-1a2b3c';

for (const version of [1, 2] as const) {
  describe(`processor/clients/airflow against the Airflow REST API v${version} stand-in`, () => {
    let server: FakeAirflow;
    let target: AirflowTarget;
    const client = new AirflowClient({ policy });
    const options = (attempts: AttemptRecord[] = []) => ({ deadline: deadlineIn(10_000), attempts });

    beforeEach(async () => {
      server = fakeAirflow({ version, dags: ['dbt_build'], auth: { bearer: 'tok' } });
      await server.start();
      target = { api: server.apiBase, dagId: 'dbt_build', auth: { header: async () => 'Bearer tok' } };
    });
    afterEach(() => server.stop());

    it(`creates the run with the action's run id, conf and note, and a body v${version} accepts`, async () => {
      const { run, recovered } = await client.trigger(target, RUN_ID, { conf: { select: 'source:stripe+' }, note: 'postload: Fivetran stripe' }, options());
      assert.equal(recovered, false);
      assert.equal(run.runId, RUN_ID);
      assert.equal(run.state, 'queued');
      const body = dagRunRequests(server)[0]!.json as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), version === 2 ? ['conf', 'dag_run_id', 'logical_date', 'note'] : ['conf', 'dag_run_id', 'note']);
      if (version === 2) assert.equal(body.logical_date, null);
      assert.deepEqual(server.runs[0]!.conf, { select: 'source:stripe+' });
    });

    it('a second trigger of the same action is a 409 and finds the run: already started, one run', async () => {
      await client.trigger(target, RUN_ID, { conf: {}, note: 'n' }, options());
      const attempts: AttemptRecord[] = [];
      const again = await client.trigger(target, RUN_ID, { conf: {}, note: 'n' }, options(attempts));
      assert.equal(again.recovered, true);
      assert.equal(server.runs.length, 1);
      assert.deepEqual(attempts.map((a) => a.status), [409, 200]);
    });

    it(`the stand-in answers a duplicate with v${version}'s own 409 shape`, async () => {
      await client.trigger(target, RUN_ID, { conf: {}, note: 'n' }, options());
      const response = await fetch(`${target.api}/dags/dbt_build/dagRuns`, { method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: JSON.stringify(version === 2 ? { dag_run_id: RUN_ID, logical_date: null } : { dag_run_id: RUN_ID }) });
      assert.equal(response.status, 409);
      const body = (await response.json()) as { detail: unknown; title?: string };
      if (version === 1) {
        assert.equal(body.title, 'Conflict');
        assert.match(String(body.detail), /already exists/);
      } else {
        assert.equal((body.detail as { reason: string }).reason, 'Unique constraint violation');
      }
    });

    it('a lost answer is retried: the retry meets the 409 and recovers the run', async () => {
      server.failTriggers('lost');
      const { recovered } = await client.trigger(target, RUN_ID, { conf: {}, note: 'n' }, options());
      assert.equal(recovered, true);
      assert.equal(server.runs.length, 1);
    });

    it('429 and 5xx are retried; one run', async () => {
      server.rateLimit(1, 0);
      server.failTriggers({ status: 503, body: { detail: 'Service Unavailable' } });
      const attempts: AttemptRecord[] = [];
      const { recovered } = await client.trigger(target, RUN_ID, { conf: {}, note: 'n' }, options(attempts));
      assert.equal(recovered, false);
      assert.deepEqual(attempts.map((a) => a.status), [429, 503, 200]);
      assert.equal(server.runs.length, 1);
    });

    it('5xx until the retries run out is transient', async () => {
      for (let i = 0; i < 6; i++) server.script({ status: 502, body: {} });
      await assert.rejects(client.trigger(target, RUN_ID, { conf: {}, note: 'n' }, options()), TransientError);
    });

    it('a missing DAG, wrong credentials and a refused body are permanent, each saying so', async () => {
      await assert.rejects(client.trigger({ ...target, dagId: 'nope' }, RUN_ID, { conf: {}, note: 'n' }, options()), (e: unknown) => e instanceof PermanentError && /no DAG nope/.test(e.message));
      await assert.rejects(client.trigger({ ...target, auth: { header: async () => 'Bearer wrong' } }, RUN_ID, { conf: {}, note: 'n' }, options()), (e: unknown) => e instanceof PermanentError && e.status === 401);
      await assert.rejects(client.trigger(target, 'has space', { conf: {}, note: 'n' }, options()), (e: unknown) => e instanceof PermanentError && e.status === 400);
    });

    it('reads a run through its states; an unknown run is undefined', async () => {
      await client.trigger(target, RUN_ID, { conf: {}, note: 'n' }, options());
      server.setState(RUN_ID, 'running');
      assert.equal((await client.dagRun(target, RUN_ID, deadlineIn(5000), []))?.state, 'running');
      server.setState(RUN_ID, 'failed');
      const failed = await client.dagRun(target, RUN_ID, deadlineIn(5000), []);
      assert.equal(failed?.state, 'failed');
      assert.ok(failed?.endDate);
      assert.equal(await client.dagRun(target, 'postload-other', deadlineIn(5000), []), undefined);
    });

    it('checks a DAG', async () => {
      assert.equal(await client.checkDag(target, deadlineIn(5000)), 'ok');
      assert.equal(await client.checkDag({ ...target, dagId: 'nope' }, deadlineIn(5000)), 'missing');
    });
  });
}

describe('the Airflow v2 stand-in is strict like Airflow 3', () => {
  let server: FakeAirflow;
  beforeEach(async () => {
    server = fakeAirflow({ version: 2, dags: ['d'] });
    await server.start();
  });
  afterEach(() => server.stop());

  it('refuses an unknown key and a missing logical_date with 422', async () => {
    const post = (body: object) => fetch(`${server.apiBase}/dags/d/dagRuns`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const extra = await post({ dag_run_id: 'a', logical_date: null, execution_date: '2026-01-01T00:00:00Z' });
    assert.equal(extra.status, 422);
    assert.equal(((await extra.json()) as { detail: Array<{ type: string }> }).detail[0]!.type, 'extra_forbidden');
    const missing = await post({ dag_run_id: 'a' });
    assert.equal(missing.status, 422);
    assert.equal(server.runs.length, 0);
  });
});
