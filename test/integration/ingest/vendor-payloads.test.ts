import assert from 'node:assert/strict';
import type { AirbyteWebhook } from '../../../functions/generated/airbyte-webhook.schema.js';
import type { FivetranWebhook } from '../../../functions/generated/fivetran-webhook.schema.js';
import { normaliseAirbyte } from '../../../functions/ingest/airbyte/normalise.js';
import { normaliseFivetran } from '../../../functions/ingest/fivetran/normalise.js';
import type { FunctionProcess } from '../../../functions/local/function-process.js';
import { postAirbyte, postFivetran } from '../../../functions/local/webhooks.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { ingestOnEmulator } from '../../support/ingest-harness.js';
import { EmulatorPubSub } from '../../support/pubsub-emulator.js';
import { fixtureNames, fixtureText, type FixtureSource } from '../../support/webhook-fixtures.js';

const SECRET = 'vendor-payloads-fivetran-secret';
const TOKEN = 'vendor-payloads-airbyte-token-0123456789abcdef';
const isSyncEvent = validator<SyncEvent>('sync-event.v1');
const RECEIVED = new Date();

/** The type the normaliser gives a fixture in-process: what the deployed function must publish. */
function expectedType(source: FixtureSource, body: string): SyncEvent['type'] {
  const parsed: unknown = JSON.parse(body);
  return source === 'fivetran' ? normaliseFivetran(parsed as FivetranWebhook, RECEIVED).type : normaliseAirbyte(parsed as AirbyteWebhook, RECEIVED).type;
}

// Every payload the vendors really send (test/fixtures, origins in test/fixtures/SOURCES.md),
// through the real function and the Pub/Sub emulator: all are accepted and published once.
describe('every vendor fixture over real HTTP → Pub/Sub emulator', function () {
  this.timeout(90_000);
  let pubsub: EmulatorPubSub;
  let subscription: string;
  let ingest: FunctionProcess;

  before(async function () {
    ({ pubsub, subscription, ingest } = await ingestOnEmulator(this, { FIVETRAN_WEBHOOK_SECRET: SECRET, AIRBYTE_WEBHOOK_TOKEN: TOKEN }));
  });
  after(async () => ingest?.stop());

  for (const source of ['fivetran', 'airbyte'] as const) {
    it(`answers 202 to every ${source} fixture and publishes it once, with the normalised type`, async () => {
      const names = fixtureNames(source);
      const sent = new Map<string, { name: string; type: SyncEvent['type'] }>();
      for (const name of names) {
        const body = fixtureText(source, name);
        const response = source === 'fivetran' ? await postFivetran(`${ingest.url}/fivetran`, body, SECRET) : await postAirbyte(`${ingest.url}/airbyte?token=${TOKEN}`, body);
        const answer = (await response.json()) as { id: string; type: string };
        assert.equal(response.status, 202, `${name}: ${JSON.stringify(answer)}`);
        const type = expectedType(source, body);
        assert.equal(answer.type, type, name);
        sent.set(answer.id, { name, type });
      }
      assert.equal(sent.size, names.length, 'every fixture is its own occurrence (distinct event ids)');
      const messages = await pubsub.pullAtLeast(subscription, sent.size, 20_000);
      assert.equal(messages.length, sent.size, 'one message per distinct event');
      for (const message of messages) {
        const event = JSON.parse(message.data) as SyncEvent;
        assert.ok(isSyncEvent(event), JSON.stringify(isSyncEvent.errors));
        const origin = sent.get(event.id);
        assert.ok(origin, `an event we sent: ${event.id}`);
        assert.equal(message.attributes.type, origin.type, origin.name);
        assert.equal(event.source, source);
      }
    });
  }
});
