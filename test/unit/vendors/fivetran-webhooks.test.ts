import assert from 'node:assert/strict';
import { checkFivetranSignature } from '../../../functions/ingest/fivetran/signature.js';
import { fakeFivetran, type FakeFivetran } from '../../../functions/local/fake-fivetran.js';
import { RecordingServer } from '../../../functions/local/recording-server.js';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { FivetranClient } from '../../../functions/vendors/fivetran.js';
import { VendorApiError } from '../../../functions/vendors/vendor-error.js';

// Fivetran's webhook API, client against stand-in: the stand-in must keep the quirks
// `postload connect` is built around (the creation test, the masked secret, HTTPS only),
// or the connect tests prove nothing.
describe('Fivetran webhooks: the client against the stand-in', () => {
  let fivetran: FakeFivetran;
  let receiver: RecordingServer;
  let client: FivetranClient;
  const deadline = () => deadlineIn(10_000);
  const fields = (over: Partial<{ url: string; events: string[]; active: boolean; secret: string }> = {}) => ({ url: `${receiver.url}/fivetran`, events: ['sync_end'], active: true, secret: 's'.repeat(40), ...over });
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VendorApiError, String(error));
    return error;
  };

  beforeEach(async () => {
    fivetran = fakeFivetran();
    receiver = new RecordingServer('receiver', () => ({ status: 202 }));
    await Promise.all([fivetran.start(), receiver.start()]);
    client = new FivetranClient({ baseUrl: `${fivetran.url}/v1`, apiKey: new Secret('K', fivetran.apiKey), apiSecret: new Secret('S', fivetran.apiSecret) });
  });
  afterEach(async () => {
    await Promise.all([fivetran.stop(), receiver.stop()]);
  });

  it('creating an active webhook POSTs a signed test_event to the URL first; the answer masks the secret', async () => {
    const webhook = await client.createWebhook({ deadline: deadline(), scope: { type: 'account' }, fields: fields() });
    assert.deepEqual([webhook.type, webhook.groupId, webhook.active, webhook.events], ['account', null, true, ['sync_end']]);
    const [test] = receiver.requests;
    assert.equal((test!.json as { event: string }).event, 'test_event');
    assert.equal(checkFivetranSignature(Buffer.from(test!.body), test!.headers['x-fivetran-signature-256'] as string, [Buffer.from('s'.repeat(40))]), 'valid');
    const created = fivetran.requests.find((r) => r.method === 'POST')!;
    assert.equal(created.headers['content-type'], 'application/json');
    assert.equal(fivetran.replies.at(-1) !== 'hang' && fivetran.replies.at(-1) !== 'drop' && (fivetran.replies.at(-1) as { body: { data: { secret: string } } }).body.data.secret, '******');
  });

  it('a test not answered 2xx, a URL that is not HTTPS, an unknown event: 400, and nothing is created', async () => {
    receiver.script({ status: 401 });
    assert.equal((await failure(client.createWebhook({ deadline: deadline(), scope: { type: 'account' }, fields: fields() }))).details.status, 400);
    assert.equal((await failure(client.createWebhook({ deadline: deadline(), scope: { type: 'account' }, fields: fields({ url: 'http://postload.example.com/fivetran' }) }))).details.status, 400);
    assert.equal((await failure(client.createWebhook({ deadline: deadline(), scope: { type: 'account' }, fields: fields({ events: ['sync_ended'] }) }))).details.status, 400);
    assert.equal(fivetran.webhooks.webhooks.size, 0);
    assert.equal(receiver.requests.length, 1, 'only the valid request was tested');
  });

  it('an inactive webhook is not tested until a PATCH activates it', async () => {
    fivetran.addConnection({ id: 'c1' }); // its group, local_group, exists from now on
    const webhook = await client.createWebhook({ deadline: deadline(), scope: { type: 'group', groupId: 'local_group' }, fields: fields({ active: false }) });
    assert.equal(receiver.requests.length, 0);
    receiver.script({ status: 500 });
    assert.equal((await failure(client.updateWebhook({ deadline: deadline(), id: webhook.id, fields: { active: true } }))).details.status, 400);
    assert.equal(fivetran.webhooks.webhooks.get(webhook.id)!.active, false, 'a failed activation changes nothing');
    const active = await client.updateWebhook({ deadline: deadline(), id: webhook.id, fields: { active: true, events: ['sync_end', 'sync_start'] } });
    assert.deepEqual([active.active, active.events, active.groupId], [true, ['sync_end', 'sync_start'], 'local_group']);
    assert.equal(receiver.requests.length, 2);
  });

  it('lists every webhook over cursor pages of 1,000, account and group mixed; getGroup knows the groups', async () => {
    for (let i = 0; i < 1_050; i++) fivetran.webhooks.add({ url: `https://x${i}.example.com`, ...(i % 2 ? { type: 'group' as const, group_id: 'g' } : {}) });
    const all = await client.listWebhooks({ deadline: deadline() });
    assert.equal(all.length, 1_050);
    assert.equal(all.filter((w) => w.type === 'group' && w.groupId === 'g').length, 525);
    assert.equal(fivetran.requests.length, 2);
    fivetran.groups.add('warehouse');
    assert.deepEqual(await client.getGroup({ deadline: deadline(), groupId: 'warehouse' }), { id: 'warehouse', name: 'Destination warehouse' });
    assert.equal(await client.getGroup({ deadline: deadline(), groupId: 'nope' }), null);
  });

  it('delivers an event to the active webhooks it concerns, each signed with its own secret', async () => {
    fivetran.addConnection({ id: 'c1', group_id: 'g1' });
    fivetran.webhooks.add({ url: `${receiver.url}/a`, secret: 'a'.repeat(32), events: ['sync_end'] });
    fivetran.webhooks.add({ url: `${receiver.url}/b`, type: 'group', group_id: 'g2', secret: 'b'.repeat(32), events: ['sync_end'] });
    fivetran.webhooks.add({ url: `${receiver.url}/c`, active: false, events: ['sync_end'] });
    fivetran.webhooks.add({ url: `${receiver.url}/d`, events: ['sync_start'] });
    const delivered = await fivetran.webhooks.deliver(fivetran.finishSync('c1'));
    assert.deepEqual(delivered.map((d) => d.status), [202]);
    assert.equal(receiver.requests[0]!.url, '/a');
    assert.equal(checkFivetranSignature(Buffer.from(receiver.requests[0]!.body), receiver.requests[0]!.headers['x-fivetran-signature-256'] as string, [Buffer.from('a'.repeat(32))]), 'valid');
  });

  it('refuses a POST without Content-Type: application/json (415), and an answer of another shape is garbage', async () => {
    const response = await fetch(`${fivetran.url}/v1/webhooks/account`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${fivetran.apiKey}:${fivetran.apiSecret}`).toString('base64')}` }, body: '{}' });
    assert.equal(response.status, 415);
    fivetran.script({ status: 200, body: { code: 'Success', data: { items: [{ id: 'w', type: 'team', url: 'x', events: [], active: true }] } } });
    assert.equal((await failure(client.listWebhooks({ deadline: deadline() }))).failure, 'garbage');
  });
});
