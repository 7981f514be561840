import assert from 'node:assert/strict';
import type { Firestore } from '@google-cloud/firestore';
import { normaliseDbtCloud } from '../../../functions/ingest/dbt-cloud/normalise.js';
import { deliveredMessages } from '../../../functions/local/fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_CHANNEL } from '../../../functions/local/fake-slack-api.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { POSTLOAD_METADATA_TYPE } from '../../../functions/processor/clients/slack-app.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import { appTargetReference, DEFAULT_BOT_TOKEN, slackActionId } from '../../../functions/processor/planning/routing.js';
import { buttonActionId } from '../../../functions/shared/slack-buttons.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import type { DbtCloudWebhook } from '../../../functions/generated/dbt-cloud-webhook.schema.js';
import { processorHarness } from '../../support/processor-harness.js';
import { SLACK_INCIDENTS_FIELD } from '../../../functions/processor/planning/slack-incident.js';
import { connectorDocId } from '../../../functions/processor/store/document-ids.js';
import { failedSync, pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';
import { fixture } from '../../support/webhook-fixtures.js';

// App mode (issue 31) on the Firestore emulator with the Slack Web API stand-in: a message
// goes to its channel once, whatever answer is lost and even when its outcome cannot be
// recorded; Slack's permanent refusals go through the fallback webhook; buttons only where
// they have a safe effect.

process.env.METADATA_SERVER_DETECTION ??= 'none';

const STATUS_PAGE = 'http://127.0.0.1:8089';

describe('the processor posting through the Slack app (Firestore emulator, Slack Web API stand-in)', function () {
  this.timeout(60_000);
  const h = processorHarness({
    routing: {
      slack: { app: { channel: LOCAL_SLACK_CHANNEL }, fallbackWebhook: 'env:SLACK_WEBHOOK_URL' },
      routes: [
        { name: 'orders', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, slack: { notify: ['sync.failed'] } },
        { name: 'elsewhere', match: { source: 'fivetran', connectorId: 'elsewhere' }, slack: { notify: ['sync.failed'], app: { channel: 'C0NOTIN' } } },
        { name: 'webhook', match: { source: 'fivetran', connectorId: 'by_webhook' }, slack: { notify: ['sync.failed'], webhook: 'env:SLACK_WEBHOOK_URL' } },
        { name: 'runs', match: { source: 'dbt-cloud', connectorId: '101' }, slack: { notify: ['transformation.failed'] } },
      ],
    },
    token: 'dbtc_slack_app_token_0123456789abcdef',
    webhookPath: '/services/T/B/slack-app',
    prefix: 'slack-app-',
    env: ({ slack }) => ({ SLACK_BOT_TOKEN: LOCAL_SLACK_BOT_TOKEN, SLACK_API_BASE_URL: `${slack.url}/api`, SLACK_STATUS_PAGE_URL: STATUS_PAGE, OUTBOUND_MAX_ATTEMPTS: '3', OUTBOUND_RETRY_MIN_DELAY_MS: '1', OUTBOUND_RETRY_MAX_DELAY_MS: '5' }),
  });

  // The channel's target (slack-app:C0ALERTS) has its own action id, as every named target does.
  const APP = slackActionId(appTargetReference({ channel: LOCAL_SLACK_CHANNEL, token: DEFAULT_BOT_TOKEN }));
  const posted = (event: SyncEvent) => h.slack.api.channelMessages(LOCAL_SLACK_CHANNEL).filter((m) => m.metadata?.event_payload.key === `${event.id}/${APP}`);

  before(() => {
    h.slack.api.channels.set('C0NOTIN', { id: 'C0NOTIN', name: 'elsewhere', private: false, archived: false, members: new Set() });
  });

  it('posts a failed sync to the channel once, with metadata naming the event and action, and records its ts', async () => {
    const event = failedSync();
    await h.run(event);
    const [message] = posted(event);
    assert.ok(message, 'the message is in the channel');
    assert.deepEqual(message.metadata, { event_type: POSTLOAD_METADATA_TYPE, event_payload: { key: `${event.id}/${APP}`, kind: APP } });
    assert.match(message.text, /Fivetran sync failed: ftar_pg/);
    const { actions, status } = await h.audit(event.id);
    assert.equal(status, 'processed');
    assert.equal(actions[APP]!.slackTs, message.ts);
    assert.equal(actions[APP]!.slackChannel, LOCAL_SLACK_CHANNEL);
    assert.deepEqual(deliveredMessages(h.slack), [], 'nothing went to the webhook');
  });

  it('a success the route does not notify posts nothing', async () => {
    const event = syncEvent();
    await h.run(event);
    assert.equal(h.slack.api.messages.length, 0);
  });

  it('Slack posted but the answer was lost: the retry finds the message by its metadata, one message', async () => {
    h.slack.api.script('chat.postMessage', 'posted-then-drop');
    const event = failedSync();
    await h.run(event);
    assert.equal(posted(event).length, 1);
    assert.equal((await h.audit(event.id)).actions[APP]!.recovered, true);
  });

  it('the outcome could not be recorded (Firestore failed after Slack accepted): the next delivery finds the message, one message', async () => {
    const event = failedSync();
    const message = pubSubCloudEvent(event, 'm-outage');
    // First delivery: the claim commits, the message goes out, the settle commit fails.
    await assert.rejects(createSyncEventProcessor(readProcessorConfig(h.env), { firestore: failingCommit(h.db, 2), logger: h.logger })(message), /Firestore/);
    assert.equal(posted(event).length, 1);
    assert.equal((await h.audit(event.id)).actions[APP]!.status, 'pending');
    // Redelivered after the claim's lease ran out (the clock 10 minutes on): it looks before posting.
    await createSyncEventProcessor(readProcessorConfig(h.env), { firestore: h.db, logger: h.logger, now: () => Date.now() + 600_000 })(message);
    assert.equal(posted(event).length, 1);
    const { actions, status } = await h.audit(event.id);
    assert.equal(status, 'processed');
    assert.equal(actions[APP]!.recovered, true);
    assert.equal(actions[APP]!.slackTs, posted(event)[0]!.ts);
  });

  it('a failure and its recovery are one message: a second failure in its thread, the success updating it in place and replying there', async () => {
    const connectorDoc = async () => (await h.db.collection(h.env.CONNECTORS_COLLECTION!).doc(connectorDocId('fivetran', 'assimilate_seem')).get()).get(SLACK_INCIDENTS_FIELD) as Record<string, unknown> | undefined;
    const top = () => h.slack.api.channelMessages(LOCAL_SLACK_CHANNEL);
    const first = failedSync();
    await h.run(first);
    const [opened] = posted(first);
    assert.ok(opened, 'the first failure is posted');
    assert.deepEqual(await connectorDoc(), { [LOCAL_SLACK_CHANNEL]: { ts: opened.ts, eventId: first.id, type: 'sync.failed', occurredAt: first.occurredAt } });
    assert.deepEqual((await h.audit(first.id)).actions[APP]!.incident, { channel: LOCAL_SLACK_CHANNEL, ts: opened.ts, change: 'opened' });

    const second = failedSync();
    await h.run(second);
    assert.equal(top().length, 1, 'a further failure is no new message in the channel');
    const [again] = h.slack.api.threadReplies(LOCAL_SLACK_CHANNEL, opened.ts);
    assert.equal(again!.metadata?.event_payload.key, `${second.id}/${APP}`);
    assert.deepEqual((await h.audit(second.id)).actions[APP]!.incident, { channel: LOCAL_SLACK_CHANNEL, ts: opened.ts, change: 'threaded' });

    // The route does not notify successes: this one is said because it ends the incident.
    const success = syncEvent();
    await h.run(success);
    assert.equal(top().length, 1);
    assert.equal(top()[0]!.updates, 1, 'the incident message was updated in place');
    assert.match(top()[0]!.text, /Fivetran ftar_pg recovered/);
    assert.ok(!top()[0]!.blocks.some((b) => (b as { type: string }).type === 'actions'), 'its buttons are gone');
    assert.equal(top()[0]!.metadata?.event_payload.key, `${first.id}/${APP}`, 'it still carries the metadata its lookup finds');
    const replies = h.slack.api.threadReplies(LOCAL_SLACK_CHANNEL, opened.ts);
    assert.deepEqual(replies.map((r) => r.metadata?.event_payload.key), [`${second.id}/${APP}`, `${success.id}/${APP}`]);
    assert.match(replies[1]!.text, /Fivetran sync succeeded: ftar_pg/);
    assert.deepEqual(await connectorDoc(), {}, 'the incident is closed');

    // Delivered again: nothing more. The next failure opens a new incident.
    await h.run(success, 'redelivered');
    assert.equal(top()[0]!.updates, 1);
    assert.equal(h.slack.api.threadReplies(LOCAL_SLACK_CHANNEL, opened.ts).length, 2);
    const later = failedSync();
    await h.run(later);
    assert.equal(top().length, 2);
    assert.equal((await connectorDoc())?.[LOCAL_SLACK_CHANNEL] && ((await connectorDoc())![LOCAL_SLACK_CHANNEL] as { eventId: string }).eventId, later.id);
  });

  it('an incident whose recovery was posted but not recorded: the next delivery says it recovered and replies once', async () => {
    const failure = failedSync();
    await h.run(failure);
    const [opened] = posted(failure);
    const success = syncEvent();
    const message = pubSubCloudEvent(success, 'm-recovery');
    // The recovery's settle fails after Slack updated the message and took the reply.
    await assert.rejects(createSyncEventProcessor(readProcessorConfig(h.env), { firestore: failingCommit(h.db, 2), logger: h.logger })(message), /Firestore/);
    assert.equal(h.slack.api.threadReplies(LOCAL_SLACK_CHANNEL, opened!.ts).length, 1);
    await createSyncEventProcessor(readProcessorConfig(h.env), { firestore: h.db, logger: h.logger, now: () => Date.now() + 600_000 })(message);
    const replies = h.slack.api.threadReplies(LOCAL_SLACK_CHANNEL, opened!.ts);
    assert.equal(replies.length, 1, 'the reply was found, not posted again');
    assert.match(h.slack.api.channelMessages(LOCAL_SLACK_CHANNEL)[0]!.text, /recovered/);
    const { actions } = await h.audit(success.id);
    assert.equal(actions[APP]!.recovered, true);
    assert.equal(actions[APP]!.incident?.change, 'closed');
  });

  it('where a message goes is decided at its first claim: a retry after an incident opened meanwhile looks where it posted, one message', async () => {
    const late = failedSync();
    const message = pubSubCloudEvent(late, 'm-late');
    // Its first attempt: no incident yet, so a message of its own; Slack takes it, the outcome is not recorded.
    await assert.rejects(createSyncEventProcessor(readProcessorConfig(h.env), { firestore: failingCommit(h.db, 2), logger: h.logger })(message), /Firestore/);
    assert.deepEqual((await h.audit(late.id)).actions[APP]!.incidentPlan, { change: 'opened' });
    // Another failure of the connector opens an incident meanwhile.
    const other = failedSync();
    await h.run(other);
    assert.equal((await h.audit(other.id)).actions[APP]!.incident?.change, 'opened');
    // The retry keeps its plan: it looks in the channel, not in the new incident's thread, and finds its message.
    await createSyncEventProcessor(readProcessorConfig(h.env), { firestore: h.db, logger: h.logger, now: () => Date.now() + 600_000 })(message);
    assert.equal(posted(late).length, 1);
    assert.equal(h.slack.api.messages.filter((m) => m.metadata?.event_payload.key === `${late.id}/${APP}`).length, 1, 'not posted again in a thread');
    assert.equal((await h.audit(late.id)).actions[APP]!.recovered, true);
  });

  it('a dbt Cloud run that failed and then succeeded: one message, updated in place, its retry button gone', async () => {
    const failed = normaliseDbtCloud(fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.errored'), new Date());
    await h.run(failed);
    const top = () => h.slack.api.channelMessages(LOCAL_SLACK_CHANNEL);
    assert.equal(top().length, 1);
    assert.ok(JSON.stringify(top()[0]!.blocks).includes('retry-run'), 'the failure offers a retry');
    const succeeded = normaliseDbtCloud(fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.completed-success'), new Date());
    await h.run(succeeded);
    assert.equal(top().length, 1);
    assert.equal(top()[0]!.updates, 1);
    assert.match(top()[0]!.text, /dbt Cloud .* recovered: .*the run failed at/);
    assert.ok(!JSON.stringify(top()[0]!.blocks).includes('retry-run'), 'no retry on a recovered run');
    const [reply] = h.slack.api.threadReplies(LOCAL_SLACK_CHANNEL, top()[0]!.ts);
    assert.equal(reply!.metadata?.event_payload.key, `${succeeded.id}/${APP}`);
  });

  it('a route that posts through a webhook keeps one message per event: no incident', async () => {
    const failure = failedSync({ connector: { id: 'by_webhook', name: 'hooked' } });
    await h.run(failure);
    await h.run(failedSync({ connector: { id: 'by_webhook', name: 'hooked' } }));
    assert.equal(deliveredMessages(h.slack).length, 2);
    assert.equal((await h.db.collection(h.env.CONNECTORS_COLLECTION!).doc(connectorDocId('fivetran', 'by_webhook')).get()).get(SLACK_INCIDENTS_FIELD), undefined);
  });

  it('a permanent refusal (the app is not in the channel): failed, and said through the fallback webhook with the message', async () => {
    const event = failedSync({ connector: { id: 'elsewhere', name: 'elsewhere_pg' } });
    await h.run(event);
    const record = (await h.audit(event.id)).actions[Object.keys((await h.audit(event.id)).actions).find((id) => id.startsWith('slack'))!]!;
    assert.equal(record.status, 'failed');
    assert.match(String(record.lastError), /not_in_channel.*invite/);
    assert.equal(record.fallback, 'sent through the fallback webhook');
    const [fallback] = deliveredMessages(h.slack);
    assert.match(fallback!.text, /^postload's Slack app cannot post to channel C0NOTIN: Slack chat.postMessage refused: not_in_channel/);
    assert.ok(JSON.stringify(fallback!.blocks).includes('elsewhere_pg'), 'the message it could not post is included');
    assert.ok(!JSON.stringify(fallback!.blocks).includes('"actions"'), 'no buttons on a webhook message');
  });

  it('a route that names a webhook still posts through it, without buttons', async () => {
    const event = failedSync({ connector: { id: 'by_webhook', name: 'hooked' } });
    await h.run(event);
    assert.equal(h.slack.api.messages.length, 0);
    const [message] = deliveredMessages(h.slack);
    assert.match(message!.text, /hooked/);
    assert.ok(!JSON.stringify(message!.blocks).includes('postload.'));
  });

  it('a failed dbt Cloud run offers "retry this dbt run" and the status page; a failed sync only the status page', async () => {
    const run = normaliseDbtCloud(fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.errored'), new Date());
    await h.run(run);
    const [message] = h.slack.api.channelMessages(LOCAL_SLACK_CHANNEL).filter((m) => m.metadata?.event_payload.key === `${run.id}/${APP}`);
    const buttons = (message!.blocks.find((b) => (b as { block_id?: string }).block_id === 'postload_actions') as { elements: Array<Record<string, unknown>> }).elements;
    assert.deepEqual(
      buttons.map((b) => [b.action_id, b.url]),
      [
        [buttonActionId({ kind: 'retry-run', jobId: '101', runId: 70000123, eventId: run.id }), undefined],
        [buttons[1]!.action_id, `${STATUS_PAGE}/events/${run.id}`],
      ],
    );
    const sync = failedSync();
    await h.run(sync);
    const syncButtons = (posted(sync)[0]!.blocks.at(-1) as { elements: Array<Record<string, unknown>> }).elements;
    assert.deepEqual(syncButtons.map((b) => b.url), [`${STATUS_PAGE}/events/${sync.id}`]);
  });

  it('without dbt Cloud or a status page address, no button is offered', async () => {
    const config = readProcessorConfig({ ...h.env, SLACK_STATUS_PAGE_URL: '', DBT_CLOUD_API_TOKEN: '', ROUTING_CONFIG: JSON.stringify({ slack: { app: { channel: LOCAL_SLACK_CHANNEL } }, routes: [{ name: 'runs', match: { source: 'dbt-cloud', connectorId: '101' }, slack: { notify: ['transformation.failed'] } }] }) });
    assert.equal(config.dbtRetry, false);
    const run = normaliseDbtCloud(fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.errored'), new Date());
    await createSyncEventProcessor(config, { firestore: h.db, logger: h.logger })(pubSubCloudEvent(run));
    const [message] = h.slack.api.channelMessages(LOCAL_SLACK_CHANNEL);
    assert.ok(!message!.blocks.some((b) => (b as { type: string }).type === 'actions'));
  });

  it('start-up refuses an app target without a bot token, naming SLACK_BOT_TOKEN, and a token that is not a bot token', () => {
    assert.throws(() => readProcessorConfig({ ...h.env, SLACK_BOT_TOKEN: '' }), /SLACK_BOT_TOKEN: is not set; the routing file .* posts to Slack channel C0ALERTS through the Slack app/);
    assert.throws(() => readProcessorConfig({ ...h.env, SLACK_BOT_TOKEN: 'https://hooks.slack.com/services/T/B/xyz0123456789abcdef' }), /SLACK_BOT_TOKEN: is not a bot token/);
  });
});

/** The emulator's Firestore, except that the `nth` batch commit (counting from 1) fails as an outage would. */
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
