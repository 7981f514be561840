import assert from 'node:assert/strict';
import { signDbtCloudPayload } from '../../../functions/ingest/dbt-cloud/signature.js';
import type { FunctionProcess } from '../../../functions/local/function-process.js';
import { postDbtCloud } from '../../../functions/local/webhooks.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { ingestOnEmulator, startIngest } from '../../support/ingest-harness.js';
import { EmulatorPubSub } from '../../support/pubsub-emulator.js';
import { fixtureText } from '../../support/webhook-fixtures.js';
import { signSyncEventData } from '../../../functions/shared/sync-event-signature.js';
import { TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

const SECRET = 'integration-dbt-cloud-secret';
const isSyncEvent = validator<SyncEvent>('sync-event.v1');

/** The function's own settings in this file: the dbt Cloud secret (and short publish deadline). */
const INGEST_ENV = { DBT_CLOUD_WEBHOOK_SECRET: SECRET, PUBLISH_TIMEOUT_MS: '2000' };

describe('dbt Cloud webhooks → ingestWebhook → Pub/Sub emulator (real function, real emulator)', function () {
  this.timeout(60_000);
  let pubsub: EmulatorPubSub;
  let topic: string;
  let subscription: string;
  let ingest: FunctionProcess;
  const post = (body: string, secret = SECRET) => postDbtCloud(`${ingest.url}/dbt-cloud`, body, secret);

  before(async function () {
    ({ pubsub, topic, subscription, ingest } = await ingestOnEmulator(this, INGEST_ENV));
  });
  after(async () => ingest?.stop());

  it('publishes a signed job.run.completed (Errored) as transformation.failed with filterable attributes', async () => {
    const response = await post(fixtureText('dbt-cloud', 'job.run.completed-errored'));
    assert.equal(response.status, 202);
    const accepted = (await response.json()) as { id: string; type: string };
    assert.equal(accepted.type, 'transformation.failed');
    const [message, ...rest] = await pubsub.pullAtLeast(subscription, 1);
    assert.equal(rest.length, 0);
    const event = JSON.parse(message!.data) as SyncEvent;
    assert.ok(isSyncEvent(event), JSON.stringify(isSyncEvent.errors));
    assert.equal(event.id, accepted.id);
    assert.equal(event.error?.message, 'Database Error in model orders');
    assert.equal(event.transformation?.cause, 'postload: Fivetran sync.succeeded for orders_pg [event 6e84f591dfdad48136bab0ac6e4c52b8]');
    assert.deepEqual(message!.attributes, {
      eventId: accepted.id,
      schemaVersion: '1',
      source: 'dbt-cloud',
      type: 'transformation.failed',
      vendorEvent: 'job.run.completed',
      connectorId: '101',
      connectorName: 'Nightly build',
      destinationId: '7',
      status: 'failed',
      // The fixture happened months ago: received now, it is stale (issue 25, finding 4).
      stale: 'true',
      // Signed with the key the function was given (issue 25): the processor acts on nothing else.
      postloadSignature: signSyncEventData(Buffer.from(message!.data), Buffer.from(TEST_SIGNING_KEY)),
    });
  });

  it('gives job.run.errored and job.run.completed of one failed run one id, so subscribing to both doubles nothing downstream', async () => {
    const errored = (await (await post(fixtureText('dbt-cloud', 'job.run.errored'))).json()) as { id: string };
    const completed = (await (await post(fixtureText('dbt-cloud', 'job.run.completed-errored'))).json()) as { id: string };
    assert.equal(errored.id, completed.id);
    const messages = await pubsub.pullAtLeast(subscription, 2);
    assert.deepEqual(messages.map((m) => [m.attributes.eventId, m.attributes.vendorEvent]).sort(), [
      [errored.id, 'job.run.completed'],
      [errored.id, 'job.run.errored'],
    ]);
  });

  it('refuses a wrong, missing or malformed Authorization with 401 and publishes nothing; quarantines a signed body of the wrong shape', async () => {
    const body = fixtureText('dbt-cloud', 'job.run.started');
    const url = `${ingest.url}/dbt-cloud`;
    const headers = { 'content-type': 'application/json' };
    const refused = await Promise.all([
      post(body, 'not-the-secret'),
      fetch(url, { method: 'POST', headers, body }),
      fetch(url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${signDbtCloudPayload(body, SECRET)}` }, body }),
      fetch(url, { method: 'POST', headers: { ...headers, authorization: signDbtCloudPayload(body, SECRET).slice(1) }, body }),
    ]);
    assert.deepEqual(refused.map((r) => r.status), [401, 401, 401, 401]);
    const errors = await Promise.all(refused.map(async (r) => ((await r.json()) as { error: string }).error));
    assert.deepEqual(errors, ['unauthorized', 'missing_credentials', 'malformed_credentials', 'malformed_credentials']);
    // A signed payload of the wrong shape is authentic: accepted and quarantined, naming the field.
    const wrongShape = JSON.stringify({ accountId: 1, eventType: 'job.run.completed', data: { jobId: 101, runId: '70000123' } });
    const invalid = await post(wrongShape);
    assert.equal(invalid.status, 202);
    const answer = (await invalid.json()) as { type: string; problems: Array<{ pointer?: string }> };
    assert.equal(answer.type, 'quarantined');
    assert.ok(answer.problems.some((p) => p.pointer === '/data/jobId'), JSON.stringify(answer));
    // A valid marker sent afterwards: the quarantined event and the marker are the only messages.
    const marker = await post(fixtureText('dbt-cloud', 'job.run.completed-success'));
    assert.equal(marker.status, 202);
    const messages = await pubsub.pullAtLeast(subscription, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    messages.push(...(await pubsub.pull(subscription)));
    assert.deepEqual(messages.map((m) => m.attributes.type).sort(), ['quarantined', 'transformation.succeeded']);
    assert.ok(messages.some((m) => m.attributes.type === 'quarantined' && m.attributes.vendorEvent === 'job.run.completed'));
  });

  it('fails closed with 503 not_configured while DBT_CLOUD_WEBHOOK_SECRET is unset, and says so at start-up', async () => {
    const unconfigured = await startIngest(pubsub.host, topic, { ...INGEST_ENV, DBT_CLOUD_WEBHOOK_SECRET: '' });
    try {
      await unconfigured.waitForOutput(/DBT_CLOUD_WEBHOOK_SECRET is not set/);
      const response = await postDbtCloud(`${unconfigured.url}/dbt-cloud`, fixtureText('dbt-cloud', 'job.run.started'), SECRET);
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { error: string }).error, 'not_configured');
    } finally {
      await unconfigured.stop();
    }
  });
});
