import assert from 'node:assert/strict';
import type { DbtCloudWebhook } from '../../../functions/generated/dbt-cloud-webhook.schema.js';
import { checkDbtCloudSignature } from '../../../functions/ingest/dbt-cloud/signature.js';
import { fakeDbtCloud, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { pollUntil } from '../../../functions/local/poll.js';
import { RecordingServer } from '../../../functions/local/recording-server.js';
import { validator } from '../../../functions/shared/schemas.js';
import { fixture } from '../../support/webhook-fixtures.js';

// The stand-in must answer as dbt Cloud documents, or tests of "find the run I already
// started" prove nothing (docs.getdbt.com/dbt-cloud/api-v2).
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

  describe('run webhooks (dbt Cloud outbound webhooks, docs.getdbt.com/docs/deploy/webhooks)', () => {
    let receiver: RecordingServer;
    before(async () => {
      receiver = new RecordingServer('postload', () => ({ status: 202, body: {} }));
      await receiver.start();
    });
    after(() => receiver.stop());
    beforeEach(() => receiver.reset());
    const secret = 'whsec-local';
    const received = () => receiver.requests.map((r) => ({ type: (r.json as DbtCloudWebhook).eventType, body: r.json as DbtCloudWebhook, raw: r.body, auth: r.headers.authorization as string }));

    it('are off unless asked: a queued run sends nothing', async () => {
      await trigger(1, 'quiet [event e4]');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(dbt.webhookDeliveries.length, 0);
    });

    it('a failed run sends started, errored, completed: signed, schema-valid, shaped as the fixtures, the cause as runReason', async () => {
      dbt.sendRunWebhooks({ url: `${receiver.url}/dbt-cloud`, secret, delayMs: 10, endFor: () => 'error', errorMessage: () => 'Database Error in model orders' });
      const { body } = await trigger(1, 'postload: Fivetran sync.succeeded for orders_pg [event 6e84f591dfdad48136bab0ac6e4c52b8]');
      await receiver.waitFor(3);
      dbt.sendRunWebhooks(undefined);
      const events = received();
      assert.deepEqual(events.map((e) => e.type), ['job.run.started', 'job.run.errored', 'job.run.completed']);
      const schema = validator<DbtCloudWebhook>('dbt-cloud-webhook');
      const shape = fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.completed-errored');
      for (const event of events) {
        assert.equal(checkDbtCloudSignature(Buffer.from(event.raw), event.auth, [Buffer.from(secret)]), 'valid');
        assert.match(event.auth, /^[0-9a-f]{64}$/, 'lower-case hex, no scheme');
        assert.ok(schema(event.body), JSON.stringify(schema.errors));
        assert.deepEqual(Object.keys(event.body).sort(), Object.keys(shape).sort());
        assert.equal(event.body.data!.runId, String(body.data.id));
        assert.equal(event.body.data!.jobId, '1');
        assert.equal(event.body.data!.runReason, 'postload: Fivetran sync.succeeded for orders_pg [event 6e84f591dfdad48136bab0ac6e4c52b8]');
        assert.match(event.body.timestamp!, /\.\d{9}Z$/, 'nanoseconds');
      }
      const [started, errored, completed] = events.map((e) => e.body.data!);
      assert.equal(started!.runStatusCode, 3);
      assert.ok(!('runFinishedAt' in started!) && !('runErroredAt' in started!));
      assert.equal(errored!.runStatusCode, 20);
      assert.match(String(errored!.runErroredAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(completed!.runStatus, 'Errored');
      assert.equal(completed!.runStatusMessage, 'Database Error in model orders');
      assert.ok('runFinishedAt' in completed!);
      assert.equal(dbt.runs[0]!.status, 20, 'the API shows the same end');
    });

    it('a held run stays queued and reports nothing, while the next run of the job plays out (the demo keeps its burst job busy)', async () => {
      let seen = 0;
      dbt.sendRunWebhooks({ url: `${receiver.url}/dbt-cloud`, secret, delayMs: 10, hold: () => seen++ === 0 });
      const { body: held } = await trigger(1, 'held [event e6]');
      const { body: played } = await trigger(1, 'played [event e7]');
      await receiver.waitFor(2);
      await new Promise((resolve) => setTimeout(resolve, 50)); // a webhook for the held run would show up here
      dbt.sendRunWebhooks(undefined);
      assert.deepEqual(received().map((e) => [e.type, e.body.data!.runId]), [['job.run.started', String(played.data.id)], ['job.run.completed', String(played.data.id)]]);
      assert.equal(dbt.runs.find((r) => r.id === held.data.id)!.status, 1, 'still queued');
    });

    it('a delivery that is not answered 2xx is retried, as dbt Cloud does', async () => {
      receiver.script({ status: 503, body: 'busy' });
      dbt.sendRunWebhooks({ url: `${receiver.url}/dbt-cloud`, secret, delayMs: 10 });
      await trigger(1, 'retry [event e5]');
      await receiver.waitFor(3);
      await pollUntil(() => (dbt.webhookDeliveries.length === 2 ? true : undefined), { timeoutMs: 5000, everyMs: 10, failure: () => 'deliveries not recorded' });
      dbt.sendRunWebhooks(undefined);
      assert.deepEqual(received().map((e) => e.type), ['job.run.started', 'job.run.started', 'job.run.completed']);
      assert.deepEqual(dbt.webhookDeliveries.map((d) => [d.eventType, d.status, d.attempts]), [['job.run.started', 202, 2], ['job.run.completed', 202, 1]]);
      assert.equal(received()[2]!.body.data!.runStatus, 'Success');
    });
  });
});
