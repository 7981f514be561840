import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Firestore } from '@google-cloud/firestore';
import { fakeDbtCloud, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { deliveredMessages, fakeSlack, type FakeSlack } from '../../../functions/local/fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_CHANNEL } from '../../../functions/local/fake-slack-api.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import { createLogger } from '../../../functions/shared/logger.js';
import { buttonActionId } from '../../../functions/shared/slack-buttons.js';
import { readSweepConfig } from '../../../functions/sweep/config.js';
import { SNOOZE_MS } from '../../../functions/sweep/freshness/slack-sender.js';
import { createSweep, type Sweep } from '../../../functions/sweep/sweep.js';
import { emulator } from '../../support/global-hooks.js';
import { emulatorFirestore } from '../../support/processor-harness.js';
import { pubSubCloudEvent, syncEvent, TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

// A freshness incident through the Slack app (issue 31), on the Firestore emulator with the
// Slack Web API stand-in and a fake clock: one message with a snooze button, reminders in
// its thread, the recovery updating it in place; the thread's ts kept on the incident's
// record; and exactly one alert when a tick cannot record what it sent.

process.env.METADATA_SERVER_DETECTION ??= 'none';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-06-01T08:00:00Z');
const CONNECTOR = { id: 'assimilate_seem', name: 'orders_pg' };
const DOC = `fivetran-${CONNECTOR.id}`;

describe('a freshness incident through the Slack app: one message, threaded, updated in place', function () {
  this.timeout(120_000);
  let db: Firestore;
  let dbt: FakeDbtCloud;
  let slack: FakeSlack;
  let clock = T0;
  let env: Record<string, string>;
  let n = 0;
  const logs: string[] = [];
  const logger = createLogger(new Writable({ write(chunk: Buffer, _e, done) { logs.push(chunk.toString()); done(); } }));

  before(async function () {
    db = emulatorFirestore(await emulator('firestore', this));
    dbt = fakeDbtCloud();
    slack = fakeSlack();
    await Promise.all([dbt.start(), slack.start()]);
  });
  after(async () => {
    await Promise.all([dbt.stop(), slack.stop()]);
    await db?.terminate();
  });
  beforeEach(() => {
    n++;
    logs.length = 0;
    slack.reset();
    env = {
      ROUTING_CONFIG: JSON.stringify({
        slack: { app: { channel: LOCAL_SLACK_CHANNEL } },
        routes: [{ name: 'orders', match: { source: 'fivetran', connectorId: CONNECTOR.id }, slack: { notify: [] } }],
        freshness: { rules: [{ match: { source: 'fivetran', connectorId: CONNECTOR.id }, freshness: { every: '1h', grace: '30m' } }], realert: '6h' },
      }),
      GOOGLE_CLOUD_PROJECT: 'postload-local',
      SLACK_BOT_TOKEN: LOCAL_SLACK_BOT_TOKEN,
      SLACK_API_BASE_URL: `${slack.url}/api`,
      SLACK_STATUS_PAGE_URL: 'http://127.0.0.1:8089',
      SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY,
      AUDIT_COLLECTION: `fa-events-${process.pid}-${n}`,
      CONNECTORS_COLLECTION: `fa-connectors-${process.pid}-${n}`,
      JOB_STATE_COLLECTION: `fa-jobs-${process.pid}-${n}`,
      JOINS_COLLECTION: `fa-joins-${process.pid}-${n}`,
      FRESHNESS_COLLECTION: `fa-freshness-${process.pid}-${n}`,
      SWEEP_COLLECTION: `fa-sweep-${process.pid}-${n}`,
      OUTBOUND_RETRY_MIN_DELAY_MS: '1',
      OUTBOUND_RETRY_MAX_DELAY_MS: '5',
    };
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(logs.slice(-30).join(''));
  });

  const sweep = (firestore: Firestore = db): Sweep => createSweep(readSweepConfig(env), { firestore, logger, now: () => clock });
  const at = async (ms: number, s: Sweep = sweep()) => {
    clock = ms;
    return s.tick();
  };
  const loadAt = async (ms: number) => {
    clock = ms + 1000;
    const iso = new Date(ms).toISOString();
    await createSyncEventProcessor(readProcessorConfig(env), { firestore: db, logger, now: () => clock })(pubSubCloudEvent(syncEvent({ connector: CONNECTOR, occurredAt: iso, receivedAt: new Date(ms + 1000).toISOString(), sync: { id: `sync-${ms}`, finishedAt: iso } })));
  };
  const top = () => slack.api.channelMessages(LOCAL_SLACK_CHANNEL);
  const freshnessRef = () => db.collection(env.FRESHNESS_COLLECTION!).doc(DOC);

  it('alert with buttons once, reminder in its thread, recovery updating it in place; the thread’s ts on the incident record', async () => {
    await loadAt(T0);
    await at(T0 + 10 * MIN);
    await at(T0 + 95 * MIN);
    assert.equal(top().length, 1);
    const [alert] = top();
    assert.match(alert!.text, /Fivetran orders_pg is overdue/);
    const incidentId = (await freshnessRef().get()).get('incident.id') as string;
    const buttons = (alert!.blocks.at(-1) as { block_id: string; elements: Array<Record<string, unknown>> }).elements;
    assert.deepEqual(buttons.map((b) => b.action_id ?? b.url), [buttonActionId({ kind: 'snooze', connector: DOC, incident: incidentId, forMs: SNOOZE_MS }), buttons[1]!.action_id]);
    assert.equal(buttons[1]!.url, `http://127.0.0.1:8089/connectors/${DOC}`);

    // Overlapping and repeated ticks add nothing.
    clock = T0 + 100 * MIN;
    await Promise.all([sweep().tick(), sweep().tick(), sweep().tick()]);
    assert.equal(slack.api.messages.length, 1);

    const incident = async () => (await freshnessRef().collection('freshnessIncidents').get()).docs[0]!.data();
    assert.equal((await incident()).slackTs, alert!.ts);
    assert.equal((await incident()).slackChannel, LOCAL_SLACK_CHANNEL);
    assert.deepEqual((await freshnessRef().get()).get('slackThread'), { incidentId, channel: LOCAL_SLACK_CHANNEL, ts: alert!.ts });

    await at(T0 + 95 * MIN + 6 * HOUR);
    assert.equal(top().length, 1, 'the reminder is no new message in the channel');
    const [reminder] = slack.api.threadReplies(LOCAL_SLACK_CHANNEL, alert!.ts);
    assert.match(reminder!.text, /still overdue \(reminder 1\)/);

    await loadAt(T0 + 8 * HOUR);
    await at(T0 + 8 * HOUR + 2 * MIN);
    assert.equal(top().length, 1);
    assert.equal(top()[0]!.updates, 1, 'the alert was updated in place');
    assert.match(top()[0]!.text, /orders_pg recovered after 6h 30m overdue/);
    assert.ok(!top()[0]!.blocks.some((b) => (b as { type: string }).type === 'actions'), 'no snooze left on a recovered incident');
    const replies = slack.api.threadReplies(LOCAL_SLACK_CHANNEL, alert!.ts);
    assert.equal(replies.length, 2);
    assert.match(replies[1]!.text, /recovered/);
    assert.deepEqual(deliveredMessages(slack), [], 'no webhook in app mode');
  });

  it('a tick that cannot record what it sent: the next tick finds the alert and posts nothing more', async () => {
    await loadAt(T0);
    await at(T0 + 10 * MIN);
    // The tick's first commit (the decision and the claim) lands; the second (the settle) fails.
    await assert.rejects(at(T0 + 95 * MIN, sweep(failingCommit(db, 2))), /UNAVAILABLE|Firestore/);
    assert.equal(top().length, 1);
    assert.equal(((await freshnessRef().get()).get('outbox') as unknown[]).length, 1, 'still in the outbox');
    // After the lease: taken over, looked for, found.
    await at(T0 + 95 * MIN + 5 * MIN + (readSweepConfig(env).leaseMs));
    assert.equal(top().length, 1);
    assert.deepEqual((await freshnessRef().get()).get('outbox'), []);
    assert.equal((await freshnessRef().get()).get('slackThread.ts'), top()[0]!.ts);
  });

  it('Slack refuses the app for good (not in the channel): the alert is said through the fallback webhook once, and recorded as not sent', async () => {
    slack.api.channels.set('C0LEFT', { id: 'C0LEFT', name: 'left', private: false, archived: false, members: new Set() });
    const routing = JSON.parse(env.ROUTING_CONFIG!) as { slack: Record<string, unknown>; freshness: Record<string, unknown> };
    routing.slack.fallbackWebhook = 'env:SLACK_WEBHOOK_URL';
    routing.freshness.slack = { app: { channel: 'C0LEFT' } };
    env = { ...env, ROUTING_CONFIG: JSON.stringify(routing), SLACK_WEBHOOK_URL: `${slack.url}/services/T/B/fallback`, SLACK_WEBHOOK_HOSTS: new URL(slack.url).origin };
    await loadAt(T0);
    await at(T0 + 10 * MIN);
    await at(T0 + 95 * MIN);
    assert.equal(slack.api.channelMessages('C0LEFT').length, 0);
    const told = deliveredMessages(slack);
    assert.equal(told.length, 1);
    assert.match(told[0]!.text, /^postload's Slack app cannot post to channel C0LEFT: Slack chat.postMessage refused: not_in_channel/);
    assert.ok(JSON.stringify(told[0]!.blocks).includes('orders_pg is overdue'), 'the alert it could not post is included');
    assert.deepEqual((await freshnessRef().get()).get('outbox'), [], 'given up, not retried');
    const incident = (await freshnessRef().collection('freshnessIncidents').get()).docs[0]!.data() as { messages: Record<string, { skipped?: string }> };
    assert.match(Object.values(incident.messages)[0]!.skipped ?? '', /not sent: .*not_in_channel/);
    await at(T0 + 100 * MIN);
    assert.equal(deliveredMessages(slack).length, 1, 'said once');
  });

  it('without a fallback webhook, the refusal is only recorded and logged', async () => {
    slack.api.channels.set('C0LEFT', { id: 'C0LEFT', name: 'left', private: false, archived: false, members: new Set() });
    const routing = JSON.parse(env.ROUTING_CONFIG!) as { freshness: Record<string, unknown> };
    routing.freshness.slack = { app: { channel: 'C0LEFT' } };
    env = { ...env, ROUTING_CONFIG: JSON.stringify(routing), SLACK_WEBHOOK_URL: `${slack.url}/services/T/B/fallback`, SLACK_WEBHOOK_HOSTS: new URL(slack.url).origin };
    await loadAt(T0);
    await at(T0 + 10 * MIN);
    await at(T0 + 95 * MIN);
    assert.deepEqual(deliveredMessages(slack), []);
    assert.ok(logs.some((l) => l.includes('freshness message not sent, given up') && l.includes('not_in_channel')));
  });
});

/** The emulator's Firestore, except that the `nth` batch commit (from 1) fails as an outage would. */
function failingCommit(db: Firestore, nth: number): Firestore {
  let commits = 0;
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'batch') return Reflect.get(target, property, receiver) as unknown;
      return () => {
        const batch = target.batch();
        const commit = batch.commit.bind(batch);
        batch.commit = async () => {
          if (++commits === nth) throw Object.assign(new Error('14 UNAVAILABLE: the Firestore outage of this test'), { code: 14 });
          return commit();
        };
        return batch;
      };
    },
  });
}
