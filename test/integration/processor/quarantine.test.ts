import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { interpret } from '../../../functions/ingest/interpret.js';
import { deliveredMessages, fakeSlack } from '../../../functions/local/fake-slack.js';
import { TransientError } from '../../../functions/processor/errors.js';
import { QUARANTINE_ALERTS_COLLECTION } from '../../../functions/processor/store/quarantine-alert-documents.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { processorHarness } from '../../support/processor-harness.js';
import { pubSubCloudEvent } from '../../support/sync-event-fixtures.js';
import { fixtureNames, fixtureText } from '../../support/webhook-fixtures.js';

// The processor side of issue 9 on the Firestore emulator with the loopback dbt Cloud and
// Slack stand-ins: quarantined events are recorded and alerted at most once per UTC day per
// (source, vendor event, problem code); test notifications start nothing. Events are built
// by the real ingest interpretation from vendor-shaped bodies. The alert documents live in
// one fixed collection, so every test works on a day of its own.

const WEBHOOK_PATH = '/services/T000/B000/quarantinewebhook';
const ROUTING = {
  routes: [
    // Takes every Airbyte event, and starts its job on more than successes: a test must still start nothing.
    { name: 'all-airbyte', match: { source: 'airbyte' }, dbtJobs: [{ jobId: 501, on: ['sync.succeeded', 'sync.failed', 'schema.changed', 'connector.disabled'] }] },
    { name: 'orders', match: { source: 'fivetran', connectorId: 'orders' }, dbtJobs: [{ jobId: 502 }] },
  ],
};

// In the future: the processor acts on nothing received longer ago than AUDIT_RETENTION_DAYS.
const BASE_DAY = Date.UTC(2100 + randomInt(0, 800), 0, 1);
let days = 0;
/** A receipt time at noon on a UTC day no other test (nor the rest of the run) uses; the day after it is the test's too. */
const freshDay = () => new Date(BASE_DAY + days++ * 2 * 86_400_000 + 12 * 3_600_000);

/** A signed-and-accepted Fivetran sync_end that fails its webhook schema at `field`, through the real ingest interpretation. */
function fivetranQuarantined(receivedAt: Date, field: 'connector_id' | 'created' = 'connector_id', event = 'sync_end'): SyncEvent {
  const body: Record<string, unknown> = { event, created: '2026-11-29T12:00:00Z', connector_type: 'postgres', connector_id: 'orders', destination_group_id: 'g', sync_id: randomUUID(), data: { status: 'SUCCESSFUL' } };
  body[field] = 42;
  const quarantined = interpret('fivetran', Buffer.from(JSON.stringify(body)), receivedAt);
  assert.equal(quarantined.type, 'quarantined');
  return quarantined;
}

