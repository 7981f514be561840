import assert from 'node:assert/strict';
import { SLACK_NOT_CONFIGURED, SLACK_NOT_SENT } from '../../../functions/processor/actions.js';
import { fakeSecretManager, type FakeSecretManager } from '../../../functions/local/fake-secret-manager.js';
import { processorHarness } from '../../support/processor-harness.js';
import { failedSync, pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// Slack is optional (issue 24): with no webhook, or a webhook secret that holds no value
// yet, nothing is retried and nothing is dead-lettered; every message that would have gone
// to Slack is logged once, at WARNING, with the stable text the alert policy matches.

// No metadata server here: without this the Google auth library probes for one.
process.env.METADATA_SERVER_DETECTION ??= 'none';

const PROJECT = 'postload-test';

describe('the processor without Slack (Firestore emulator, dbt Cloud and Secret Manager stand-ins)', function () {
  this.timeout(60_000);
  const h = processorHarness({
    routing: {
      routes: [
        { name: 'orders', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 101 }], slack: { notify: ['sync.failed', 'sync.succeeded'] } },
        { name: 'ghost', match: { source: 'fivetran', connectorId: 'ghost' }, dbtJobs: [{ jobId: 404 }] },
      ],
    },
    token: 'dbtc_slack_optional_token',
    webhookPath: '/services/T/B/slack-optional',
    prefix: 'no-slack-',
    env: { OUTBOUND_MAX_ATTEMPTS: '1', OUTBOUND_BUDGET_MS: '8000', ACTION_LEASE_SECONDS: '30' },
  });
  let secrets: FakeSecretManager;

  before(async () => {
    secrets = fakeSecretManager();
    await secrets.start();
  });

  after(async () => {
    await secrets?.stop();
  });

  const lines = () =>
    h.logs
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { severity: string; message: string; text?: string; why?: string; actionId?: string });

  /** Delivers the events once each; none may throw (a throw is a redelivery). */
  async function deliver(processor: ReturnType<typeof h.processor>, ...events: ReturnType<typeof syncEvent>[]) {
    for (const event of events) await processor(pubSubCloudEvent(event));
  }

  async function assertLoggedNotSent(events: ReturnType<typeof syncEvent>[], why: RegExp) {
    for (const event of events) {
      const record = await h.audit(event.id);
      assert.equal(record.status, event.connector.id === 'ghost' ? 'failed' : 'processed', `${event.id} is final after one delivery`);
      assert.equal(record.deliveries, 1);
      const slack = Object.entries(record.actions).filter(([id]) => id.startsWith('slack'));
      assert.ok(slack.length >= 1, 'a Slack action was planned');
      for (const [id, action] of slack) {
        assert.equal(action.status, 'succeeded', `${id} counts as done`);
        assert.equal(action.sent, false, `${id} was not sent`);
      }
    }
    assert.equal(h.slack.requests.length, 0, 'nothing reached Slack');
    const unsent = lines().filter((l) => l.message === SLACK_NOT_SENT);
    assert.equal(unsent.length, events.length, 'one line per message that had nowhere to go');
    for (const line of unsent) {
      assert.equal(line.severity, 'WARNING');
      assert.ok(line.text && line.text.length > 0, 'the line carries the message');
      assert.match(line.why ?? '', why);
    }
  }

  it('with no SLACK_WEBHOOK_URL: says so once at start-up, logs each message instead, retries nothing', async () => {
    const processor = h.processor({ SLACK_WEBHOOK_URL: '' });
    const failed = failedSync();
    const succeeded = syncEvent();
    const cannotStart = syncEvent({ connector: { id: 'ghost', name: 'ghost', type: 'postgres' } });
    await deliver(processor, failed);
    h.dbt.script({ status: 404, body: { status: { code: 404, is_success: false, user_message: 'Not found' }, data: null } });
    await deliver(processor, cannotStart, succeeded);
    assert.equal(lines().filter((l) => l.message === SLACK_NOT_CONFIGURED).length, 1, 'said once');
    await assertLoggedNotSent([failed, succeeded, cannotStart], /not set/);
    const alert = lines().find((l) => l.message === SLACK_NOT_SENT && /could not start dbt Cloud jobs/.test(l.text ?? ''));
    assert.ok(alert, 'the alert that a job could not start reaches the log with its text');
  });

  it('with a Slack secret that holds no value yet (Terraform created it, nobody added a version): the same, and no retry', async () => {
    secrets.createSecret(`projects/${PROJECT}/secrets/empty-slack`);
    const processor = h.processor({ GOOGLE_CLOUD_PROJECT: PROJECT, SECRET_MANAGER_EMULATOR_HOST: secrets.host, SLACK_WEBHOOK_URL: 'sm://empty-slack' });
    const failed = failedSync();
    await deliver(processor, failed);
    await assertLoggedNotSent([failed], /no enabled version/);
  });

  it('once the secret has a value, messages go to Slack', async () => {
    secrets.createSecret(`projects/${PROJECT}/secrets/late-slack`);
    secrets.addVersion(`projects/${PROJECT}/secrets/late-slack`, `${h.slack.url}/services/T/B/late`);
    const processor = h.processor({ GOOGLE_CLOUD_PROJECT: PROJECT, SECRET_MANAGER_EMULATOR_HOST: secrets.host, SLACK_WEBHOOK_URL: 'sm://late-slack' });
    const failed = failedSync();
    await deliver(processor, failed);
    const record = await h.audit(failed.id);
    assert.equal(record.actions.slack!.sent, true);
    assert.equal(h.slack.requests.length, 1);
    assert.equal(lines().filter((l) => l.message === SLACK_NOT_SENT).length, 0);
  });
});
