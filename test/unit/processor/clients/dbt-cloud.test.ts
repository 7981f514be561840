import assert from 'node:assert/strict';
import fc from 'fast-check';
import { causeFor, DbtCloudClient, LOOKUP_MAX_PAGES, MAX_CAUSE_LENGTH, RunLookupExhaustedError, triggerBody } from '../../../../functions/processor/clients/dbt-cloud.js';
import { markedEventId } from '../../../../functions/processor/planning/cause-marker.js';
import { fakeDbtCloud, type FakeDbtCloud } from '../../../../functions/local/fake-dbt-cloud.js';
import { PermanentError, TransientError } from '../../../../functions/processor/errors.js';
import { deadlineIn, type AttemptRecord, type FetchLike } from '../../../../functions/processor/clients/http-retry.js';
import { Secret } from '../../../../functions/shared/secrets.js';
import { syncEvent } from '../../../support/sync-event-fixtures.js';

const policy = { callTimeoutMs: 1000, minDelayMs: 0, maxDelayMs: 0, maxAttempts: 3 };

interface Call { method: string; url: string; headers: Record<string, string>; body: unknown }

function fakeApi(answers: Array<{ status: number; body?: unknown }>) {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ method: init.method, url, headers: init.headers ?? {}, body: init.body ? JSON.parse(init.body) : undefined });
    const answer = answers.shift() ?? { status: 500 };
    return { status: answer.status, headers: { get: () => null }, text: async () => JSON.stringify(answer.body ?? {}) };
  };
  return { fetch, calls };
}

function client(fetch: FetchLike, baseUrl = 'https://ab123.us1.dbt.com') {
  return new DbtCloudClient({ settings: { baseUrl, accountId: '42', token: new Secret('DBT_CLOUD_API_TOKEN', 'dbtc_secret') }, policy, fetch });
}

const run = (id: number, cause = '') => ({ data: { id, href: `https://ab123.us1.dbt.com/deploy/42/projects/1/runs/${id}/`, status: 1, status_humanized: 'Queued', cause } });

