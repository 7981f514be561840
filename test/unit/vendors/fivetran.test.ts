import assert from 'node:assert/strict';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { fakeFivetran, type FakeFivetran } from '../../../functions/local/fake-fivetran.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { FivetranClient } from '../../../functions/vendors/fivetran.js';
import { VendorApiError } from '../../../functions/vendors/vendor-error.js';

// The client against the stand-in (a real HTTP server that answers as Fivetran documents):
// every failure mode must come out as the kind of VendorApiError the sweep acts on.
describe('the Fivetran API client', () => {
  let fivetran: FakeFivetran;
  const client = (options: { secret?: string; timeoutMs?: number } = {}) =>
    new FivetranClient({
      baseUrl: `${fivetran.url}/v1`,
      apiKey: new Secret('FIVETRAN_API_KEY', fivetran.apiKey),
      apiSecret: new Secret('FIVETRAN_API_SECRET', options.secret ?? fivetran.apiSecret),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
  const deadline = () => deadlineIn(10_000);
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VendorApiError, `expected a VendorApiError, got ${String(error)}`);
    return error;
  };

  beforeEach(async () => {
    fivetran = fakeFivetran();
    await fivetran.start();
  });
  afterEach(() => fivetran.stop());

  it('reads every connection over cursor pages of 1,000, with Basic auth and Accept: application/json', async () => {
    for (let i = 0; i < 2_345; i++) fivetran.addConnection({ id: `conn_${String(i).padStart(4, '0')}`, sync_frequency: 60 });
    fivetran.finishSync('conn_0007', { at: new Date('2026-05-01T10:00:00.250Z') });
    fivetran.addConnection({ id: 'manual_one', schedule_type: 'manual', paused: true, sync_frequency: 1440, daily_sync_time: '03:00' });
    const { connections, skipped } = await client().listConnections({ deadline: deadline() });
    assert.equal(connections.length, 2_346);
    assert.deepEqual(skipped, []);
    assert.equal(fivetran.requests.length, 3);
    assert.deepEqual(fivetran.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('limit')), ['1000', '1000', '1000']);
    assert.equal(fivetran.requests[0]!.headers.authorization, `Basic ${Buffer.from(`${fivetran.apiKey}:${fivetran.apiSecret}`).toString('base64')}`);
    assert.equal(fivetran.requests[0]!.headers.accept, 'application/json');
    const synced = connections.find((c) => c.id === 'conn_0007')!;
    assert.equal(synced.succeededAt, Date.parse('2026-05-01T10:00:00.250Z'));
    assert.equal(synced.failedAt, null);
    assert.equal(synced.syncFrequency, 60);
    const manual = connections.find((c) => c.id === 'manual_one')!;
    assert.deepEqual([manual.paused, manual.scheduleType, manual.dailySyncTime], [true, 'manual', '03:00']);
  });

  it('a wrong key is refused (401), a 429 is rate-limited with its Retry-After, a 503 and a hang are unavailable', async () => {
    fivetran.addConnection({ id: 'a' });
    const refused = await failure(client({ secret: 'wrong' }).listConnections({ deadline: deadline() }));
    assert.deepEqual([refused.failure, refused.details.status], ['refused', 401]);
    assert.ok(!refused.message.includes('wrong'), 'never the secret in a message');

    fivetran.rateLimit(1, 42);
    const limited = await failure(client().listConnections({ deadline: deadline() }));
    assert.deepEqual([limited.failure, limited.details.retryAfterMs], ['rate-limited', 42_000]);

    fivetran.script({ status: 503, body: 'upstream unavailable' });
    assert.equal((await failure(client().listConnections({ deadline: deadline() }))).failure, 'unavailable');

    fivetran.script('hang');
    const slow = await failure(client({ timeoutMs: 200 }).listConnections({ deadline: deadline() }));
    assert.equal(slow.failure, 'unavailable');
    assert.match(slow.message, /timed out after 200 ms/);
  });

  it('an answer that is not the documented shape is garbage; a bad item is skipped and named, the rest read', async () => {
    fivetran.script({ status: 200, body: '<html>maintenance</html>' });
    assert.equal((await failure(client().listConnections({ deadline: deadline() }))).failure, 'garbage');
    fivetran.script({ status: 200, body: { code: 'Success', data: { connections: [] } } });
    assert.equal((await failure(client().listConnections({ deadline: deadline() }))).failure, 'garbage');

    fivetran.script({
      status: 200,
      body: { code: 'Success', data: { items: [{ id: 'good', succeeded_at: '2026-05-01T10:00:00Z', paused: false, sync_frequency: 15 }, { id: 'bad', succeeded_at: 'yesterday' }, 42] } },
    });
    const { connections, skipped } = await client().listConnections({ deadline: deadline() });
    assert.deepEqual(connections.map((c) => c.id), ['good']);
    assert.deepEqual(skipped.map((s) => s.item), ['bad', 'page 1 item 2']);
    assert.match(skipped[0]!.problem, /succeeded_at is not a time/);
  });
});

describe('the Fivetran API stand-in', () => {
  let fivetran: FakeFivetran;
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${fivetran.url}${path}`, { headers: { authorization: `Basic ${Buffer.from(`${fivetran.apiKey}:${fivetran.apiSecret}`).toString('base64')}`, ...headers } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  before(async () => {
    fivetran = fakeFivetran();
    await fivetran.start();
    for (let i = 0; i < 5; i++) fivetran.addConnection({ id: `c${i}`, group_id: i < 3 ? 'g1' : 'g2' });
  });
  after(() => fivetran.stop());

  it('pages with limit (1..1000, default 100) and an opaque cursor absent on the last page; filters on group_id', async () => {
    const first = await get('/v1/connections?limit=2');
    assert.deepEqual(first.body.data.items.map((c: { id: string }) => c.id), ['c0', 'c1']);
    const second = await get(`/v1/connections?limit=2&cursor=${first.body.data.next_cursor}`);
    const third = await get(`/v1/connections?limit=2&cursor=${second.body.data.next_cursor}`);
    assert.deepEqual(third.body.data.items.map((c: { id: string }) => c.id), ['c4']);
    assert.ok(!('next_cursor' in third.body.data));
    assert.equal((await get('/v1/connections')).body.data.items.length, 5);
    assert.deepEqual((await get('/v1/connections?group_id=g2')).body.data.items.map((c: { id: string }) => c.id), ['c3', 'c4']);
    assert.equal((await get('/v1/connections?limit=1001')).status, 400);
    assert.equal((await get('/v1/connections?cursor=nonsense')).status, 400);
    assert.equal((await get('/v1/connections', { accept: 'text/html' })).status, 406);
    assert.equal((await fetch(`${fivetran.url}/v1/connections`)).status, 401);
  });

  it('finishSync moves succeeded_at or failed_at and returns the sync_end webhook, created a moment after the end', () => {
    const at = new Date('2026-05-01T10:00:00Z');
    const body = JSON.parse(fivetran.finishSync('c1', { status: 'FAILURE', at }));
    assert.equal(fivetran.connections.get('c1')!.failed_at, at.toISOString());
    assert.equal(body.event, 'sync_end');
    assert.equal(body.connector_id, 'c1');
    assert.equal(body.data.status, 'FAILURE');
    assert.ok(Date.parse(body.created) > at.getTime());
  });
});
