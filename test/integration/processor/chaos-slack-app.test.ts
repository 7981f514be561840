import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { freePort } from '../../../functions/local/emulators.js';
import { fakeDbtCloud, mulberry32, type FakeDbtCloud } from '../../../functions/local/fake-dbt-cloud.js';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_CHANNEL, type FakeSlackMessage } from '../../../functions/local/fake-slack-api.js';
import { deliveredMessages, fakeSlack, type FakeSlack } from '../../../functions/local/fake-slack.js';
import { startFunction, type FunctionProcess } from '../../../functions/local/function-process.js';
import { pollUntil } from '../../../functions/local/poll.js';
import { appTargetReference, DEFAULT_BOT_TOKEN, slackActionId } from '../../../functions/processor/planning/routing.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { emulator, PROJECT_ID } from '../../support/global-hooks.js';
import { emulatorFirestore, standInEnv } from '../../support/processor-harness.js';
import { failedSync, signedMessage, syncEvent } from '../../support/sync-event-fixtures.js';
import { TcpOutageProxy } from '../../support/tcp-outage.js';

// Issue 31: with the Slack app, exactly one message per notified event — one alert per
// failed sync — also through Firestore outages and killed instances, which incoming
// webhooks cannot promise (docs/design.md, "Slack: once"). The real push path as in
// chaos.test.ts: the Pub/Sub emulator pushes to two built processors, vendor duplicates
// arrive as separate messages, dbt Cloud answers 429, 5xx and loses answers; the Slack Web
// API stand-in answers `ratelimited` with Retry-After, internal_error and 503, and posts a
// message and then loses or spoils its answer. Two faults strike the moment Slack stores a
// message, before its answer goes back:
// - Firestore is cut off for 8 s (both processors reach it through a proxy): claims,
//   reads and settles fail meanwhile (the SDK may still land a settle late: exactness is
//   what is asserted there);
// - both instances are killed (SIGKILL) and started again: the message is in the channel
//   and its outcome is never recorded, the case that makes a webhook send twice. The
//   takeover after the lease must find it by its metadata (`recovered`).
const EVENTS = Math.ceil(Number(process.env.CHAOS_EVENTS ?? 200) / 2);
const DUPLICATE_SHARE = 0.3;
const SEED = Number(process.env.CHAOS_SEED ?? 20261208);
const JOB = 4343;
const OUTAGE_MS = 8000;
/** The messages (1-based, thread replies included) whose storing cuts Firestore off, and kills the instances. */
const CUT_AT = 8;
const KILL_AT = Math.ceil(EVENTS / 2);

