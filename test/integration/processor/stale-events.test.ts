import assert from 'node:assert/strict';
import { deliveredMessages } from '../../../functions/local/fake-slack.js';
import { processorHarness } from '../../support/processor-harness.js';
import { failedSync, pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// Issue 25, finding 4: a stale event (marked so by the ingest function, or received longer
// ago than the audit retention) is recorded and nothing else: no dbt job, no join, no Slack
// message, not even an alert. On the Firestore emulator with the loopback stand-ins.

const ROUTING = {
  routes: [{ name: 'orders', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 701 }], slack: { notify: ['sync.succeeded', 'sync.failed'] } }],
  joins: [{ name: 'mart', within: 'P1D', upstreams: [{ name: 'orders', match: { source: 'fivetran', connectorId: 'assimilate_seem' } }, { name: 'billing', match: { source: 'airbyte' } }], dbtJob: { jobId: 702 } }],
};

describe('processSyncEvent: stale events start and alert nothing (Firestore emulator, loopback dbt Cloud and Slack)', function () {
  this.timeout(60_000);
  const h = processorHarness({ routing: ROUTING, token: 'dbtc_stale', webhookPath: '/services/T000/B000/stale', prefix: 'stale-', env: { AUDIT_RETENTION_DAYS: '30' } });
  const { dbt, slack, logs } = h;
  const recent = () => new Date(Date.now() - 60_000).toISOString();

  it('the control: the same success, not stale, starts the job and notifies', async () => {
    await h.run(syncEvent({ receivedAt: recent() }));
    assert.equal(dbt.requests.filter((r) => r.method === 'POST').length, 1);
    assert.equal(deliveredMessages(slack).length, 1);
  });

  for (const [name, event] of [
    ['marked stale by the ingest function', () => syncEvent({ stale: true, receivedAt: recent() })],
    ['received longer ago than AUDIT_RETENTION_DAYS (a captured message published again)', () => syncEvent({ receivedAt: new Date(Date.now() - 31 * 86_400_000).toISOString() })],
    ['a stale failure (it would be alerted otherwise)', () => failedSync({ stale: true, receivedAt: recent() })],
  ] as const) {
    it(`${name}: recorded with why, nothing started, nothing sent, the join untouched`, async () => {
      const stale = event();
      await h.run(stale);
      assert.equal(dbt.requests.length, 0, 'no dbt Cloud request');
      assert.equal(slack.requests.length, 0, 'no Slack message, not even an alert');
      const record = await h.audit(stale.id);
      assert.equal(record.status, 'processed');
      assert.match(String(record.stale), /stale age|AUDIT_RETENTION_DAYS/);
      assert.deepEqual(record.actions ?? {}, {});
      assert.equal((await h.db.collection(h.env.JOINS_COLLECTION!).get()).size, 0, 'a stale success completes no join');
      assert.ok(logs.some((line) => line.includes(stale.id) && line.includes('stale event recorded: nothing started, nothing alerted')));
      // Delivered again: still nothing.
      await h.run(stale);
      assert.equal(dbt.requests.length + slack.requests.length, 0);
    });
  }

  it('a stale copy of an event already processed changes nothing: its record keeps its outcome, no stale mark', async () => {
    const event = syncEvent({ receivedAt: recent() });
    await h.run(event);
    const before = await h.audit(event.id);
    await h.run({ ...event, stale: true });
    const after = await h.audit(event.id);
    assert.equal(after.status, before.status);
    assert.equal(after.stale, undefined);
    assert.equal(dbt.requests.filter((r) => r.method === 'POST').length, 1, 'the job ran once, for the first copy');
  });
});
