import assert from 'node:assert/strict';
import { checkDbtCloudSignature } from '../../../functions/ingest/dbt-cloud/signature.js';
import { fakeDbtCloud, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { RecordingServer } from '../../../functions/local/recording-server.js';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { DbtCloudAdminClient, type DbtCloudWebhookBody } from '../../../functions/vendors/dbt-cloud.js';
import { VendorApiError } from '../../../functions/vendors/vendor-error.js';

// dbt Cloud's v3 webhook subscriptions, client against stand-in: hmac_secret only in the
// answer to a create, PUT of the whole body, plural and singular paths, offset paging.
describe('dbt Cloud webhooks: the client against the stand-in', () => {
  let dbt: FakeDbtCloud;
  let client: DbtCloudAdminClient;
  const deadline = () => deadlineIn(10_000);
  const body = (over: Partial<DbtCloudWebhookBody> = {}): DbtCloudWebhookBody => ({ name: 'postload', description: '', client_url: 'https://p.example/dbt-cloud', event_types: ['job.run.completed'], job_ids: [], active: true, ...over });

  beforeEach(async () => {
    dbt = fakeDbtCloud({ accounts: [7], token: 'admin-token' });
    await dbt.start();
    client = new DbtCloudAdminClient({ baseUrl: dbt.url, token: new Secret('T', 'admin-token') });
  });
  afterEach(() => dbt.stop());

  it('a create answers 201 with the hmac_secret; nothing else ever shows it', async () => {
    const { webhook, hmacSecret } = await client.createWebhook({ deadline: deadline(), accountId: '7', body: body({ job_ids: [3, 4] }) });
    assert.equal(dbt.replies.at(-1) !== 'hang' && dbt.replies.at(-1) !== 'drop' && (dbt.replies.at(-1) as { status: number }).status, 201);
    assert.match(webhook.id, /^wsu_/);
    assert.deepEqual(webhook.jobIds, ['3', '4'], 'job ids come back as strings');
    assert.equal(hmacSecret, dbt.subscriptions.subscriptions.get(webhook.id)!.hmac_secret);
    const listed = await client.listWebhooks({ deadline: deadline(), accountId: '7' });
    await client.updateWebhook({ deadline: deadline(), accountId: '7', id: webhook.id, body: body({ active: false }) });
    const one = await fetch(`${dbt.url}/api/v3/accounts/7/webhooks/subscription/${webhook.id}`, { headers: { authorization: 'Token admin-token' } }).then((r) => r.text());
    assert.equal(listed.length, 1);
    for (const request of dbt.replies.slice(1)) assert.ok(!JSON.stringify(request).includes(hmacSecret));
    assert.ok(!one.includes(hmacSecret));
    assert.equal(dbt.requests[0]!.headers.authorization, 'Token admin-token');
  });

  it('PUT needs the whole body (a missing field is a 400); DELETE removes; paths are plural to list and create, singular for one', async () => {
    const { webhook } = await client.createWebhook({ deadline: deadline(), accountId: '7', body: body() });
    const partial = await fetch(`${dbt.url}/api/v3/accounts/7/webhooks/subscription/${webhook.id}`, { method: 'PUT', headers: { authorization: 'Token admin-token', 'content-type': 'application/json' }, body: JSON.stringify({ active: false }) });
    assert.equal(partial.status, 400);
    await client.deleteWebhook({ deadline: deadline(), accountId: '7', id: webhook.id });
    assert.equal(dbt.subscriptions.subscriptions.size, 0);
    assert.deepEqual(dbt.requests.map((r) => `${r.method} ${r.url.replace(/\?.*/, '')}`), [
      'POST /api/v3/accounts/7/webhooks/subscriptions',
      `PUT /api/v3/accounts/7/webhooks/subscription/${webhook.id}`,
      `DELETE /api/v3/accounts/7/webhooks/subscription/${webhook.id}`,
    ]);
  });

  it('lists over pages of 100 until total_count; an unknown account is a 404, a wrong token a 401', async () => {
    for (let i = 0; i < 205; i++) dbt.subscriptions.add({ accountId: 7, client_url: `https://x${i}.example.com` });
    assert.equal((await client.listWebhooks({ deadline: deadline(), accountId: '7' })).length, 205);
    assert.deepEqual(dbt.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('offset')), ['0', '100', '200']);
    const unknown = await client.listWebhooks({ deadline: deadline(), accountId: '8' }).catch((e: unknown) => e);
    assert.ok(unknown instanceof VendorApiError && unknown.details.status === 404);
    const refused = await new DbtCloudAdminClient({ baseUrl: dbt.url, token: new Secret('T', 'wrong') }).listWebhooks({ deadline: deadline(), accountId: '7' }).catch((e: unknown) => e);
    assert.ok(refused instanceof VendorApiError && refused.details.status === 401 && refused.failure === 'refused');
  });

  it('delivers a run event to the subscriptions that take it, signed with each hmac_secret; five failures in a row deactivate one', async () => {
    const receiver = new RecordingServer('receiver', (r) => (r.url === '/down' ? { status: 503 } : { status: 202 }));
    await receiver.start();
    try {
      const up = dbt.subscriptions.add({ accountId: 7, client_url: `${receiver.url}/up`, job_ids: ['5'] });
      const down = dbt.subscriptions.add({ accountId: 7, client_url: `${receiver.url}/down` });
      dbt.subscriptions.add({ accountId: 7, client_url: `${receiver.url}/other-job`, job_ids: ['6'] });
      const run = dbt.addRun({ accountId: 7, jobId: 5, cause: 'scheduled' });
      dbt.setStatus(run.id, 10);
      const results = await dbt.subscriptions.deliver(7, 5, 'job.run.completed', dbt.webhookBody(run, 'job.run.completed'));
      assert.deepEqual(results.map((r) => [r.subscriptionId, r.status, r.attempts]), [[up.id, 202, 1], [down.id, 503, 5]]);
      const delivery = receiver.requests.find((r) => r.url === '/up')!;
      assert.equal(checkDbtCloudSignature(Buffer.from(delivery.body), delivery.headers.authorization as string, [Buffer.from(up.hmac_secret)]), 'valid');
      assert.equal(down.active, false);
      assert.match(String(down.deactivate_reason), /5 failed deliveries/);
    } finally {
      await receiver.stop();
    }
  });
});