describe(`chaos with the Slack app: ${EVENTS} events, vendor duplicates, faulty dbt Cloud and Slack Web API, Firestore outages, through the push path to two instances`, function () {
  this.timeout(Math.max(180_000, EVENTS * 1500));
  let dbt: FakeDbtCloud;
  let slack: FakeSlack;
  let proxy: TcpOutageProxy;
  const served: FunctionProcess[] = [];
  let db: Firestore;
  let pubsub: PubSub;
  const collection = `chaos-app-${process.pid}`;
  /** The metadata key of the message stored just before the instances were killed. */
  let killedAfter: string | undefined;
  /** The instances being started again after the kill. */
  let restarted: Promise<void> | undefined;
  const starts: Array<() => Promise<FunctionProcess>> = [];

  before(async function () {
    if (!existsSync('dist/index.js')) throw new Error('dist/ is not built: run `npm run build` (npm test does it first)');
    const pubsubHost = await emulator('pubsub', this);
    const firestoreHost = await emulator('firestore', this);
    proxy = new TcpOutageProxy(firestoreHost);
    const proxied = await proxy.start();
    dbt = fakeDbtCloud({ chaos: { seed: SEED, rate: 0.2, faults: [{ status: 429, headers: { 'retry-after': '1' }, body: { status: { code: 429 } } }, { status: 500, body: 'error' }, 'lost', 'started-then-502'] } });
    let posts = 0;
    slack = fakeSlack({
      api: {
        chaos: { seed: SEED + 1, rate: 0.2, faults: ['ratelimited', 'internal_error', 'service_unavailable', 'posted-then-drop', 'posted-then-internal_error'] },
        onPosted: (message: FakeSlackMessage) => {
          posts++;
          if (posts === CUT_AT) proxy.cut(OUTAGE_MS);
          if (posts === KILL_AT) {
            killedAfter = String(message.metadata?.event_payload.key);
            const killed = served.splice(0);
            for (const fn of killed) process.kill(-fn.child.pid!, 'SIGKILL');
            restarted = (async () => {
              await Promise.all(killed.map((fn) => fn.stop()));
              for (const start of starts) served.push(await start());
            })();
          }
        },
      },
    });
    await Promise.all([dbt.start(), slack.start()]);
    const dir = mkdtempSync(join(tmpdir(), 'postload-chaos-app-'));
    const routing = join(dir, 'routing.json');
    writeFileSync(
      routing,
      JSON.stringify({
        slack: { app: { channel: LOCAL_SLACK_CHANNEL } },
        routes: [{ name: 'all', match: { source: 'fivetran', connectorId: { glob: 'chaos-*' } }, dbtJobs: [{ jobId: JOB, onBusy: 'queue' }], slack: { notify: ['sync.succeeded', 'sync.failed'] } }],
      }),
    );
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const start = () =>
        startFunction({
          target: 'processSyncEvent',
          port,
          env: {
            ROUTING_CONFIG: routing,
            ...standInEnv(dbt, slack, { token: 'dbtc_chaos_app', webhookPath: '/services/T/B/chaos-app' }),
            SLACK_BOT_TOKEN: LOCAL_SLACK_BOT_TOKEN,
            SLACK_API_BASE_URL: `${slack.url}/api`,
            FIRESTORE_EMULATOR_HOST: proxied,
            FIRESTORE_TIMEOUT_MS: '2000',
            AUDIT_COLLECTION: collection,
            CONNECTORS_COLLECTION: `chaos-app-connectors-${process.pid}`,
            JOB_STATE_COLLECTION: `chaos-app-jobs-${process.pid}`,
            OUTBOUND_BUDGET_MS: '6000',
            OUTBOUND_TIMEOUT_MS: '1500',
            OUTBOUND_RETRY_MIN_DELAY_MS: '20',
            OUTBOUND_RETRY_MAX_DELAY_MS: '200',
            OUTBOUND_MAX_ATTEMPTS: '3',
            ACTION_LEASE_SECONDS: '8',
            LOG_LEVEL: 'warn',
          },
        });
      starts.push(start);
      served.push(await start());
    }
    db = emulatorFirestore(firestoreHost);
    pubsub = new PubSub({ projectId: PROJECT_ID, apiEndpoint: pubsubHost, emulatorMode: true });
  });

  after(async () => {
    await restarted?.catch(() => undefined);
    await Promise.all(served.map((fn) => fn.stop()));
    await Promise.all([dbt?.stop(), slack?.stop(), proxy?.stop()]);
    await db?.terminate();
    await pubsub?.close();
  });

  it('one message per event (one alert per failed sync), one dbt run per successful sync, every event processed', async () => {
    const random = mulberry32(SEED + 2);
    const all: SyncEvent[] = Array.from({ length: EVENTS }, (_, i) => {
      const connector = { id: `chaos-${i % 13}`, name: `chaos-${i % 13}` };
      return random() < 0.6 ? syncEvent({ connector, sync: { id: `sync-${SEED}-${i}` } }) : failedSync({ connector, sync: { id: `sync-${SEED}-${i}` } });
    });
    const topics: Topic[] = [(await pubsub.createTopic(`chaos-app-${process.pid}`))[0], (await pubsub.createTopic(`chaos-app-b-${process.pid}`))[0]];
    for (const [i, fn] of served.entries()) await topics[i]!.createSubscription(`chaos-app-push-${i}-${process.pid}`, { pushConfig: { pushEndpoint: `${fn.url}/` }, ackDeadlineSeconds: 30 });
    const publish = (event: SyncEvent) => topics[random() < 0.5 ? 0 : 1]!.publishMessage(signedMessage(event));
    const duplicates = all.filter(() => random() < DUPLICATE_SHARE);
    const waves = 4;
    for (let wave = 0; wave < waves; wave++) {
      const slice = all.filter((_, i) => i % waves === wave);
      await Promise.all(slice.map((event) => publish(event)));
      await Promise.all(duplicates.filter((d) => slice.includes(d)).slice(0, Math.ceil((slice.length * DUPLICATE_SHARE) / 2)).map((event) => publish(event)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await Promise.all(duplicates.map((event) => publish(event)));

    const audits = db.collection(collection);
    await pollUntil(
      async () => {
        const done = await audits.where('status', '==', 'processed').count().get();
        return done.data().count === EVENTS ? true : undefined;
      },
      { timeoutMs: this.timeout() - 20_000, everyMs: 1000, failure: () => `not every event was processed (${slack.api.messages.length} messages so far, ${proxy.cuts} outages)` },
    );
    // Let stragglers (redeliveries of duplicates) land before counting.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await restarted;

    const APP = slackActionId(appTargetReference({ channel: LOCAL_SLACK_CHANNEL, token: DEFAULT_BOT_TOKEN }));
    // Incidents: a connector's further failures are replies in its incident's thread, and the
    // success that ends it updates the incident's message and replies. Each is one message.
    const messages = slack.api.messages.filter((m) => m.channel === LOCAL_SLACK_CHANNEL);
    const problems: string[] = [];
    let recovered = 0;
    for (const event of all) {
      const started = dbt.runsFor(event.id).length;
      if (started !== (event.type === 'sync.succeeded' ? 1 : 0)) problems.push(`${event.id} (${event.type}): ${started} dbt runs`);
      const mine = messages.filter((m) => String(m.metadata?.event_payload.key).startsWith(`${event.id}/`));
      if (mine.length !== 1) problems.push(`${event.id} (${event.type}): ${mine.length} Slack messages`);
      const record = (await audits.doc(event.id).get()).get(`actions.${APP}`) as { slackTs?: string; recovered?: boolean } | undefined;
      if (mine.length === 1 && record?.slackTs !== mine[0]!.ts) problems.push(`${event.id}: recorded ts ${String(record?.slackTs)}, posted ${mine[0]!.ts}`);
      if (record?.recovered) recovered++;
    }
    assert.deepEqual(problems, [], `${problems.length} violations`);
    assert.equal(proxy.cuts, 1, 'Firestore was cut off');
    // The message stored as the instances died was found by the takeover, not posted again.
    assert.ok(killedAfter && restarted, 'the instances were killed');
    const [eventId, actionId] = killedAfter.split('/');
    const record = (await audits.doc(eventId!).get()).get(`actions.${actionId!}`) as { recovered?: boolean } | undefined;
    assert.equal(record?.recovered, true, `the message ${killedAfter}, stored as its instance died, was found by the takeover`);
    assert.ok(recovered > 1, `lost answers were recovered too (${recovered} recovered in all)`);
    assert.deepEqual(deliveredMessages(slack), [], 'nothing went to a webhook');
    assert.ok(messages.some((m) => m.threadTs !== undefined && m.threadTs !== m.ts), 'further failures went into their incident\'s thread');
    assert.ok(slack.api.channelMessages(LOCAL_SLACK_CHANNEL).some((m) => m.updates > 0), 'incidents were closed in place');
  });
});
