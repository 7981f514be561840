import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import sinon from 'sinon';
import { deliveredMessages } from '../../../functions/local/fake-slack.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { TransientError } from '../../../functions/processor/errors.js';
import { createSyncEventProcessor } from '../../../functions/processor/process-sync-event.js';
import { refusedDocId } from '../../../functions/processor/store/document-ids.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { SIGNATURE_ATTRIBUTE } from '../../../functions/shared/sync-event-signature.js';
import { secretManager } from '../../support/fake-secret-manager.js';
import { processorHarness } from '../../support/processor-harness.js';
import { pubSubCloudEvent, syncEvent, TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

// Issue 25, finding 3: the processor acts only on messages postload signed. Anything else
// that can publish to the topic (a build's service account, a script) is refused: recorded
// under its message id, logged at ERROR, alerted once a day per problem, acknowledged, and
// nothing is started. On the Firestore emulator with the loopback dbt Cloud and Slack stand-ins.

const WEBHOOK_PATH = '/services/T000/B000/signedmessages';
const ROUTING = { routes: [{ name: 'orders', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 601 }], slack: { notify: ['sync.succeeded'] } }] };

// The alert day documents live in one fixed collection shared with other suites: every test
// gets a day of its own, in the past (the processor's clock), so that the events, received
// now, are not older than the audit retention by that clock.
const BASE_DAY = Date.now() - randomInt(1, 1000) * 30 * 86_400_000;
let days = 0;

