import assert from 'node:assert/strict';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { fakeAirbyte, javaOffsetDateTime, type FakeAirbyte } from '../../../functions/local/fake-airbyte.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { AirbyteClient } from '../../../functions/vendors/airbyte.js';
import { VendorApiError } from '../../../functions/vendors/vendor-error.js';

describe('the Airbyte API client', () => {
  let airbyte: FakeAirbyte;
  const client = (options: { secret?: string } = {}) =>
    new AirbyteClient({ baseUrl: `${airbyte.url}/v1`, clientId: new Secret('AIRBYTE_API_CLIENT_ID', airbyte.clientId), clientSecret: new Secret('AIRBYTE_API_CLIENT_SECRET', options.secret ?? airbyte.clientSecret) });
  const deadline = () => deadlineIn(10_000);
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VendorApiError, `expected a VendorApiError, got ${String(error)}`);
    return error;
  };
  const paths = () => airbyte.requests.map((r) => `${r.method} ${new URL(r.url, 'http://x').pathname}`);

  beforeEach(async () => {
    airbyte = fakeAirbyte();
    await airbyte.start();
  });
  afterEach(() => airbyte.stop());

  it('asks for a token once and reuses it; reads every connection over pages of 100 with its schedule', async () => {
    for (let i = 0; i < 230; i++) airbyte.addConnection({ connectionId: `conn-${i}`, createdAt: i });
    airbyte.addConnection({ connectionId: 'cron', createdAt: 1000, schedule: { scheduleType: 'cron', cronExpression: '0 0 12 * * ? Europe/Berlin' } });
    airbyte.addConnection({ connectionId: 'manual', createdAt: 1001, status: 'inactive', schedule: { scheduleType: 'manual' } });
    airbyte.addConnection({ connectionId: 'legacy', createdAt: 1002, schedule: { scheduleType: 'basic' } });
    const api = client();
    const { connections, skipped } = await api.listConnections({ deadline: deadline() });
    await api.listConnections({ deadline: deadline() });
    assert.equal(connections.length, 233);
    assert.deepEqual(skipped, []);
    assert.equal(paths().filter((p) => p === 'POST /v1/applications/token').length, 1);
    const token = airbyte.requests[0]!.json as Record<string, string>;
    assert.deepEqual([token.grant_type, token['grant-type']], ['client_credentials', 'client_credentials']);
    assert.deepEqual(connections.find((c) => c.connectionId === 'conn-5')!.schedule, { type: 'basic', every: { units: 24, unit: 'HOURS' }, text: 'Every 24 HOURS' });
    assert.deepEqual(connections.find((c) => c.connectionId === 'cron')!.schedule, { type: 'cron', expression: '0 0 12 * * ? Europe/Berlin' });
    assert.deepEqual(connections.find((c) => c.connectionId === 'manual')!.schedule, { type: 'manual' });
    assert.equal(connections.find((c) => c.connectionId === 'manual')!.status, 'inactive');
    assert.deepEqual(connections.find((c) => c.connectionId === 'legacy')!.schedule, { type: 'basic', every: null, text: null });
  });

  it('a token refused mid-way (expired early) is replaced once and the call repeated', async () => {
    airbyte.addConnection({ connectionId: 'a' });
    const api = client();
    await api.listConnections({ deadline: deadline() });
    airbyte.script({ status: 401, body: { status: 401, title: 'invalid-api-key' } });
    const { connections } = await api.listConnections({ deadline: deadline() });
    assert.equal(connections.length, 1);
    assert.deepEqual(paths(), ['POST /v1/applications/token', 'GET /v1/connections', 'GET /v1/connections', 'POST /v1/applications/token', 'GET /v1/connections']);
  });

  it('lists sync jobs updated since a time, newest first, reading Java-style times ("…T10:05Z")', async () => {
    airbyte.addConnection({ connectionId: 'a' });
    const old = airbyte.runJob('a', { at: new Date('2026-05-01T09:00:00Z') }).job;
    const mid = airbyte.runJob('a', { status: 'failed', at: new Date('2026-05-01T10:05:00Z') }).job;
    const last = airbyte.runJob('a', { at: new Date('2026-05-01T10:07:31Z') }).job;
    const { jobs, complete } = await client().listJobs({ deadline: deadline(), updatedSince: Date.parse('2026-05-01T10:00:00Z') });
    assert.equal(complete, true);
    assert.deepEqual(jobs.map((j) => j.jobId), [last.jobId, mid.jobId]);
    assert.ok(!jobs.some((j) => j.jobId === old.jobId));
    assert.equal(jobs[1]!.endedAt, Date.parse('2026-05-01T10:05:00Z'));
    assert.equal(jobs[1]!.status, 'failed');
    const query = new URL(airbyte.requests.at(-1)!.url, 'http://x').searchParams;
    assert.deepEqual([query.get('orderBy'), query.get('jobType')], ['updatedAt|DESC', 'sync']);
  });

  it('wrong credentials are refused; a 429 is rate-limited; garbage and bad items are told apart', async () => {
    assert.equal((await failure(client({ secret: 'nope' }).listConnections({ deadline: deadline() }))).failure, 'refused');
    const api = client();
    airbyte.addConnection({ connectionId: 'a' });
    await api.listConnections({ deadline: deadline() });
    airbyte.rateLimit(1, 30);
    const limited = await failure(api.listConnections({ deadline: deadline() }));
    assert.deepEqual([limited.failure, limited.details.retryAfterMs], ['rate-limited', 30_000]);
    airbyte.script({ status: 200, body: { items: [] } });
    assert.equal((await failure(api.listConnections({ deadline: deadline() }))).failure, 'garbage');
    airbyte.script({ status: 200, body: { data: [{ jobId: 1, connectionId: 'a', status: 'succeeded', startTime: 'x' }, { jobId: 2, connectionId: 'a', status: 'succeeded', startTime: '2026-05-01T10:00Z', lastUpdatedAt: '2026-05-01T10:01:02Z' }] } });
    const { jobs, skipped } = await api.listJobs({ deadline: deadline(), updatedSince: 0 });
    assert.deepEqual(jobs.map((j) => j.jobId), [2]);
    assert.deepEqual(skipped, [{ item: 'job 1', problem: 'startTime is not a time' }]);
  });
});

describe('the Airbyte API stand-in', () => {
  it('writes times as Java\'s OffsetDateTime.toString() does, and refuses a malformed orderBy', async () => {
    assert.equal(javaOffsetDateTime(Date.parse('2023-03-25T01:30:50Z') / 1000), '2023-03-25T01:30:50Z');
    assert.equal(javaOffsetDateTime(Date.parse('2023-03-25T01:30:00Z') / 1000), '2023-03-25T01:30Z');
    const airbyte = fakeAirbyte();
    await airbyte.start();
    try {
      const token = (await (await fetch(`${airbyte.url}/v1/applications/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${airbyte.clientId}&client_secret=${airbyte.clientSecret}&grant-type=client_credentials` })).json()) as { access_token: string; expires_in: number };
      assert.equal(token.expires_in, 900);
      const jobs = await fetch(`${airbyte.url}/v1/jobs?orderBy=updatedAt`, { headers: { authorization: `Bearer ${token.access_token}` } });
      assert.equal(jobs.status, 400);
      assert.equal(((await jobs.json()) as { title: string }).title, 'bad-request');
      assert.equal((await fetch(`${airbyte.url}/v1/jobs`)).status, 401);
    } finally {
      await airbyte.stop();
    }
  });
});
