import assert from 'node:assert/strict';
import { WriteBatch } from '@google-cloud/firestore';
import sinon from 'sinon';
import { EventStore } from '../../../functions/processor/store/event-store.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { TransientError } from '../../../functions/processor/errors.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import { triggerRequests } from '../../../functions/local/fake-dbt-cloud.js';
import { freePort } from '../../../functions/local/emulators.js';
import { emulatorFirestore, processorHarness } from '../../support/processor-harness.js';
import { failedSync, pubSubCloudEvent, syncEvent, TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';
import { SIGNATURE_ATTRIBUTE, signSyncEventData } from '../../../functions/shared/sync-event-signature.js';

const TOKEN = 'dbtc_integration_token_do_not_log';
const WEBHOOK_PATH = '/services/T000/B000/webhooksecretdonotlog';

const ROUTING = {
  routes: [
    { name: 'postgres', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 101 }, { jobId: 102, steps_override: ['dbt build --select source:pg+'], git_branch: 'main' }] },
    { name: 'loud', match: { source: 'fivetran', connectorId: 'loud' }, dbtJobs: [{ jobId: 301 }], slack: { notify: ['sync.succeeded', 'sync.failed'] } },
    { name: 'ghost', match: { source: 'fivetran', connectorId: 'ghost' }, dbtJobs: [{ jobId: 404 }] },
  ],
};

