import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Firestore } from '@google-cloud/firestore';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import sinon from 'sinon';
import { loadIngestConfig } from '../../../functions/ingest/config.js';
import { createIngestHandler } from '../../../functions/ingest/handler.js';
import { createBodyReader } from '../../../functions/ingest/read-request.js';
import * as route from '../../../functions/ingest/slack-actions/route.js';
import { fakeDbtCloud, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { fakeSlack, type FakeSlack } from '../../../functions/local/fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_CHANNEL } from '../../../functions/local/fake-slack-api.js';
import { pressButton, type SlackUser } from '../../../functions/local/slack-interactivity.js';
import { deadlineIn } from '../../../functions/processor/clients/http-retry.js';
import { SlackApiClient } from '../../../functions/processor/clients/slack-api.js';
import { installBodyParsing, readBodiesWith } from '../../../functions/shared/body-parsing.js';
import { createLogger } from '../../../functions/shared/logger.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { actionButton, buttonActionId, linkButton, type RetryRunAction } from '../../../functions/shared/slack-buttons.js';
import { emulator, PROJECT_ID } from '../../support/global-hooks.js';
import { emulatorFirestore } from '../../support/processor-harness.js';
import { TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

// POST /slack/actions on the ingest function, through the real Functions Framework, with
// the Slack and dbt Cloud stand-ins and the Firestore emulator: Slack's signature, who may
// press, one effect per action id however often pressed, and the record of who did it.

process.env.METADATA_SERVER_DETECTION ??= 'none';

const SIGNING_SECRET = 'slack-signing-secret-for-tests-0123456789';
const ALICE: SlackUser = { id: 'U0ALICE', username: 'alice' };
const BOB: SlackUser = { id: 'U0BOB', username: 'bob' };
const MALLORY: SlackUser = { id: 'U0MALLORY', username: 'mallory' };
const CAROL: SlackUser = { id: 'U0CAROL', username: 'carol' };

describe('the ingest function’s /slack/actions route (the Slack app’s buttons)', function () {
  this.timeout(30_000);
  let slack: FakeSlack;
  let dbt: FakeDbtCloud;
  let db: Firestore;
  let url: string;
  let server: Server;
  let audit: string;
  let logs: Array<Record<string, unknown>>;
  let suite = 0;
  const env = (): Record<string, string> => ({
    GOOGLE_CLOUD_PROJECT: PROJECT_ID,
    SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: LOCAL_SLACK_BOT_TOKEN,
    SLACK_API_BASE_URL: `${slack.url}/api`,
    SLACK_WEBHOOK_HOSTS: slack.url,
    SLACK_ACTION_USERS: 'U0ALICE,U0BOB',
    SLACK_ACTION_GROUPS: 'S0ONCALL',
    AUDIT_COLLECTION: audit,
    DBT_CLOUD_BASE_URL: dbt.url,
    DBT_CLOUD_ACCOUNT_ID: '7',
    DBT_CLOUD_API_TOKEN: 'dbtc_slack_actions_test_token_0123456789',
  });

  async function serve(overrides: Record<string, string | undefined> = {}): Promise<void> {
    logs = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const config = loadIngestConfig({ ...env(), ...overrides });
    const name = `slackActions${suite}`;
    functions.http(name, createIngestHandler({ config, publisher: { publish: sinon.stub().rejects(new Error('nothing is published')) }, logger: createLogger(sink), slack: { firestore: db, load: async () => route } }));
    installBodyParsing();
    readBodiesWith(createBodyReader(config));
    server = getTestServer(name);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/actions`;
  }

  /** A failed run of job 42 and the app's alert about it, with the retry button. */
  async function failedRunAlert(): Promise<{ ts: string; action: RetryRunAction; runId: number }> {
    const run = dbt.addRun({ accountId: 7, jobId: 42, cause: 'scheduled' });
    dbt.setStatus(run.id, 20);
    const action: RetryRunAction = { kind: 'retry-run', jobId: '42', runId: run.id, eventId: `event-${run.id}` };
    const api = new SlackApiClient({ token: new Secret('SLACK_BOT_TOKEN', LOCAL_SLACK_BOT_TOKEN), policy: { callTimeoutMs: 2000, minDelayMs: 1, maxDelayMs: 5, maxAttempts: 1 }, baseUrl: `${slack.url}/api` });
    const ts = await api.postMessage(
      LOCAL_SLACK_CHANNEL,
      { text: 'dbt Cloud run failed', blocks: [{ type: 'actions', elements: [actionButton(action, 'Retry this dbt run'), linkButton('http://127.0.0.1:8089/runs/dbt-cloud/42/1', 'Open in the status page')] }] },
      {},
      { deadline: deadlineIn(5000), attempts: [] },
    );
    return { ts, action, runId: run.id };
  }

  const press = (ts: string, actionId: string, user: SlackUser, extra: Partial<Parameters<typeof pressButton>[1]> = {}) =>
    pressButton(slack, { requestUrl: url, signingSecret: SIGNING_SECRET, channel: LOCAL_SLACK_CHANNEL, ts, actionId, user, ...extra });
  const retries = () => dbt.requests.filter((r) => r.method === 'POST' && /\/runs\/\d+\/retry\/$/.test(r.url));
  const ledger = async () => (await db.collection(audit).where('kind', '==', 'slack-action').get()).docs.map((d) => d.data());
  const answers = () => slack.api.responses.map((r) => (r.json as { text: string; response_type: string }));

  before(async function () {
    db = emulatorFirestore(await emulator('firestore', this));
    slack = fakeSlack({ api: { userGroups: { S0ONCALL: ['U0CAROL'] } } });
    dbt = fakeDbtCloud();
    await Promise.all([slack.start(), dbt.start()]);
    // Connected before any test, so no press pays for the client's first connection.
    await db.collection('warm-up').doc('x').get();
  });
  after(async () => {
    await Promise.all([slack.stop(), dbt.stop()]);
    await db.terminate();
    readBodiesWith(undefined);
  });
  beforeEach(async () => {
    suite++;
    audit = `slack-actions-${process.pid}-${suite}`;
    slack.reset();
    dbt.reset();
    await serve();
  });
  afterEach(function () {
    server.close();
    if (this.currentTest?.state === 'failed') console.log(logs.slice(-10));
  });

  it('an allowed user retries a failed dbt run: one retry, recorded with the user, answered to them and noted in the thread', async () => {
    const alert = await failedRunAlert();
    const result = await press(alert.ts, buttonActionId(alert.action), ALICE);
    assert.equal(result.status, 200);
    assert.equal(result.body, '');
    assert.equal(retries().length, 1);
    assert.match(retries()[0]!.url, new RegExp(`/api/v2/accounts/7/runs/${alert.runId}/retry/$`));
    const [record] = await ledger();
    assert.equal(record!.status, 'succeeded');
    assert.deepEqual(record!.by, { id: 'U0ALICE', username: 'alice', name: 'alice', teamId: slack.api.team.id });
    assert.deepEqual(record!.action, alert.action);
    assert.equal(typeof (record!.result as { runId: number }).runId, 'number');
    assert.deepEqual(answers().map((a) => a.response_type), ['ephemeral']);
    assert.match(answers()[0]!.text, /^Done: retried dbt Cloud run \d+ of job 42: run \d+ is queued\.$/);
    const notes = slack.api.threadReplies(LOCAL_SLACK_CHANNEL, alert.ts);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!.text, /^<@U0ALICE> retried dbt Cloud run/);
  });

  it('pressed again, by anyone, from anywhere: nothing more is done, and they are told who did it', async () => {
    const alert = await failedRunAlert();
    await press(alert.ts, buttonActionId(alert.action), ALICE);
    const again = await press(alert.ts, buttonActionId(alert.action), BOB);
    assert.equal(again.status, 200);
    assert.equal(retries().length, 1);
    assert.match(answers()[1]!.text, /^Already done by <@U0ALICE> at \S+Z: retried dbt Cloud run/);
    const [record] = await ledger();
    assert.equal(record!.presses, 2);
    assert.equal((record!.lastPressedBy as { id: string }).id, 'U0BOB');
    assert.equal(slack.api.threadReplies(LOCAL_SLACK_CHANNEL, alert.ts).length, 1);
  });

  it('five presses at once retry the run once', async () => {
    const alert = await failedRunAlert();
    const results = await Promise.all([ALICE, BOB, ALICE, BOB, ALICE].map((user) => press(alert.ts, buttonActionId(alert.action), user)));
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.equal(retries().length, 1);
    assert.equal((await ledger()).length, 1);
  });

  it('a member of an allowed user group may press (usergroups.users.list)', async () => {
    const alert = await failedRunAlert();
    await press(alert.ts, buttonActionId(alert.action), CAROL);
    assert.equal(retries().length, 1);
    assert.equal(((await ledger())[0]!.by as { id: string }).id, 'U0CAROL');
  });

  it('a user not allowed gets a polite ephemeral answer, and nothing is done or recorded', async () => {
    const alert = await failedRunAlert();
    const result = await press(alert.ts, buttonActionId(alert.action), MALLORY);
    assert.equal(result.status, 200);
    assert.equal(retries().length, 0);
    assert.deepEqual(await ledger(), []);
    assert.deepEqual(answers().map((a) => a.response_type), ['ephemeral']);
    assert.match(answers()[0]!.text, /^Sorry, you are not among the people who may use postload’s buttons .* Nothing was done/);
    assert.equal(slack.api.threadReplies(LOCAL_SLACK_CHANNEL, alert.ts).length, 0);
  });

  it('with no allowed users or groups configured, nobody may press', async () => {
    server.close();
    await serve({ SLACK_ACTION_USERS: undefined, SLACK_ACTION_GROUPS: undefined });
    const alert = await failedRunAlert();
    await press(alert.ts, buttonActionId(alert.action), ALICE);
    assert.equal(retries().length, 0);
    assert.match(answers()[0]!.text, /^Sorry, you are not among/);
  });

  it('a button postload does not know gets a polite ephemeral answer and no effect', async () => {
    const alert = await failedRunAlert();
    const message = slack.api.messages.find((m) => m.ts === alert.ts)!;
    (message.blocks[0] as { elements: Array<Record<string, unknown>> }).elements.push({ type: 'button', action_id: 'someone-elses-button', text: { type: 'plain_text', text: 'Hi' }, value: 'x' });
    (message.blocks[0] as { elements: Array<Record<string, unknown>> }).elements.push({ type: 'button', action_id: 'postload.retry-run.0000', text: { type: 'plain_text', text: 'Forged' }, value: JSON.stringify({ ...alert.action, runId: 1 }) });
    for (const id of ['someone-elses-button', 'postload.retry-run.0000']) assert.equal((await press(alert.ts, id, ALICE)).status, 200);
    assert.equal(retries().length, 0);
    assert.deepEqual(await ledger(), []);
    assert.equal(answers().length, 2);
    for (const answer of answers()) assert.match(answer.text, /^Sorry, postload does not know what to do with this .* Nothing was done\.$/);
  });

  it('a link button (open in the status page) needs nothing: 200, no answer, no effect', async () => {
    const alert = await failedRunAlert();
    const message = slack.api.messages.find((m) => m.ts === alert.ts)!;
    const link = (message.blocks[0] as { elements: Array<{ action_id: string; url?: string }> }).elements.find((e) => e.url)!;
    assert.equal((await press(alert.ts, link.action_id, MALLORY)).status, 200);
    assert.deepEqual([retries().length, answers().length, (await ledger()).length], [0, 0, 0]);
  });

  const forged: Array<[string, (alert: { ts: string; action: RetryRunAction }) => Promise<{ status: number; body: string }>, string]> = [
    ['no signature at all', async (alert) => fetchUnsigned(alert), 'missing_credentials'],
    ['a signature made with another secret', (alert) => press(alert.ts, buttonActionId(alert.action), ALICE, { signingSecret: 'not-the-apps-signing-secret-0123456789' }), 'unauthorized'],
    ['a body changed after signing', (alert) => press(alert.ts, buttonActionId(alert.action), ALICE, { tamper: (body) => body.replace('U0ALICE', 'U0BOB00') }), 'unauthorized'],
    ['a request signed six minutes ago (a replay)', (alert) => press(alert.ts, buttonActionId(alert.action), ALICE, { signedAtMs: Date.now() - 6 * 60_000 }), 'stale_request'],
    ['a request signed six minutes from now', (alert) => press(alert.ts, buttonActionId(alert.action), ALICE, { signedAtMs: Date.now() + 6 * 60_000 }), 'stale_request'],
  ];
  async function fetchUnsigned(alert: { ts: string; action: RetryRunAction }) {
    const body = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', user: { id: 'U0ALICE' }, actions: [{ action_id: buttonActionId(alert.action), value: JSON.stringify(alert.action) }] }) }).toString();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    return { status: response.status, body: await response.text() };
  }
  for (const [name, send, code] of forged) {
    it(`${name}: 401 ${code}, and no effect`, async () => {
      const alert = await failedRunAlert();
      const result = await send(alert);
      assert.equal(result.status, 401);
      assert.equal((JSON.parse(result.body) as { error: string }).error, code);
      assert.deepEqual([retries().length, answers().length, (await ledger()).length, slack.api.threadReplies(LOCAL_SLACK_CHANNEL, alert.ts).length], [0, 0, 0, 0]);
    });
  }

  it('without SLACK_SIGNING_SECRET the route refuses every press (503), fail closed', async () => {
    server.close();
    await serve({ SLACK_SIGNING_SECRET: undefined });
    const alert = await failedRunAlert();
    const result = await press(alert.ts, buttonActionId(alert.action), ALICE);
    assert.equal(result.status, 503);
    assert.equal(retries().length, 0);
  });

  it('a body that is not form-encoded: 415, as Slack always form-encodes', async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 415);
  });

  it('dbt Cloud refuses the retry (the run is no longer the latest): recorded as failed, said, and a later press is told', async () => {
    const alert = await failedRunAlert();
    dbt.addRun({ accountId: 7, jobId: 42, cause: 'a newer run' });
    await press(alert.ts, buttonActionId(alert.action), ALICE);
    assert.match(answers()[0]!.text, /^postload could not retry dbt Cloud run \d+: dbt Cloud would not retry run .*RETRY_NOT_LATEST_RUN.*Nothing was done\.$/);
    assert.equal((await ledger())[0]!.status, 'failed');
    await press(alert.ts, buttonActionId(alert.action), BOB);
    assert.match(answers()[1]!.text, /^<@U0ALICE> tried this at \S+ and it did not work: .*RETRY_NOT_LATEST_RUN/);
    assert.equal(retries().length, 1);
  });

  it('"snooze this connector 1 day" pauses its freshness as `postload freshness pause` does, recorded with the Slack user', async () => {
    const docId = 'fivetran-assimilate_seem';
    const freshness = `slack-actions-freshness-${process.pid}-${suite}`;
    server.close();
    await serve({ FRESHNESS_COLLECTION: freshness });
    await db.collection(freshness).doc(docId).set({ state: 'overdue', pause: null, nextCheckAt: new Date(Date.now() + 3_600_000) });
    const action = { kind: 'snooze' as const, connector: docId, incident: `${docId}@1767225600000`, forMs: 86_400_000 };
    const api = new SlackApiClient({ token: new Secret('SLACK_BOT_TOKEN', LOCAL_SLACK_BOT_TOKEN), policy: { callTimeoutMs: 2000, minDelayMs: 1, maxDelayMs: 5, maxAttempts: 1 }, baseUrl: `${slack.url}/api` });
    const ts = await api.postMessage(LOCAL_SLACK_CHANNEL, { text: 'orders_pg is overdue', blocks: [{ type: 'actions', elements: [actionButton(action, 'Snooze this connector 1 day')] }] }, {}, { deadline: deadlineIn(5000), attempts: [] });
    const before = Date.now();
    await press(ts, buttonActionId(action), BOB);
    const stored = (await db.collection(freshness).doc(docId).get()).data()!;
    assert.equal(stored.pause.by, 'Slack user bob (U0BOB)');
    assert.ok(stored.pause.until >= before + 86_400_000 && stored.pause.until <= Date.now() + 86_400_000);
    assert.match(stored.pause.reason, /snoozed from Slack, incident fivetran-assimilate_seem@1767225600000/);
    assert.equal(stored.nextCheckAt.toMillis(), 0, 'due at once: the next tick judges it paused');
    assert.match(answers()[0]!.text, /^Done: snoozed fivetran-assimilate_seem until \S+Z: no freshness alert or reminder until then\.$/);
    await press(ts, buttonActionId(action), ALICE);
    assert.match(answers()[1]!.text, /^Already done by <@U0BOB>/);
    assert.equal((await ledger())[0]!.status, 'succeeded');
  });

  it('dbt Cloud unavailable: nothing done, the claim released, and the next press retries the run', async () => {
    const alert = await failedRunAlert();
    dbt.script({ status: 503, body: 'unavailable' });
    await press(alert.ts, buttonActionId(alert.action), ALICE);
    assert.match(answers()[0]!.text, /just now: .*press the button again to retry\.$/);
    assert.equal((await ledger())[0]!.status, 'pending');
    await press(alert.ts, buttonActionId(alert.action), ALICE);
    assert.match(answers()[1]!.text, /^Done: retried/);
    assert.equal(retries().length, 2);
    assert.equal(dbt.runs.filter((r) => r.trigger.cause === `Retry of run ${alert.runId}`).length, 1);
  });
});
