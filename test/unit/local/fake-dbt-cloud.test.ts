import assert from 'node:assert/strict';
import { fakeDbtCloud, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';

// The stand-in must answer as dbt Cloud documents, or tests of "find the run I already
// started" prove nothing (docs/wire-formats.md, dbt Cloud Administrative API).
describe('the dbt Cloud stand-in answers as dbt Cloud documents', () => {
  let dbt: FakeDbtCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${dbt.url}/api/v2/accounts/3${path}`, init).then(async (r) => ({ status: r.status, body: (await r.json()) as { data: any; extra?: any } }));
  const trigger = (job: number, cause: string) => api(`/jobs/${job}/run/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cause, git_branch: 'main' }) });

  before(async () => {
    dbt = fakeDbtCloud({ jobs: [1, 2] });
    await dbt.start();
  });
  after(() => dbt.stop());
  beforeEach(() => dbt.reset());

  it('a triggered Run has no cause and no trigger; include_related=["trigger"] adds the trigger with the cause', async () => {
    const { body } = await trigger(1, 'c1 [event e1]');
    assert.equal(body.data.status, 1);
    assert.equal(body.data.status_humanized, 'Queued');
    assert.ok(!('cause' in body.data) && !('trigger' in body.data));
    const plain = await api(`/runs/${body.data.id}/`);
    assert.ok(!('trigger' in plain.body.data));
    for (const query of ['include_related=["trigger"]', 'include_related=trigger', 'include_related=trigger,job']) {
      const related = await api(`/runs/?job_definition_id=1&${query}`);
      assert.equal(related.body.data[0].trigger.cause, 'c1 [event e1]', query);
      assert.equal(related.body.data[0].trigger.git_branch, 'main');
    }
  });

  it('filters on status and status__in, orders by id/created_at/finished_at, pages with limit ≤ 100 and offset', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await trigger(2, `c${i}`)).body.data.id);
    dbt.setStatus(ids[0]!, 10);
    dbt.setStatus(ids[1]!, 20);
    dbt.setStatus(ids[2]!, 3);
    const waiting = await api(`/runs/?job_definition_id=2&status__in=${encodeURIComponent('[1,2,3]')}`);
    assert.deepEqual(waiting.body.data.map((r: { id: number }) => r.id), [ids[2], ids[3], ids[4]]);
    assert.deepEqual((await api('/runs/?status=20')).body.data.map((r: { id: number }) => r.id), [ids[1]]);
    const newest = await api('/runs/?job_definition_id=2&order_by=-id&limit=2&offset=1');
    assert.deepEqual(newest.body.data.map((r: { id: number }) => r.id), [ids[3], ids[2]]);
    assert.equal(newest.body.extra.pagination.total_count, 5);
    assert.equal((await api('/runs/?limit=101')).status, 400);
    assert.equal((await api('/runs/?order_by=status')).status, 400);
    const finished = await api('/runs/?job_definition_id=2&order_by=-finished_at&limit=1');
    assert.equal(finished.body.data[0].is_complete, true);
  });

  it('GET jobs/{id}/ answers 404 for a job that does not exist; so does a trigger; a missing cause is a 400', async () => {
    assert.equal((await api('/jobs/1/')).status, 200);
    assert.equal((await api('/jobs/99/')).status, 404);
    assert.equal((await trigger(99, 'x')).status, 404);
    assert.equal((await api('/jobs/1/run/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 400);
  });

  it('never deduplicates: the same trigger twice queues two runs', async () => {
    await trigger(1, 'same [event e2]');
    await trigger(1, 'same [event e2]');
    assert.equal(dbt.runsFor('e2').length, 2);
  });

  it('"run started but the answer lost": the run exists, the connection is dropped', async () => {
    dbt.failTriggers('lost');
    await assert.rejects(trigger(1, 'lost [event e3]'));
    assert.equal(dbt.runsFor('e3').length, 1);
  });
});
