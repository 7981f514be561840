import assert from 'node:assert/strict';
import { signFivetranPayload } from '../../../functions/ingest/fivetran/signature.js';
import { startEmulator } from '../../../functions/local/emulators.js';
import type { FunctionProcess } from '../../../functions/local/function-process.js';
import { postFivetran as postSigned } from '../../../functions/local/webhooks.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { PROJECT_ID } from '../../support/global-hooks.js';
import { ingestOnEmulator, startIngest } from '../../support/ingest-harness.js';
import { EmulatorPubSub } from '../../support/pubsub-emulator.js';
import { fixtureText } from '../../support/webhook-fixtures.js';
import { signSyncEventData } from '../../../functions/shared/sync-event-signature.js';
import { TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

const SECRET = 'integration-fivetran-secret';
const TOKEN = 'integration-airbyte-token';
const isSyncEvent = validator<SyncEvent>('sync-event.v1');

/** The function's own settings in this file: both vendors' secrets (and a short publish deadline). */
const INGEST_ENV = { FIVETRAN_WEBHOOK_SECRET: SECRET, AIRBYTE_WEBHOOK_TOKEN: TOKEN, PUBLISH_TIMEOUT_MS: '2000' };

/** A body signed as Fivetran signs it, to the ingest function's /fivetran. */
const postFivetran = (url: string, body: string, secret = SECRET) => postSigned(`${url}/fivetran`, body, secret);

describe('ingestWebhook → Pub/Sub emulator (real function, real emulator)', function () {
  this.timeout(60_000);
  let pubsub: EmulatorPubSub;
  let topic: string;
  let subscription: string;
  let ingest: FunctionProcess;

  before(async function () {
    ({ pubsub, topic, subscription, ingest } = await ingestOnEmulator(this, INGEST_ENV));
  });
  after(async () => ingest?.stop());

  it('publishes a signed Fivetran sync_end as a valid SyncEvent with filterable attributes', async () => {
    const response = await postFivetran(ingest.url, fixtureText('fivetran', 'sync_end-successful'));
    assert.equal(response.status, 202);
    const accepted = (await response.json()) as { id: string; type: string };
    const [message, ...rest] = await pubsub.pullAtLeast(subscription, 1);
    assert.equal(rest.length, 0);
    const event = JSON.parse(message!.data) as SyncEvent;
    assert.ok(isSyncEvent(event), JSON.stringify(isSyncEvent.errors));
    assert.equal(event.id, accepted.id);
    assert.equal(event.type, 'sync.succeeded');
    assert.deepEqual(message!.attributes, {
      eventId: accepted.id,
      schemaVersion: '1',
      source: 'fivetran',
      type: 'sync.succeeded',
      vendorEvent: 'sync_end',
      connectorId: 'assimilate_seem',
      connectorName: 'ftar_pg',
      destinationId: 'inappropriate_implode',
      status: 'succeeded',
      // The fixture happened months ago: received now, it is stale (issue 25, finding 4).
      stale: 'true',
      // Signed with the key the function was given (issue 25): the processor acts on nothing else.
      postloadSignature: signSyncEventData(Buffer.from(message!.data), Buffer.from(TEST_SIGNING_KEY)),
    });
  });

  it('publishes an Airbyte failure sent with ?token=, with the error details', async () => {
    const response = await fetch(`${ingest.url}/airbyte?token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fixtureText('airbyte', 'sync-failed'),
    });
    assert.equal(response.status, 202);
    const [message] = await pubsub.pullAtLeast(subscription, 1);
    const event = JSON.parse(message!.data) as SyncEvent;
    assert.ok(isSyncEvent(event));
    assert.equal(message!.attributes.type, 'sync.failed');
    assert.equal(message!.attributes.source, 'airbyte');
    assert.equal(message!.attributes.status, 'failed');
    assert.equal(event.error?.type, 'config_error');
    assert.equal(event.metrics?.recordsCommitted, 0);
  });

  it('publishes nothing for refused requests, and authentic bodies it cannot interpret as quarantined', async () => {
    const body = fixtureText('fivetran', 'sync_end-failure');
    const answers = await Promise.all([
      postFivetran(ingest.url, body, 'not-the-secret'),
      fetch(`${ingest.url}/airbyte?token=wrong`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fixtureText('airbyte', 'sync-failed') }),
      fetch(`${ingest.url}/fivetran`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Fivetran-Signature-256': signFivetranPayload('{"event":', SECRET) }, body: '{"event":' }),
      postFivetran(ingest.url, '{"event":"sync_end","connector_id":"c"}'),
    ]);
    assert.deepEqual(answers.map((r) => r.status), [401, 401, 202, 202]);
    const quarantined = (await Promise.all(answers.slice(2).map((r) => r.json()))) as Array<{ id: string; type: string; quarantined: boolean; problems: Array<{ code: string }> }>;
    assert.deepEqual(quarantined.map((q) => [q.type, q.quarantined, q.problems[0]?.code]), [['quarantined', true, 'invalid_json'], ['quarantined', true, 'schema_violation']]);
    // A valid marker sent afterwards: the topic holds the two quarantined events and it, nothing for the 401s.
    const marker = await postFivetran(ingest.url, fixtureText('fivetran', 'sync_start'));
    assert.equal(marker.status, 202);
    const messages = await pubsub.pullAtLeast(subscription, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    messages.push(...(await pubsub.pull(subscription)));
    assert.deepEqual(messages.map((m) => m.attributes.type).sort(), ['quarantined', 'quarantined', 'sync.started']);
    const text = messages.map((m) => JSON.parse(m.data) as SyncEvent).find((e) => e.quarantine?.payloadText !== null && e.type === 'quarantined');
    assert.equal(text?.quarantine?.payloadText, '{"event":', 'an unparseable body travels as text');
    assert.equal(text?.vendorEvent, 'unknown');
    const structured = messages.map((m) => JSON.parse(m.data) as SyncEvent).find((e) => e.quarantine?.problems[0]?.code === 'schema_violation');
    assert.deepEqual([structured?.vendorEvent, structured?.payload], ['sync_end', { event: 'sync_end', connector_id: 'c' }]);
  });

  it('warns at start-up about secrets shorter than 32 characters, naming the setting, never the value', async () => {
    await ingest.waitForOutput(/FIVETRAN_WEBHOOK_SECRET is shorter than 32 characters/);
    await ingest.waitForOutput(/AIRBYTE_WEBHOOK_TOKEN is shorter than 32 characters/);
    assert.ok(!ingest.output().includes(SECRET) && !ingest.output().includes(TOKEN));
  });

  it('gives a re-sent event the same id (consumers deduplicate on it)', async () => {
    const body = fixtureText('fivetran', 'sync_end-rescheduled');
    const first = (await (await postFivetran(ingest.url, body)).json()) as { id: string };
    const second = (await (await postFivetran(ingest.url, body)).json()) as { id: string };
    assert.equal(first.id, second.id);
    const messages = await pubsub.pullAtLeast(subscription, 2);
    assert.deepEqual(messages.map((m) => m.attributes.eventId), [first.id, first.id]);
  });

  it('answers 503 with Retry-After when the topic does not exist, and claims nothing', async () => {
    const broken = await startIngest(pubsub.host, 'no-such-topic', INGEST_ENV);
    try {
      const response = await postFivetran(broken.url, fixtureText('fivetran', 'sync_end-successful'));
      assert.equal(response.status, 503);
      assert.ok(response.headers.get('retry-after'));
      assert.equal(((await response.json()) as { error: string }).error, 'publish_failed');
    } finally {
      await broken.stop();
    }
  });

  it('answers 503 within the publish timeout when the emulator has stopped', async () => {
    const own = await startEmulator('pubsub');
    const ownPubSub = new EmulatorPubSub(own.host, PROJECT_ID);
    const ownTopic = await ownPubSub.createTopic();
    const fn = await startIngest(own.host, ownTopic, INGEST_ENV);
    try {
      assert.equal((await postFivetran(fn.url, fixtureText('fivetran', 'sync_start'))).status, 202);
      await own.stop();
      const response = await postFivetran(fn.url, fixtureText('fivetran', 'sync_end-successful'));
      assert.equal(response.status, 503);
      await fn.waitForOutput(/webhook not stored: publishing failed/);
    } finally {
      await fn.stop();
      await own.stop();
    }
  });
});