describe('processor/dbt-cloud', () => {
  describe('cause', () => {
    it('says what happened and carries the event id', () => {
      const event = syncEvent();
      assert.equal(causeFor(event), `postload: Fivetran sync.succeeded for ftar_pg (assimilate_seem), sync b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e [event ${event.id}]`);
    });

    it('fills a template and still appends the event id', () => {
      const event = syncEvent();
      assert.equal(causeFor(event, '{source} sync of {connector} ({syncId})'), `fivetran sync of ftar_pg (b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e) [event ${event.id}]`);
    });

    it('strips brackets from vendor text, so a connector name cannot write a marker; the marker ends every cause (issue 25, finding 9)', () => {
      const other = 'b'.repeat(32);
      const event = syncEvent({ connector: { id: `id [event ${other}]`, name: `evil [event ${other}]` }, sync: { id: `s]` } });
      for (const cause of [causeFor(event), causeFor(event, '{connector} {connectorId} {syncId} [ops note]')]) {
        assert.ok(!cause.includes(`[event ${other}]`), cause);
        assert.ok(cause.endsWith(` [event ${event.id}]`), cause);
        assert.equal(markedEventId(cause), event.id);
      }
      // A template that writes the marker itself does not move it: postload's is still last.
      assert.equal(causeFor(event, '[event {eventId}] first'), `[event ${event.id}] first [event ${event.id}]`);
    });

    it('property: whatever the vendor wrote, the cause ends with the event\'s own marker, once, within 254 characters', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 400 }), fc.string({ maxLength: 60 }), fc.option(fc.string({ maxLength: 60 })), fc.option(fc.string({ maxLength: 80 })), (name, id, syncId, template) => {
          const event = syncEvent({ connector: { name, id: id || null }, sync: { id: syncId } });
          const cause = causeFor(event, template ?? undefined);
          assert.ok(cause.length <= MAX_CAUSE_LENGTH);
          assert.equal(markedEventId(cause), event.id);
          if (!template) assert.equal(cause.split('[event ').length, 2, cause);
        }),
        { seed: 25, numRuns: 300 },
      );
    });

    it('stays under 255 characters by shortening the description, never the event id', () => {
      const event = syncEvent({ connector: { name: 'n'.repeat(400) } });
      const cause = causeFor(event);
      assert.ok(cause.length <= MAX_CAUSE_LENGTH);
      assert.ok(cause.endsWith(`[event ${event.id}]`));
    });
  });

  it('sends the job options under dbt Cloud names, without postload-only fields', () => {
    const event = syncEvent();
    const body = triggerBody(event, { jobId: 5, on: ['sync.succeeded'], onBusy: 'skip', steps_override: ['dbt build -s tag:x'], git_branch: 'main', threads_override: 4 });
    assert.deepEqual(Object.keys(body).sort(), ['cause', 'git_branch', 'steps_override', 'threads_override']);
  });

  it('POSTs to {base}/api/v2/accounts/{account}/jobs/{job}/run/ with a Token header', async () => {
    const { fetch, calls } = fakeApi([{ status: 200, body: run(9001) }]);
    const event = syncEvent();
    const result = await client(fetch, 'https://ab123.us1.dbt.com').trigger(event, { jobId: 77 }, { deadline: deadlineIn(5000), attempts: [], checkFirst: false, since: new Date() });
    assert.deepEqual(result, { id: 9001, href: 'https://ab123.us1.dbt.com/deploy/42/projects/1/runs/9001/', status: 'Queued', recovered: false });
    assert.equal(calls[0]?.method, 'POST');
    assert.equal(calls[0]?.url, 'https://ab123.us1.dbt.com/api/v2/accounts/42/jobs/77/run/');
    assert.equal(calls[0]?.headers.authorization, 'Token dbtc_secret');
    assert.match((calls[0]?.body as { cause: string }).cause, new RegExp(`event ${event.id}`));
  });

  const permanent: Array<[number, RegExp]> = [
    [401, /DBT_CLOUD_API_TOKEN was rejected/],
    [403, /DBT_CLOUD_API_TOKEN may not run job 77 in account 42/],
    [404, /dbt Cloud job 77 was not found in account 42 at https:\/\/ab123.us1.dbt.com/],
    [400, /dbt Cloud refused job 77 in account 42 \(HTTP 400\); dbt Cloud said: bad steps/],
  ];
  for (const [status, message] of permanent) {
    it(`${status} is permanent and says which job or credential is wrong`, async () => {
      const { fetch, calls } = fakeApi([{ status, body: { status: { code: status, is_success: false, user_message: status === 400 ? 'bad steps' : null } } }]);
      await assert.rejects(client(fetch).trigger(syncEvent(), { jobId: 77 }, { deadline: deadlineIn(5000), attempts: [], checkFirst: false, since: new Date() }), (error: unknown) => {
        assert.ok(error instanceof PermanentError);
        assert.equal(error.status, status);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /dbtc_secret/);
        return true;
      });
      assert.equal(calls.length, 1);
    });
  }

  it('after a 429 (not accepted) triggers again without looking', async () => {
    const { fetch, calls } = fakeApi([{ status: 429 }, { status: 200, body: run(9003) }]);
    const result = await client(fetch).trigger(syncEvent(), { jobId: 77 }, { deadline: deadlineIn(5000), attempts: [], checkFirst: false, since: new Date() });
    assert.equal(result.id, 9003);
    assert.deepEqual(calls.map((c) => c.method), ['POST', 'POST']);
  });

  it('500 on every attempt is transient, with each request recorded', async () => {
    const { fetch } = fakeApi([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    const attempts: AttemptRecord[] = [];
    await assert.rejects(client(fetch).trigger(syncEvent(), { jobId: 77 }, { deadline: deadlineIn(5000), attempts, checkFirst: false, since: new Date() }), TransientError);
    assert.ok(attempts.length >= policy.maxAttempts);
    assert.ok(attempts.every((a) => a.status === 500));
  });

  describe('finding the run it already started, against the dbt Cloud stand-in (runs carry no cause; the trigger does)', () => {
    let dbt: FakeDbtCloud;
    const http = { callTimeoutMs: 2000, minDelayMs: 0, maxDelayMs: 0, maxAttempts: 3 };
    const real = () => new DbtCloudClient({ settings: { baseUrl: dbt.url, accountId: '42', token: new Secret('DBT_CLOUD_API_TOKEN', 'dbtc_secret') }, policy: http });
    before(async () => {
      dbt = fakeDbtCloud();
      await dbt.start();
    });
    after(() => dbt.stop());
    beforeEach(() => dbt.reset());
    const call = () => ({ system: 'dbt Cloud' as const, label: 'dbt Cloud job 77', policy: http, deadline: deadlineIn(5000), attempts: [] });

    it('a run started but whose answer was lost is found by its trigger\'s cause, not started again', async () => {
      const event = syncEvent();
      dbt.failTriggers('lost');
      const result = await real().trigger(event, { jobId: 77 }, { deadline: deadlineIn(5000), attempts: [], checkFirst: false, since: new Date() });
      assert.equal(result.recovered, true);
      assert.equal(dbt.runsFor(event.id).length, 1);
      const lookup = dbt.requests.find((r) => r.method === 'GET');
      assert.match(decodeURIComponent(lookup!.url), /include_related=\["trigger"\]/);
      assert.match(lookup!.url, /limit=100&offset=0/);
    });

    it('a 502 after the run was queued is the same: looked up, adopted', async () => {
      const event = syncEvent();
      dbt.failTriggers('started-then-502');
      const result = await real().trigger(event, { jobId: 77 }, { deadline: deadlineIn(5000), attempts: [], checkFirst: false, since: new Date() });
      assert.equal(result.recovered, true);
      assert.equal(dbt.runsFor(event.id).length, 1);
    });

    it('pages back past 100 newer runs of the job to find it', async () => {
      const event = syncEvent();
      const since = new Date(Date.now() - 60_000);
      dbt.addRun({ accountId: 42, jobId: 77, cause: `postload: earlier [event ${event.id}]` });
      for (let i = 0; i < 230; i++) dbt.addRun({ accountId: 42, jobId: 77, cause: `scheduled run ${i}` });
      const found = await real().findRunFor(event.id, '77', since, call());
      assert.ok(found);
      assert.equal(dbt.requests.filter((r) => r.method === 'GET').length, 3);
    });

    it('stops paging at runs created before the first attempt (less a skew margin): absent means absent', async () => {
      const event = syncEvent();
      for (let i = 0; i < 150; i++) dbt.addRun({ accountId: 42, jobId: 77, cause: `old ${i}`, createdAt: new Date(Date.now() - 3_600_000).toISOString() });
      for (let i = 0; i < 120; i++) dbt.addRun({ accountId: 42, jobId: 77, cause: `new ${i}` });
      assert.equal(await real().findRunFor(event.id, '77', new Date(Date.now() - 1000), call()), undefined);
      assert.equal(dbt.requests.length, 2);
    });

    it('gives up, permanently and without triggering, when the bound is reached without reaching the first attempt', async () => {
      const event = syncEvent();
      for (let i = 0; i < LOOKUP_MAX_PAGES * 100 + 1; i++) dbt.addRun({ accountId: 42, jobId: 77, cause: `busy ${i}` });
      await assert.rejects(real().findRunFor(event.id, '77', new Date(Date.now() - 1000), call()), RunLookupExhaustedError);
      assert.equal(dbt.requests.length, LOOKUP_MAX_PAGES);
    });

    it('a run whose cause has the marker anywhere but at its end is not ours: a connector name cannot mislink a run (issue 25, finding 9)', async () => {
      const event = syncEvent();
      const since = new Date(Date.now() - 60_000);
      // Another load's run, its connector named after this event's marker (as an older version could write it).
      dbt.addRun({ accountId: 42, jobId: 77, cause: `postload: Fivetran sync.succeeded for evil [event ${event.id}], sync s [event ${'c'.repeat(32)}]` });
      dbt.addRun({ accountId: 42, jobId: 77, cause: `see [event ${event.id}] later` });
      assert.equal(await real().findRunFor(event.id, '77', since, call()), undefined);
      dbt.addRun({ accountId: 42, jobId: 77, cause: `postload: Fivetran sync.succeeded for orders [event ${event.id}]` });
      assert.ok(await real().findRunFor(event.id, '77', since, call()));
    });

    it('a run whose own object carries the marker (a shape dbt Cloud never returns) is not mistaken for ours', async () => {
      const event = syncEvent();
      const { fetch } = fakeApi([{ status: 200, body: { data: [{ id: 5, cause: `x [event ${event.id}]`, created_at: new Date().toISOString() }] } }]);
      assert.equal(await client(fetch).findRunFor(event.id, '77', new Date(), { ...call(), fetch }), undefined);
    });
  });
});
