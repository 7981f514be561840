import assert from 'node:assert/strict';
import type { Firestore } from '@google-cloud/firestore';
import { AuditTrail } from '../../../functions/read-model/audit-trail.js';
import { auditLastError } from '../../../functions/cli/replay.js';
import { timelineOf } from '../../../functions/read-model/timeline.js';
import { fakeDbtCloud, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { fakeSlack } from '../../../functions/local/fake-slack.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import { emulator } from '../../support/global-hooks.js';
import { emulatorFirestore, quietLogger, standInEnv } from '../../support/processor-harness.js';
import { pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// The CLI reads what the processor really writes: the real processor, on the Firestore
// emulator, with the dbt Cloud and Slack stand-ins, writes the audit records; the CLI's
// one reader (functions/read-model/audit-trail.ts) turns them into the story it prints.

// No metadata server here: without this the Google auth library probes for one.
process.env.METADATA_SERVER_DETECTION ??= 'none';

describe('the CLI reads the audit records the processor writes', function () {
  this.timeout(60_000);
  let db: Firestore;
  let dbt: FakeDbtCloud;
  let slack: RecordingServer;
  let trail: AuditTrail;
  const collection = `syncEvents-cli-${process.pid}`;
  const logger = quietLogger();

  before(async function () {
    db = emulatorFirestore(await emulator('firestore', this));
    dbt = fakeDbtCloud();
    slack = fakeSlack();
    await Promise.all([dbt.start(), slack.start()]);
    trail = new AuditTrail(db, collection);
    await db.collection(collection).doc('warm-up').get(); // the first call connects: not part of any invocation's budget
  });

  after(async () => {
    await Promise.all([dbt?.stop(), slack?.stop()]);
    await db?.terminate();
  });

  const processor = () =>
    createSyncEventProcessor(
      readProcessorConfig({
        // A job for the orders connector, and a message about every outcome, which waits for the job.
        ROUTING_CONFIG: JSON.stringify({ routes: [{ name: 'orders', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 101 }], slack: { notify: ['sync.succeeded'] } }] }),
        ...standInEnv(dbt, slack, { token: 'dbtc_token', webhookPath: '/services/T/B/x' }),
        AUDIT_COLLECTION: collection,
        CONNECTORS_COLLECTION: `${collection}-connectors`,
        OUTBOUND_TIMEOUT_MS: '2000',
        OUTBOUND_BUDGET_MS: '2000',
        OUTBOUND_MAX_ATTEMPTS: '1',
      }),
      { firestore: db, logger },
    );

  it('a job refused with 429 + Retry-After, then started on the next delivery: notBefore, the waiting message, the run, the message sent', async () => {
    const event = syncEvent();
    const message = pubSubCloudEvent(event, 'msg-1');
    // dbt Cloud asks to wait 3 s: longer than the invocation's budget (2 s), so it is kept as notBefore.
    dbt.failTriggers({ status: 429, headers: { 'retry-after': '3' }, body: { status: { code: 429, is_success: false, user_message: 'Too many requests' }, data: null } });
    await assert.rejects(processor()(message), /not done yet/);

    const first = (await trail.get(event.id))!;
    assert.equal(first.outcome, 'retrying');
    const job = first.actions.find((a) => a.kind === 'dbt')!;
    assert.equal(job.status, 'retry');
    const notBefore = job.notBefore!;
    const asked = job.requestLog[0]!.at!.getTime() + 3_000;
    assert.ok(Math.abs(notBefore.getTime() - asked) < 1_000, `notBefore ${notBefore.toISOString()}, about 3 s after the 429`);
    assert.deepEqual(job.requestLog.map((r) => r.status), [429]);
    assert.equal(first.actions.find((a) => a.kind === 'slack')!.status, 'waiting');
    const story = timelineOf(first).map((e) => e.what);
    assert.ok(story.includes(`dbt job 101: left for the next delivery, not before ${notBefore.toISOString()} (the service asked to wait: Retry-After)`), story.join('\n'));
    assert.ok(story.includes('Slack SLACK_WEBHOOK_URL: waiting until the dbt jobs it reports are started or failed for good'), story.join('\n'));
    assert.equal(story.at(-1), 'outcome so far: retrying');
    // What `postload replay` prints for this event, were it dead-lettered now.
    const report = await auditLastError(trail)(event.id);
    assert.equal(report?.outcome, 'retrying');
    assert.match(report?.error ?? '', /^dbt job 101: .*429/);

    // The next delivery, once the wait dbt Cloud asked for is over (real time: the store and the HTTP client share the clock).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, notBefore.getTime() - Date.now() + 50)));
    await processor()(pubSubCloudEvent(event, 'msg-2'));
    const done = (await trail.get(event.id))!;
    assert.equal(done.outcome, 'processed');
    assert.equal(done.deliveries, 2);
    assert.deepEqual(done.messages, [{ messageId: 'msg-1', deliveries: 1 }, { messageId: 'msg-2', deliveries: 1 }]);
    const started = done.actions.find((a) => a.kind === 'dbt')!;
    assert.equal(started.runId, dbt.runsFor(event.id)[0]!.id);
    assert.equal(started.attempts, 2);
    assert.equal(started.notBefore, null);
    const lines = timelineOf(done).map((e) => `${e.level} ${e.what}`);
    const order = [
      'info delivered to the processor (1st delivery; routes orders)',
      'error dbt job 101: request → 429',
      'error dbt job 101: transient error (attempt 1): ',
      'info delivered again (2 deliveries in all: message msg-1 ×1, message msg-2 ×1)',
      `ok dbt job 101: started run ${started.runId}`,
      'ok Slack SLACK_WEBHOOK_URL: message sent',
      'ok outcome: processed',
    ];
    const positions = order.map((text) => lines.findIndex((l) => l.startsWith(text)));
    assert.ok(positions.every((p) => p >= 0), `${order.join('\n')}\nin\n${lines.join('\n')}`);
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b), lines.join('\n'));
  });

  it('a message that is not a SyncEvent: its record shows the problems', async () => {
    await processor()(pubSubCloudEvent('{"id": 5}', 'msg-invalid'));
    const view = (await trail.get('invalid-msg-invalid'))!;
    assert.ok(view, 'no record for the invalid message');
    assert.deepEqual([view.type, view.outcome], ['invalid message', 'invalid']);
    assert.ok(view.problems.length > 0);
    assert.match(timelineOf(view)[0]!.what, /^delivered to the processor: not a valid SyncEvent \(/);
  });
});