describe('processSyncEvent: only messages postload signed are acted on (Firestore emulator, loopback dbt Cloud and Slack)', function () {
  this.timeout(60_000);
  const h = processorHarness({ routing: ROUTING, token: 'dbtc_signed', webhookPath: WEBHOOK_PATH, prefix: 'sig-', env: { OUTBOUND_MAX_ATTEMPTS: '2', OUTBOUND_RETRY_MIN_DELAY_MS: '10' } });
  const { dbt, slack, logs } = h;

  let day: number;
  beforeEach(() => {
    day = BASE_DAY - days++ * 4 * 86_400_000;
  });
  /** A processor whose clock is on this test's day. */
  const processor = (configure: (config: ReturnType<typeof readProcessorConfig>) => void = () => {}) => {
    const config = readProcessorConfig(h.env);
    configure(config);
    return createSyncEventProcessor(config, { firestore: h.db, logger: h.logger, now: () => day });
  };
  const refusalAlerts = () => deliveredMessages(slack).filter((m) => /refused a Pub\/Sub message/.test(m.text));
  const record = async (messageId: string) => (await h.db.collection(h.env.AUDIT_COLLECTION!).doc(refusedDocId(messageId)).get()).data();

  it('acts on a message signed with the key: the run starts (the control for the refusals below)', async () => {
    await processor()(pubSubCloudEvent(syncEvent(), 'm-signed'));
    assert.equal(dbt.requests.filter((r) => r.method === 'POST').length, 1);
  });

  it('an unsigned sync.succeeded starts nothing and sends no event message: it is recorded, logged at ERROR and alerted, then acknowledged', async () => {
    const event = syncEvent();
    await processor()(pubSubCloudEvent(event, 'm-unsigned', { signingKey: null }));

    assert.equal(dbt.requests.length, 0, 'no dbt Cloud request at all');
    assert.equal(refusalAlerts().length, 1);
    assert.equal(deliveredMessages(slack).length, 1, 'the alert is the only message');
    const alert = `${refusalAlerts()[0]!.text}\n${JSON.stringify(refusalAlerts()[0]!.blocks)}`;
    assert.match(alert, /m-unsigned/);
    assert.match(alert, /unsigned/);
    assert.match(alert, new RegExp(`eventId \`${event.id}\``), 'what it claims to be');

    const stored = await record('m-unsigned');
    assert.equal(stored?.kind, 'refused');
    assert.equal(stored?.status, 'invalid');
    assert.match(JSON.stringify(stored?.problems), /no postloadSignature attribute/);
    assert.equal((await h.db.collection(h.env.AUDIT_COLLECTION!).doc(event.id).get()).exists, false, 'never read as an event');
    assert.ok(logs.some((line) => /"severity":"ERROR"/.test(line) && line.includes('refused a Pub/Sub message that postload did not sign (unsigned)')));

    // Redelivered: already recorded, nothing more.
    await processor()(pubSubCloudEvent(event, 'm-unsigned', { signingKey: null }));
    assert.equal(refusalAlerts().length, 1);
    assert.equal(dbt.requests.length, 0);
  });

  it('a message signed with another key is refused alike, and its claims are shown escaped, never as markup', async () => {
    const event = syncEvent();
    await processor()(pubSubCloudEvent(event, 'm-forged', { signingKey: 'a-key-the-attacker-made-up-0123456789', attributes: { connectorId: '<!channel> <https://evil.example|Re-authenticate>' } }));
    assert.equal(dbt.requests.length, 0);
    assert.equal((await record('m-forged'))?.kind, 'refused');
    assert.match(JSON.stringify((await record('m-forged'))?.problems), /does not match the data under any enabled version of SYNC_EVENT_SIGNING_KEY/);
    const alert = JSON.stringify(refusalAlerts()[0]);
    assert.ok(!alert.includes('<!channel>') && !alert.includes('<https://evil'), alert);
    assert.ok(alert.includes('&lt;!channel&gt;'));
  });

  it('a signature over other data (a signed message with its data swapped) is refused', async () => {
    const genuine = pubSubCloudEvent(syncEvent(), 'm-genuine');
    const swapped = pubSubCloudEvent(syncEvent({ connector: { id: 'assimilate_seem', name: 'swapped' } }), 'm-swapped', { signingKey: null });
    const signature = (genuine.data as { message: { attributes: Record<string, string> } }).message.attributes[SIGNATURE_ATTRIBUTE]!;
    (swapped.data as { message: { attributes: Record<string, string> } }).message.attributes[SIGNATURE_ATTRIBUTE] = signature;
    await processor()(swapped);
    assert.equal(dbt.requests.length, 0);
    assert.equal((await record('m-swapped'))?.kind, 'refused');
  });

  it('a flood of refused messages is one alert a day per problem; each is still recorded', async () => {
    for (let i = 0; i < 5; i++) await processor()(pubSubCloudEvent(syncEvent(), `m-flood-${i}`, { signingKey: null }));
    await processor()(pubSubCloudEvent(syncEvent(), 'm-flood-wrong', { signingKey: 'another-made-up-key-0123456789abcdef' }));
    assert.equal(refusalAlerts().length, 2, 'one for unsigned, one for wrong_signature');
    for (let i = 0; i < 5; i++) assert.equal((await record(`m-flood-${i}`))?.kind, 'refused', `m-flood-${i} recorded`);
    const later = (await record('m-flood-3'))?.actions as Record<string, { sent?: boolean; alreadyAlertedBy?: string[] }>;
    assert.equal(later.slack?.sent, false);
    assert.deepEqual(later.slack?.alreadyAlertedBy, [refusedDocId('m-flood-0')]);
    day += 86_400_000;
    await processor()(pubSubCloudEvent(syncEvent(), 'm-flood-next-day', { signingKey: null }));
    assert.equal(refusalAlerts().length, 3, 'the next day alerts again');
    assert.equal(dbt.requests.length, 0);
  });

  it('is unsure, and lets Pub/Sub deliver it again, when the key may have a version newer than its copy; records nothing meanwhile', async () => {
    const sm = secretManager({ 1: TEST_SIGNING_KEY });
    const key = new Secret('SYNC_EVENT_SIGNING_KEY', 'sm://projects/p/secrets/signing', { client: async () => sm.client });
    const run = processor((config) => (config.signingKey = key));
    await run(pubSubCloudEvent(syncEvent(), 'm-warm')); // reads the key, acts
    assert.equal(dbt.requests.filter((r) => r.method === 'POST').length, 1);
    sm.set(2, 'a-version-added-a-moment-ago-0123456789ab');
    // Signed with the new version seconds after this instance read the key: it may be genuine.
    await assert.rejects(run(pubSubCloudEvent(syncEvent(), 'm-new-version', { signingKey: 'a-version-added-a-moment-ago-0123456789ab' })), TransientError);
    assert.equal(await record('m-new-version'), undefined);
    assert.equal(refusalAlerts().length, 0);
  });

  it('fails closed when the key cannot be read: the message is delivered again, nothing is started or recorded', async () => {
    const failing = { listSecretVersions: sinon.stub().rejects(Object.assign(new Error('UNAVAILABLE'), { code: 14 })), accessSecretVersion: sinon.stub() };
    const key = new Secret('SYNC_EVENT_SIGNING_KEY', 'sm://projects/p/secrets/signing', { client: async () => failing as never, attempts: 1 });
    const event = syncEvent();
    await assert.rejects(processor((config) => (config.signingKey = key))(pubSubCloudEvent(event, 'm-no-key')));
    assert.equal(dbt.requests.length, 0);
    assert.equal(slack.requests.length, 0);
    assert.equal((await h.db.collection(h.env.AUDIT_COLLECTION!).doc(event.id).get()).exists, false);
  });
});