describe('processSyncEvent against the Firestore emulator and loopback dbt Cloud and Slack', function () {
  this.timeout(60_000);
  const h = processorHarness({
    routing: ROUTING,
    token: TOKEN,
    webhookPath: WEBHOOK_PATH,
    prefix: '',
    env: ({ dbt }) => ({
      DBT_CLOUD_BASE_URL: `${dbt.url}/`,
      OUTBOUND_TIMEOUT_MS: '2000',
      OUTBOUND_BUDGET_MS: '8000',
      OUTBOUND_RETRY_MIN_DELAY_MS: '20',
      OUTBOUND_RETRY_MAX_DELAY_MS: '100',
      OUTBOUND_MAX_ATTEMPTS: '3',
      ACTION_LEASE_SECONDS: '30',
      FIRESTORE_TIMEOUT_MS: '5000',
    }),
  });
  const { dbt, slack, logs: logLines, logger, processor, audit } = h;

  afterEach(function () {
    const logs = logLines.join('');
    assert.ok(!logs.includes(TOKEN), 'a log line holds the dbt Cloud token');
    assert.ok(!logs.includes(WEBHOOK_PATH), 'a log line holds the Slack webhook URL');
  });


  it('a successful sync starts exactly the routed jobs: URL, Token header, cause and options', async () => {
    const event = syncEvent();
    await processor()(pubSubCloudEvent(event));

    const triggers = triggerRequests(dbt);
    assert.deepEqual(triggers.map((r) => r.url).sort(), ['/api/v2/accounts/7/jobs/101/run/', '/api/v2/accounts/7/jobs/102/run/']);
    for (const request of triggers) {
      assert.equal(request.headers.authorization, `Token ${TOKEN}`);
      assert.equal(request.headers['content-type'], 'application/json');
    }
    const job102 = triggers.find((r) => r.url.includes('/jobs/102/'))!.json as Record<string, unknown>;
    assert.deepEqual(job102, {
      cause: `postload: Fivetran sync.succeeded for ftar_pg (assimilate_seem), sync b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e [event ${event.id}]`,
      steps_override: ['dbt build --select source:pg+'],
      git_branch: 'main',
    });
    assert.equal(slack.requests.length, 0, 'successes are not notified by default');

    const record = await audit(event.id);
    assert.equal(record.status, 'processed');
    assert.equal(record.deliveries, 1);
    assert.equal(record.type, 'sync.succeeded');
    const run = record.actions['dbt-job-102']!;
    assert.equal(run.status, 'succeeded');
    assert.equal(run.attempts, 1);
    assert.equal(run.requests, 1);
    assert.equal(typeof run.runId, 'number');
    assert.equal(run.runHref, `${dbt.url}/deploy/7/projects/1/runs/${run.runId}/`);
    const expireAt = (record.expireAt as { toMillis(): number }).toMillis();
    assert.ok(Math.abs(expireAt - (Date.now() + 90 * 86_400_000)) < 3_600_000, 'expireAt is about 90 days ahead');

    const connector = (await h.db.collection(h.env.CONNECTORS_COLLECTION!).doc('fivetran-assimilate_seem').get()).data()!;
    assert.equal(connector.latestStatus, 'succeeded');
    assert.equal((connector.lastSuccessfulSync as { eventId: string }).eventId, event.id);
    assert.equal((connector.recentEvents as unknown[]).length, 1);
  });

  it('a failed sync sends one Slack alert with the reason and starts no dbt run', async () => {
    const event = failedSync();
    await processor()(pubSubCloudEvent(event));

    assert.equal(triggerRequests(dbt).length, 0);
    assert.equal(slack.requests.length, 1);
    const request = slack.requests[0]!;
    assert.equal(request.url, WEBHOOK_PATH);
    const body = request.json as { text: string; blocks: Array<{ type: string }> };
    assert.match(body.text, /Fivetran sync failed: ftar_pg — Cannot connect to the database/);
    assert.equal(body.blocks[0]?.type, 'header');
    assert.match(JSON.stringify(body.blocks), /FAILURE_WITH_TASK/);

    const record = await audit(event.id);
    assert.equal(record.actions.slack?.status, 'succeeded');
    const sent = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'Slack message sent' && line.eventId === event.id);
    assert.deepEqual(sent.map((line) => line.webhook), ['SLACK_WEBHOOK_URL'], 'one log line says the message went out, naming the setting, not the URL');
    const connector = (await h.db.collection(h.env.CONNECTORS_COLLECTION!).doc('fivetran-assimilate_seem').get()).data()!;
    assert.equal(connector.latestStatus, 'failed');
    assert.equal((connector.lastFailedSync as { eventId: string }).eventId, event.id);
  });

  it('the same event delivered three times (one of them replayed under a new message id) gives one run and one message', async () => {
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    const process = processor();
    await process(pubSubCloudEvent(event, 'msg-1'));
    await process(pubSubCloudEvent(event, 'msg-1'));
    await process(pubSubCloudEvent(event, 'msg-replayed-from-dead-letter'));

    assert.equal(triggerRequests(dbt).length, 1);
    assert.equal(slack.requests.length, 1);
    assert.match(JSON.stringify(slack.requests[0]!.json), /Started dbt Cloud job 301/);
    const record = await audit(event.id);
    assert.equal(record.deliveries, 3);
    assert.deepEqual(record.messageIds, ['msg-1', 'msg-replayed-from-dead-letter']);
    assert.equal(record.actions['dbt-job-301']?.attempts, 1);
    assert.equal(record.actions.slack?.attempts, 1);
  });

  it('the same event delivered three times at once gives one run and one message', async () => {
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    // Separate processors, like three function instances.
    const results = await Promise.allSettled([processor()(pubSubCloudEvent(event)), processor()(pubSubCloudEvent(event)), processor()(pubSubCloudEvent(event))]);
    for (const result of results) {
      if (result.status === 'rejected') {
        assert.ok(result.reason instanceof TransientError, `unexpected ${String(result.reason)}`);
        assert.match(result.reason.message, /not done yet/);
      }
    }
    assert.ok(results.some((r) => r.status === 'fulfilled'));
    // Pub/Sub redelivers the ones that threw: now everything is done and is skipped.
    await processor()(pubSubCloudEvent(event));
    assert.equal(triggerRequests(dbt).length, 1);
    assert.equal(slack.requests.length, 1);
    assert.equal((await audit(event.id)).status, 'processed');
  });

  it('dbt Cloud answering 429 then 200 gives one run', async () => {
    dbt.script({ status: 429, headers: { 'retry-after': '1' }, body: { status: { code: 429 } } });
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    await processor()(pubSubCloudEvent(event));

    const triggers = triggerRequests(dbt);
    assert.equal(triggers.length, 2);
    const action = (await audit(event.id)).actions['dbt-job-301']!;
    assert.equal(action.status, 'succeeded');
    assert.deepEqual(action.requestLog.map((r) => r.status), [429, 200]);
  });

  it('dbt Cloud answering 500 throughout makes the function throw, the audit shows the attempts, and a redelivery starts one run', async () => {
    dbt.script(...Array.from({ length: 20 }, () => ({ status: 500, body: 'upstream error' })));
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    await assert.rejects(processor()(pubSubCloudEvent(event)), (error: unknown) => error instanceof TransientError && /dbt Cloud job 301/.test(error.message));

    let record = await audit(event.id);
    assert.equal(record.status, 'retrying');
    const action = record.actions['dbt-job-301']!;
    assert.equal(action.status, 'retry');
    assert.equal(action.attempts, 1);
    assert.ok(action.requests >= 2, `only ${action.requests} requests recorded`);
    assert.ok(action.requestLog.every((r) => r.status === 500));
    assert.equal(action.errors[0]?.status, 500);
    assert.equal(action.errors[0]?.kind, 'transient');
    assert.equal(slack.requests.length, 0, 'no half-truth: the message waits until the job is started or failed for good');
    assert.equal(record.actions.slack?.status, 'waiting');

    dbt.reset();
    await processor()(pubSubCloudEvent(event));
    assert.equal(triggerRequests(dbt).length, 1);
    assert.equal(dbt.requests[0]?.method, 'GET', 'looked for a run started by the failed delivery first');
    record = await audit(event.id);
    assert.equal(record.status, 'processed');
    assert.equal(record.actions['dbt-job-301']?.attempts, 2);
    assert.equal(slack.requests.length, 1, 'one message, telling the whole truth');
    assert.match(JSON.stringify(slack.requests[0]!.json), /Started dbt Cloud job 301/);
  });

  it('dbt Cloud answering 404 is recorded as failed, alerted in Slack, logged at ERROR, and acknowledged', async () => {
    dbt.script({ status: 404, body: { status: { code: 404, is_success: false, user_message: 'Not found' } } });
    const event = syncEvent({ connector: { id: 'ghost', name: 'ghost' } });
    await processor()(pubSubCloudEvent(event));

    const record = await audit(event.id);
    assert.equal(record.status, 'failed');
    const action = record.actions['dbt-job-404']!;
    assert.equal(action.status, 'failed');
    assert.match(action.lastError ?? '', /dbt Cloud job 404 was not found in account 7/);
    assert.equal(action.errors[0]?.kind, 'permanent');
    assert.equal(slack.requests.length, 1);
    assert.match((slack.requests[0]!.json as { text: string }).text, /postload could not start dbt Cloud jobs/);
    assert.ok(logLines.some((line) => line.includes('"severity":"ERROR"') && line.includes('dbt-job-404')));

    await processor()(pubSubCloudEvent(event));
    assert.equal(triggerRequests(dbt).length, 1, 'a permanent failure is not retried on redelivery');
    assert.equal(slack.requests.length, 1);
  });

  it('Slack answering 410 is permanent: recorded, acknowledged, not retried', async () => {
    slack.script({ status: 410, body: 'channel_is_archived' });
    const event = failedSync();
    await processor()(pubSubCloudEvent(event));
    await processor()(pubSubCloudEvent(event));

    assert.equal(slack.requests.length, 1);
    const record = await audit(event.id);
    assert.equal(record.status, 'failed');
    assert.equal(record.actions.slack?.status, 'failed');
    assert.match(record.actions.slack?.lastError ?? '', /SLACK_WEBHOOK_URL answered 410 channel_is_archived/);
    assert.ok(!JSON.stringify(record).includes(WEBHOOK_PATH), 'the audit record holds the webhook URL');
  });

  it('Slack answering 503 throughout throws, and the redelivery sends the message once', async () => {
    slack.script(...Array.from({ length: 10 }, () => ({ status: 503, body: 'unavailable' })));
    const event = failedSync();
    await assert.rejects(processor()(pubSubCloudEvent(event)), TransientError);
    slack.reset();
    await processor()(pubSubCloudEvent(event));
    assert.equal(slack.requests.length, 1);
    assert.equal((await audit(event.id)).actions.slack?.attempts, 2);
  });

  const storeAt = (offsetMs: number, leaseMs = 30_000) =>
    new EventStore(h.db, { auditCollection: h.env.AUDIT_COLLECTION!, connectorsCollection: h.env.CONNECTORS_COLLECTION!, retentionDays: 90, leaseMs, timeoutMs: 5000, now: () => Date.now() + offsetMs });
  const forever = { remainingMs: () => 10_000 };
  const dbtAction = (jobId: string) => ({ actionId: `dbt-job-${jobId}`, kind: 'dbt' as const, target: jobId });
  const begin = (store: EventStore, eventId: string, deliveryId: string) =>
    store.begin({ docId: eventId, deliveryId, messageId: `m-${deliveryId}`, planned: [dbtAction('301')], initial: () => ({ eventId }), deadline: forever });

  it('a run started by a delivery that crashed before recording it is found, not started again', async () => {
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    // The crashed delivery, an hour ago: it recorded the event and claimed the job...
    assert.equal((await begin(storeAt(-3_600_000, 1000), event.id, 'crashed-delivery')).claims.get('dbt-job-301')?.decision.decision, 'claim');
    // ...and dbt Cloud accepted its trigger, whose answer was never recorded.
    const accepted = await fetch(`${dbt.url}/api/v2/accounts/7/jobs/301/run/`, { method: 'POST', body: JSON.stringify({ cause: `postload: earlier [event ${event.id}]` }), headers: { 'content-type': 'application/json' } });
    const runId = ((await accepted.json()) as { data: { id: number } }).data.id;
    dbt.requests.length = 0; // the run stays in the stand-in's history

    await processor()(pubSubCloudEvent(event));
    assert.equal(triggerRequests(dbt).length, 0, 'no second run');
    const action = (await audit(event.id)).actions['dbt-job-301']!;
    assert.equal(action.status, 'succeeded');
    assert.equal(action.runId, runId);
    assert.equal(action.recovered, true);
    assert.equal(action.attempts, 2);
  });

  it('performed but not recorded: the claim stays held under its lease, and the next claimant looks before acting', async () => {
    const event = syncEvent(); // jobs 101 and 102, no message on success
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: injected'), { code: 14 });
    // The settle is the second commit (the first records the delivery and the claims).
    const stub = sinon.stub(WriteBatch.prototype, 'commit').callThrough();
    stub.onSecondCall().rejects(unavailable);
    try {
      await assert.rejects(processor()(pubSubCloudEvent(event)), (error: unknown) => error instanceof TransientError && error.system === 'Firestore');
    } finally {
      stub.restore();
    }
    assert.equal(triggerRequests(dbt).length, 2, 'the runs were started');
    let action = (await audit(event.id)).actions['dbt-job-101']!;
    assert.equal(action.status, 'pending', 'not turned into retry: it was done, only not recorded');
    assert.ok(action.claimedBy && (action.leaseUntil?.toMillis() ?? 0) > Date.now());

    // A redelivery within the lease leaves it alone (and sends no message about it).
    await assert.rejects(processor()(pubSubCloudEvent(event)), /not done yet/);
    assert.equal(triggerRequests(dbt).length, 2);

    // After the lease the next claimant looks first, finds the run and adopts it.
    const later = createSyncEventProcessor(readProcessorConfig(h.env), { firestore: h.db, logger, now: () => Date.now() + 31_000 });
    await later(pubSubCloudEvent(event));
    assert.equal(triggerRequests(dbt).length, 2, 'no second run of either job');
    const record = await audit(event.id);
    assert.equal(record.status, 'processed');
    for (const id of ['dbt-job-101', 'dbt-job-102']) {
      action = record.actions[id]!;
      assert.equal(action.status, 'succeeded');
      assert.equal(action.recovered, true);
      assert.equal(action.attempts, 2);
    }
    assert.equal(slack.requests.length, 0);
  });

  it('fencing: a late delivery whose lease was taken over cannot settle (or undo) the new holder\'s outcome', async () => {
    const eventId = `fenced-${h.suite}`;
    const late = storeAt(-3_600_000, 1000);
    const lateBegun = await begin(late, eventId, 'late-delivery');
    const current = storeAt(0);
    const currentBegun = await begin(current, eventId, 'current-delivery');
    assert.equal(currentBegun.claims.get('dbt-job-301')?.decision.decision, 'claim', 'the expired claim is taken over');
    await current.settle(currentBegun, 'current-delivery', new Map([['dbt-job-301', { status: 'succeeded', runId: 42, requests: [] }]]), () => 'processed', forever);
    // The late delivery wakes up and tries to record a transient failure.
    const status = await late.settle(lateBegun, 'late-delivery', new Map([['dbt-job-301', { status: 'retry', error: 'late', httpStatus: 500, notBeforeMs: null, uncertain: true, requests: [] }]]), () => 'retrying', forever);
    assert.equal(status, 'processed', 'a final status is never downgraded');
    const record = await audit(eventId);
    assert.equal(record.status, 'processed');
    assert.equal(record.actions['dbt-job-301']?.status, 'succeeded');
    assert.equal(record.actions['dbt-job-301']?.runId, 42);
    assert.equal(record.actions['dbt-job-301']?.lastError, null);
  });

  it('documents shared between events (a job\'s state, a join) are read and written with the claims, race-safe', async () => {
    const shared = { collection: `${h.env.AUDIT_COLLECTION}-jobs`, docId: 'job-301' };
    const count = (existing: Record<string, unknown> | undefined) => ({ events: ((existing?.events as number | undefined) ?? 0) + 1 });
    const stores = Array.from({ length: 6 }, () => storeAt(0));
    const begun = await Promise.all(
      stores.map((store, i) => store.begin({ docId: `shared-${h.suite}-${i}`, deliveryId: `d${i}`, messageId: `m${i}`, planned: [dbtAction('301')], initial: () => ({}), also: [{ ...shared, update: count }], deadline: forever })),
    );
    const stored = (await h.db.collection(shared.collection).doc(shared.docId).get()).data();
    assert.equal(stored?.events, 6, 'every event counted once, none lost to a race');
    assert.deepEqual(begun.map((b) => b.also.get(`${shared.collection}/${shared.docId}`)?.events).sort(), [1, 2, 3, 4, 5, 6]);
  });

  it('a 429 with a Retry-After longer than the budget is kept as notBefore: an earlier redelivery does not call dbt Cloud', async () => {
    dbt.script({ status: 429, headers: { 'retry-after': '3600' }, body: { status: { code: 429 } } });
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    await assert.rejects(processor()(pubSubCloudEvent(event)), TransientError);
    const action = (await audit(event.id)).actions['dbt-job-301']!;
    assert.equal(action.status, 'retry');
    const wait = (action.notBefore?.toMillis() ?? 0) - Date.now();
    assert.ok(wait > 3_500_000 && wait <= 3_600_000, `notBefore is ${wait} ms ahead`);
    dbt.reset();
    await assert.rejects(processor()(pubSubCloudEvent(event)), /not done yet/);
    assert.equal(dbt.requests.length, 0, 'nothing sent before notBefore');
    const afterWait = createSyncEventProcessor(readProcessorConfig(h.env), { firestore: h.db, logger, now: () => Date.now() + 3_601_000 });
    await afterWait(pubSubCloudEvent(event));
    assert.equal(triggerRequests(dbt).length, 1);
  });

  it('the last delivery before dead-lettering sends one final alert naming the event, the action and its last error', async () => {
    dbt.script(...Array.from({ length: 40 }, () => ({ status: 500, body: 'upstream error' })));
    const event = syncEvent();
    const process = processor({ MAX_DELIVERY_ATTEMPTS: '5', OUTBOUND_MAX_ATTEMPTS: '1' });
    for (let delivery = 1; delivery <= 5; delivery++) {
      await assert.rejects(process(pubSubCloudEvent(event, 'doomed')), TransientError);
      assert.equal(slack.requests.length, delivery < 5 ? 0 : 1, `after delivery ${delivery}`);
    }
    const text = (slack.requests[0]!.json as { text: string }).text;
    assert.match(text, new RegExp(`gives up on event ${event.id}`));
    assert.match(text, /dbt-job-101: dbt Cloud job 101: HTTP 500/);
    const record = await audit(event.id);
    assert.equal((record.messageDeliveries as Record<string, number>).doomed, 5);
    assert.equal(record.actions['final-alert']?.status, 'succeeded');
  });

  it('a 450 KB failure reason is cut to fit: the event is recorded, alerted and acknowledged, never lost', async () => {
    const event = failedSync({ error: { message: `é${'x'.repeat(450_000)}` } });
    await processor()(pubSubCloudEvent(event));
    const record = (await h.db.collection(h.env.AUDIT_COLLECTION!).doc(event.id).get()).data()!;
    assert.equal(record.status, 'processed');
    const stored = (record.event as { error: { message: string } }).error.message;
    assert.ok(Buffer.byteLength(stored) <= 8_000 && stored.startsWith('éxxx') && stored.endsWith('…'), 'the reason is cut by bytes, marked');
    assert.ok(Buffer.byteLength(JSON.stringify(record)) < 600_000);
    assert.equal(slack.requests.length, 1);
  });

  it('an audit record that can never be written is alerted, not acknowledged silently; no job starts', async () => {
    const invalid = Object.assign(new Error('3 INVALID_ARGUMENT: injected'), { code: 3 });
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    const stub = sinon.stub(WriteBatch.prototype, 'commit').rejects(invalid);
    try {
      await processor()(pubSubCloudEvent(event));
      assert.equal(slack.requests.length, 1);
      assert.match((slack.requests[0]!.json as { text: string }).text, new RegExp(`could not record event ${event.id}.*INVALID_ARGUMENT`));
      assert.equal(triggerRequests(dbt).length, 0);
      assert.ok(logLines.some((line) => line.includes('"severity":"ERROR"') && line.includes('alerted in Slack, acknowledged')));
      // With Slack down as well, the message is not acknowledged at all.
      slack.script({ status: 503, body: 'down' }, { status: 503, body: 'down' }, { status: 503, body: 'down' });
      await assert.rejects(processor()(pubSubCloudEvent(event)), TransientError);
    } finally {
      stub.restore();
    }
  });

  it('one deadline per invocation: a dbt Cloud that hangs is abandoned in time to record the attempt (uncertain) before answering', async () => {
    dbt.script(...Array.from({ length: 10 }, () => 'hang' as const));
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    await assert.rejects(processor({ OUTBOUND_BUDGET_MS: '2000', OUTBOUND_TIMEOUT_MS: '10000' })(pubSubCloudEvent(event)), TransientError);
    const action = (await audit(event.id)).actions['dbt-job-301']!;
    assert.equal(action.status, 'retry', 'recorded within the reserve, not left pending');
    assert.equal(action.uncertain, true, 'a request that timed out may have started a run');
    assert.match(action.lastError ?? '', /timed out|no time left/);
    assert.equal(slack.requests.length, 0);
  });

  it('eight events of one connector at once: every one acted on; the connector document is best-effort and never holds them back', async () => {
    h.env.ROUTING_CONFIG = JSON.stringify({ routes: ROUTING.routes.map((r) => (r.name === 'loud' ? { ...r, dbtJobs: [{ jobId: 301, onBusy: 'queue' }] } : r)) });
    const events = Array.from({ length: 8 }, (_, i) => syncEvent({ connector: { id: 'loud', name: 'loud' }, occurredAt: `2026-05-22T00:0${i}:00Z` }));
    await Promise.all(events.map((event) => processor()(pubSubCloudEvent(event))));
    assert.equal(triggerRequests(dbt).length, 8);
    for (const event of events) assert.equal((await audit(event.id)).status, 'processed');
    const connector = (await h.db.collection(h.env.CONNECTORS_COLLECTION!).doc('fivetran-loud').get()).data()!;
    const listed = (connector.recentEvents as unknown[]).length;
    const skipped = logLines.filter((line) => line.includes('connector document not updated') && events.some((e) => line.includes(e.id))).length;
    assert.equal(listed + skipped, 8, 'each event is listed, or its skip is logged');
  });

  it('each message without data gets its own record', async () => {
    const process = processor();
    // Signed (over no bytes) as ingest would, so it gets past the signature check to the data check.
    const signature = signSyncEventData(Buffer.alloc(0), Buffer.from(TEST_SIGNING_KEY));
    const noData = (id: string) => ({ ...pubSubCloudEvent(syncEvent(), id), data: { message: { messageId: id, attributes: { [SIGNATURE_ATTRIBUTE]: signature } } } });
    await process(noData('no-data-1') as never);
    await process(noData('no-data-2') as never);
    assert.equal((await audit('invalid-no-data-1')).status, 'invalid');
    assert.equal((await audit('invalid-no-data-2')).status, 'invalid');
  });

  it('a claim held by a live delivery is left alone: the event is thrown back for later', async () => {
    const event = syncEvent({ connector: { id: 'loud', name: 'loud' } });
    await begin(storeAt(0, 60_000), event.id, 'other-live-delivery');
    await assert.rejects(processor()(pubSubCloudEvent(event)), /not done yet/);
    assert.equal(triggerRequests(dbt).length, 0);
    assert.equal(slack.requests.length, 0, 'Slack waits until the job is settled');
  });

  it('a message that is not a SyncEvent is recorded, alerted once, and acknowledged', async () => {
    const process = processor();
    await process(pubSubCloudEvent('{"hello": "world"}', 'bad-message-1'));
    await process(pubSubCloudEvent('{"hello": "world"}', 'bad-message-1'));
    const record = await audit('invalid-bad-message-1');
    assert.equal(record.status, 'invalid');
    assert.equal(record.deliveries, 2);
    assert.ok((record.problems as Array<{ field: string }>).some((p) => p.field === '/schemaVersion'));
    assert.equal(slack.requests.length, 1);
    assert.match((slack.requests[0]!.json as { text: string }).text, /bad-message-1: not a valid SyncEvent/);
    assert.equal(triggerRequests(dbt).length, 0);
  });

  it('an unreachable Firestore makes the function throw and nothing is started', async () => {
    const deadFirestore = emulatorFirestore(`127.0.0.1:${await freePort()}`);
    try {
      await assert.rejects(processor({ FIRESTORE_TIMEOUT_MS: '1500' }, deadFirestore)(pubSubCloudEvent(syncEvent())), (error: unknown) => {
        assert.ok(error instanceof TransientError, String(error));
        assert.equal(error.system, 'Firestore');
        return true;
      });
    } finally {
      void deadFirestore.terminate().catch(() => undefined);
    }
    assert.equal(dbt.requests.length, 0);
    assert.equal(slack.requests.length, 0);
  });
});
