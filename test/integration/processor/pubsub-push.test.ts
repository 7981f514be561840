import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { freePort } from '../../../functions/local/emulators.js';
import { startFunction, type FunctionProcess } from '../../../functions/local/function-process.js';
import { pollUntil } from '../../../functions/local/poll.js';
import { fakeDbtCloud, triggerRequests } from '../../../functions/local/fake-dbt-cloud.js';
import { fakeSlack } from '../../../functions/local/fake-slack.js';
import type { RecordingServer } from '../../../functions/local/recording-server.js';
import { emulator, PROJECT_ID } from '../../support/global-hooks.js';
import { emulatorFirestore, standInEnv } from '../../support/processor-harness.js';
import { failedSync, signedMessage, syncEvent } from '../../support/sync-event-fixtures.js';

/** The built package served by the Functions Framework, as Cloud Functions runs it. */
async function serveProcessor(env: Record<string, string>): Promise<FunctionProcess> {
  return startFunction({ target: 'processSyncEvent', port: await freePort(), env });
}

const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) =>
  pollUntil(probe, { timeoutMs, everyMs: 200, failure: () => `timed out waiting for ${what}` });

describe('processSyncEvent served by the Functions Framework behind a Pub/Sub emulator push subscription', function () {
  this.timeout(90_000);
  let pubsubHost: string;
  let firestoreHost: string;
  let dbt: RecordingServer;
  let slack: RecordingServer;
  let served: FunctionProcess | undefined;
  let db: Firestore;
  const dir = mkdtempSync(join(tmpdir(), 'postload-push-'));

  before(async function () {
    if (!existsSync('dist/index.js')) throw new Error('dist/ is not built: run `npm run build` (npm test does it first)');
    pubsubHost = await emulator('pubsub', this);
    firestoreHost = await emulator('firestore', this);
    dbt = fakeDbtCloud();
    slack = fakeSlack();
    await Promise.all([dbt.start(), slack.start()]);
    db = emulatorFirestore(firestoreHost);
  });

  after(async () => {
    await served?.stop();
    await Promise.all([dbt?.stop(), slack?.stop()]);
    await db?.terminate();
  });

  it('receives a pushed SyncEvent and acts on it: one dbt run, one Slack alert, an audit record', async () => {
    const routingFile = join(dir, 'routing.json');
    writeFileSync(routingFile, JSON.stringify({ routes: [{ name: 'pg', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 555 }] }] }));
    const collection = `syncEvents-push-${process.pid}`;
    served = await serveProcessor({
      ROUTING_CONFIG: routingFile,
      ...standInEnv(dbt, slack, { token: 'dbtc_push_token', webhookPath: '/services/T/B/pushsecret' }),
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      AUDIT_COLLECTION: collection,
      CONNECTORS_COLLECTION: `connectors-push-${process.pid}`,
      JOB_STATE_COLLECTION: `jobs-push-${process.pid}`,
    });

    const pubsub = new PubSub({ projectId: PROJECT_ID, apiEndpoint: pubsubHost, emulatorMode: true });
    const [topic] = await pubsub.createTopic(`sync-events-push-${process.pid}`);
    await topic.createSubscription(`processor-push-${process.pid}`, { pushConfig: { pushEndpoint: `${served.url}/` }, ackDeadlineSeconds: 60 });

    const success = syncEvent();
    const failure = failedSync();
    for (const event of [success, failure]) await topic.publishMessage(signedMessage(event));

    const triggers = await eventually('a dbt Cloud trigger', async () => (triggerRequests(dbt).length ? triggerRequests(dbt) : undefined));
    assert.equal(triggers[0]?.url, '/api/v2/accounts/7/jobs/555/run/');
    assert.equal(triggers[0]?.headers.authorization, 'Token dbtc_push_token');
    assert.match((triggers[0]?.json as { cause: string }).cause, new RegExp(`\\[event ${success.id}\\]$`));
    const alerts = await slack.waitFor(1, { timeoutMs: 30_000 });
    assert.match((alerts[0]?.json as { text: string }).text, /Fivetran sync failed: ftar_pg/);

    for (const event of [success, failure]) {
      const record = await eventually(`audit record ${event.id}`, async () => {
        const data = (await db.collection(collection).doc(event.id).get()).data();
        return data && data.status !== 'received' ? data : undefined;
      });
      assert.equal(record.status, 'processed');
    }
    // Acknowledged: nothing is redelivered, so still one run and one message.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(triggerRequests(dbt).length, 1);
    assert.equal(slack.requests.length, 1);
    const logs = served.output();
    assert.ok(!logs.includes('dbtc_push_token') && !logs.includes('pushsecret'), 'a secret reached the logs');
    await pubsub.close();
  });

  it('refuses to start with a bad routing file, naming the file and the field', async () => {
    const routingFile = join(dir, 'bad-routing.json');
    writeFileSync(routingFile, JSON.stringify({ routes: [{ name: 'pg', match: { source: 'stitch' } }] }));
    const field = new RegExp(`ROUTING_CONFIG: ${routingFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: /routes/0/match/source`);
    // startFunction rejects when the process exits before it listens, with what it printed.
    await assert.rejects(
      serveProcessor({ ROUTING_CONFIG: routingFile, SLACK_WEBHOOK_URL: 'https://example.invalid/x', GOOGLE_CLOUD_PROJECT: PROJECT_ID }),
      (error: Error) => /exited with code [1-9]/.test(error.message) && field.test(error.message),
    );
  });
});