describe('processSyncEvent: quarantined events and test notifications (Firestore emulator, loopback dbt Cloud and Slack)', function () {
  this.timeout(60_000);
  const h = processorHarness({
    routing: ROUTING,
    token: 'dbtc_quarantine',
    webhookPath: WEBHOOK_PATH,
    prefix: 'q-',
    env: {
      OUTBOUND_TIMEOUT_MS: '2000',
      OUTBOUND_BUDGET_MS: '8000',
      OUTBOUND_RETRY_MIN_DELAY_MS: '10',
      OUTBOUND_RETRY_MAX_DELAY_MS: '50',
      OUTBOUND_MAX_ATTEMPTS: '2',
      ACTION_LEASE_SECONDS: '30',
    },
  });
  const { dbt, slack, logs: logLines, processor, audit } = h;

  const alerts = () => deliveredMessages(slack).filter((m) => /postload could not interpret/.test(m.text));

  it('a quarantined event is recorded (type, problems, payload) and alerted once, naming what was not understood and where to look', async () => {
    const event = fivetranQuarantined(freshDay());
    await processor()(pubSubCloudEvent(event, 'm-1'));
    await processor()(pubSubCloudEvent(event, 'm-1')); // a redelivery changes nothing

    assert.equal(alerts().length, 1);
    assert.equal(slack.requests[0]!.url, WEBHOOK_PATH);
    const text = `${alerts()[0]!.text}\n${JSON.stringify(alerts()[0]!.blocks)}`;
    assert.match(text, /Fivetran webhook \(sync_end\)/);
    assert.match(text, /`schema_violation` at `\/connector_id`/);
    assert.match(text, new RegExp(`postload event ${event.id}`));
    assert.equal(dbt.requests.length, 0, 'nothing started');

    const record = await audit(event.id);
    assert.equal(record.type, 'quarantined');
    assert.equal(record.status, 'processed');
    assert.equal(record.deliveries, 2);
    assert.deepEqual((record.problems as Array<{ code: string; pointer: string }>).map((p) => [p.code, p.pointer]), [['schema_violation', '/connector_id']]);
    assert.match(record.payloadJson as string, /"connector_id":42/);
    assert.equal(record.actions.slack?.sent, true);

    const day = (await h.db.collection(QUARANTINE_ALERTS_COLLECTION).where('eventId', '==', event.id).get()).docs.map((d) => d.data());
    assert.equal(day.length, 1);
    assert.deepEqual([day[0]!.source, day[0]!.vendorEvent, day[0]!.code], ['fivetran', 'sync_end', 'schema_violation']);
  });

  it('a second identical one (another event, same source, vendor event and problem, same day) is recorded but not alerted again', async () => {
    const at = freshDay();
    const first = fivetranQuarantined(at);
    const second = fivetranQuarantined(new Date(at.getTime() + 3_600_000));
    assert.notEqual(first.id, second.id);
    await processor()(pubSubCloudEvent(first));
    await processor()(pubSubCloudEvent(second));

    assert.equal(alerts().length, 1);
    const record = await audit(second.id);
    assert.equal(record.status, 'processed');
    assert.equal(record.type, 'quarantined');
    assert.equal(record.actions.slack?.status, 'succeeded');
    assert.equal(record.actions.slack?.sent, false);
    assert.deepEqual(record.actions.slack?.alreadyAlertedBy, [first.id]);
    assert.ok(logLines.some((line) => line.includes(second.id) && line.includes(`already alerted today by ${first.id}`)));
  });

  it('a different problem, another vendor event, or the next day is alerted', async () => {
    const at = freshDay();
    await processor()(pubSubCloudEvent(fivetranQuarantined(at)));
    await processor()(pubSubCloudEvent(interpret('fivetran', Buffer.from('{"event": "sync_end", '), at))); // invalid_json, vendor event unknown
    await processor()(pubSubCloudEvent(fivetranQuarantined(at, 'connector_id', 'sync_start')));
    await processor()(pubSubCloudEvent(fivetranQuarantined(new Date(at.getTime() + 86_400_000))));
    await processor()(pubSubCloudEvent(fivetranQuarantined(at, 'created'))); // same code, another field: the same problem
    assert.equal(alerts().length, 4);
  });

  it('the notify lists do not silence it: an alert about postload, not a notification about a connector', async () => {
    const quiet = JSON.stringify({ ...ROUTING, slack: { notify: [] } });
    const event = fivetranQuarantined(freshDay());
    await processor({ ROUTING_CONFIG: quiet })(pubSubCloudEvent(event));
    assert.equal(alerts().length, 1);
  });

  it('fault: Slack failing the first alert leaves the day with that event; its redelivery sends it, a second event in between does not', async () => {
    const at = freshDay();
    const first = fivetranQuarantined(at);
    const second = fivetranQuarantined(at);
    slack.script({ status: 503, body: 'unavailable' }, { status: 503, body: 'unavailable' });
    await assert.rejects(processor()(pubSubCloudEvent(first)), TransientError);
    assert.equal((await audit(first.id)).actions.slack?.status, 'retry');

    await processor()(pubSubCloudEvent(second));
    assert.equal(alerts().length, 0);
    assert.equal((await audit(second.id)).actions.slack?.sent, false);

    await processor()(pubSubCloudEvent(first));
    assert.equal(alerts().length, 1);
    assert.match(alerts()[0]!.text, new RegExp(first.id));
    assert.equal((await audit(first.id)).status, 'processed');
  });

  it('concurrent: eight events with the same problem at once, on separate instances, give exactly one alert', async () => {
    const at = freshDay();
    const events = Array.from({ length: 8 }, () => fivetranQuarantined(at));
    const results = await Promise.allSettled(events.map((event) => processor()(pubSubCloudEvent(event))));
    for (const result of results) if (result.status === 'rejected') assert.ok(result.reason instanceof TransientError, String(result.reason));
    // Pub/Sub redelivers whatever threw.
    for (const [i, result] of results.entries()) if (result.status === 'rejected') await processor()(pubSubCloudEvent(events[i]!));

    assert.equal(alerts().length, 1);
    const records = await Promise.all(events.map((event) => audit(event.id)));
    assert.ok(records.every((record) => record.status === 'processed'));
    assert.equal(records.filter((record) => record.actions.slack?.sent === true).length, 1);
  });

  for (const name of fixtureNames('airbyte').filter((fixture) => fixture.startsWith('test-'))) {
    it(`Airbyte's ${name} (normalised by the ingest normaliser), routed to a dbt job, starts nothing`, async () => {
      const event = interpret('airbyte', Buffer.from(fixtureText('airbyte', name)), freshDay());
      assert.equal(event.type, 'test');
      await processor()(pubSubCloudEvent(event));

      assert.equal(dbt.requests.length, 0, 'no dbt Cloud request at all');
      assert.equal(slack.requests.length, 0, 'tests are not notified unless a route asks');
      const record = await audit(event.id);
      assert.equal(record.status, 'processed');
      assert.deepEqual(record.routes, ['all-airbyte']);
      assert.deepEqual(Object.keys(record.actions), ['slack']);
      if (event.connector.id) assert.equal((await h.db.collection(h.env.CONNECTORS_COLLECTION!).doc(`airbyte-${event.connector.id}`).get()).exists, false, 'no made-up connector');
    });
  }

  it('a route that asks for test notifications gets one message saying it is a test, and still no dbt run', async () => {
    const routing = JSON.stringify({ routes: [{ ...ROUTING.routes[0], slack: { notify: ['test', 'sync.failed'] } }] });
    const event = interpret('airbyte', Buffer.from(fixtureText('airbyte', 'test-sync-failed')), freshDay());
    await processor({ ROUTING_CONFIG: routing })(pubSubCloudEvent(event));
    assert.equal(dbt.requests.length, 0);
    assert.equal(deliveredMessages(slack).length, 1);
    assert.match(deliveredMessages(slack)[0]!.text, /Airbyte test notification/);
  });
});
