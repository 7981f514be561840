import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pubsubDeadLetterQueue, pubsubRepublisher, replay } from '../../functions/cli/replay.js';
import { CloudContext } from '../../functions/cli/context.js';
import { DEMO_CONNECTORS, DEMO_JOBS, DEMO_ROUTING } from '../../functions/local/demo-scenario.js';
import { triggerRequests } from '../../functions/local/fake-dbt-cloud.js';
import { DEVELOPMENT_SECRETS } from '../../functions/local/local-settings.js';
import { pollUntil } from '../../functions/local/poll.js';
import { finishOpenRuns, startTestStack, type TestStack } from '../support/local-stack.js';
import { encodeSyncEvent } from '../../functions/shared/sync-event.js';
import { SIGNATURE_ATTRIBUTE } from '../../functions/shared/sync-event-signature.js';
import { EmulatorPubSub } from '../support/pubsub-emulator.js';
import { runCli } from '../support/run-cli.js';
import { signedMessage, syncEvent } from '../support/sync-event-fixtures.js';

// `postload` against the local stack (emulators, functions, stand-ins), with the same code
// paths it takes against Google Cloud: only the emulator hosts in the environment differ.

process.env.METADATA_SERVER_DETECTION ??= 'none';

describe('postload CLI against the local stack', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let env: Record<string, string>;

  before(async function () {
    stack = await startTestStack(this, { topicPrefix: 'sync-events-cli', routing: DEMO_ROUTING });
    // ROUTING_CONFIG: the stack's routing file, which send plans a real event with before sending it.
    env = {
      PUBSUB_EMULATOR_HOST: stack.pubsubHost,
      FIRESTORE_EMULATOR_HOST: stack.firestoreHost,
      GOOGLE_CLOUD_PROJECT: stack.projectId,
      SYNC_EVENTS_TOPIC: stack.topic,
      ROUTING_CONFIG: JSON.stringify(DEMO_ROUTING),
      // The collections the stack's functions write (its own: see test/support/local-stack.ts).
      AUDIT_COLLECTION: stack.collections.audit,
      CONNECTORS_COLLECTION: stack.collections.connectors,
      FRESHNESS_COLLECTION: stack.collections.freshness,
    };
  });

  after(async () => {
    await stack?.stop();
  });

  // dbt Cloud finishes each test's runs before the next test.
  beforeEach(() => finishOpenRuns(stack));

  describe('send --test: what each vendor\'s own test sends, followed to its audit record, starting nothing', () => {
    const tests: Array<[string, () => string, Record<string, string>, string]> = [
      ['fivetran', () => stack.fivetranUrl, { FIVETRAN_WEBHOOK_SECRET: DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET }, 'test'],
      ['airbyte', () => stack.airbyteUrl.replace(/\?.*$/, ''), { AIRBYTE_WEBHOOK_TOKEN: DEVELOPMENT_SECRETS.AIRBYTE_WEBHOOK_TOKEN }, 'test'],
      ['dbt-cloud', () => stack.dbtCloudUrl, { DBT_CLOUD_WEBHOOK_SECRET: DEVELOPMENT_SECRETS.DBT_CLOUD_WEBHOOK_SECRET }, 'transformation.succeeded'],
    ];
    for (const [vendor, url, secret, type] of tests) {
      it(`${vendor}: accepted as ${type}, processed, no dbt run`, async () => {
        const before = triggerRequests(stack.dbt!).length;
        const { ROUTING_CONFIG: _, ...withoutRouting } = env;
        const run = await runCli(['send', vendor, '--test', '--url', url(), '--json'], { ...withoutRouting, ...secret });
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const result = JSON.parse(run.stdout) as { test: boolean; status: number; answer: { type: string }; event: { outcome: string; actions: Array<{ kind: string }> } };
        assert.equal(result.test, true);
        assert.equal(result.status, 202);
        assert.equal(result.answer.type, type);
        assert.equal(result.event.outcome, 'processed');
        assert.deepEqual(result.event.actions.filter((a) => a.kind === 'dbt'), [], 'a test starts no dbt job');
        assert.equal(triggerRequests(stack.dbt!).length, before, 'dbt Cloud was asked to run nothing');
      });
    }
  });

  describe('send a real event: named first, then sent, --wait', () => {
    it('without --test, --event or --status: exit 2, nothing sent', async () => {
      const run = await runCli(['send', 'fivetran', '--url', stack.fivetranUrl, '--secret', DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET], env);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /say what to send: --test, or a real fivetran event\n {2}fix: --test sends what fivetran's own test sends and starts nothing; --event sync_end/);
    });

    it('Fivetran: names the job it will start, then signed, accepted, followed until processed; prints the dbt run it started', async () => {
      const run = await runCli(
        ['send', 'fivetran', '--event', 'sync_end', '--url', stack.fivetranUrl, '--connector', DEMO_CONNECTORS.ordersPostgres, '--secret', DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET, '--wait'],
        env,
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, new RegExp(`^by inline JSON, this sync\\.succeeded event of \\S+:\n {2}starts dbt job ${DEMO_JOBS.orders} \\(`, 'm'));
      assert.ok(run.stdout.indexOf('starts dbt job') < run.stdout.indexOf(': 202 '), 'the plan is printed before the answer');
      assert.match(run.stdout, /^✔ fivetran sync_end SUCCESSFUL \(connector demo_orders_pg\) → http:\/\/127\.0\.0\.1:\d+\/fivetran: 202 /m);
      assert.match(run.stdout, new RegExp(`dbt job ${DEMO_JOBS.orders}: started run \\d+`));
      assert.match(run.stdout, /✔ outcome: processed/);
    });

    it('Airbyte: token from the environment into the URL, followed until processed; --json for scripts; the token is never printed', async () => {
      const url = stack.airbyteUrl.replace(/\?.*$/, '');
      const run = await runCli(['send', 'airbyte', '--url', url, '--status', 'failed', '--connector', DEMO_CONNECTORS.billingConnection, '--wait', '--json'], {
        ...env,
        AIRBYTE_WEBHOOK_TOKEN: DEVELOPMENT_SECRETS.AIRBYTE_WEBHOOK_TOKEN,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const result = JSON.parse(run.stdout) as { status: number; answer: { id: string; type: string }; event: { outcome: string; type: string; actions: Array<{ kind: string; status: string }> }; url: string };
      assert.equal(result.status, 202);
      assert.equal(result.answer.type, 'sync.failed');
      assert.equal(result.event.outcome, 'processed');
      assert.ok(result.event.actions.some((a) => a.kind === 'slack' && a.status === 'succeeded'));
      assert.ok(!run.stdout.includes(DEVELOPMENT_SECRETS.AIRBYTE_WEBHOOK_TOKEN));
    });

    it('a wrong secret: 401 and exit 1, with the setting to fix named', async () => {
      const run = await runCli(['send', 'fivetran', '--test', '--url', stack.fivetranUrl, '--secret', 'not-the-secret'], env);
      assert.equal(run.code, 1);
      assert.match(run.stdout, /: 401 .*\n.*FIVETRAN_WEBHOOK_SECRET/);
      // A secret typed on the command line is warned about (issue 25, finding 11), on stderr, never echoed.
      assert.match(run.stderr, /warning: --secret was given the secret itself/);
      assert.ok(!run.stderr.includes('not-the-secret'));
    });

    it('no secret at all: exit 2 before sending, naming the flag and the variable', async () => {
      const run = await runCli(['send', 'fivetran', '--test', '--url', stack.fivetranUrl], env);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /fix: pass --secret, or set FIVETRAN_WEBHOOK_SECRET/);
    });

    it('dbt Cloud: built from its fixture, signed, accepted, followed until processed; shown as a transformation of the job', async () => {
      const run = await runCli(['send', 'dbt-cloud', '--url', stack.dbtCloudUrl, '--secret', DEVELOPMENT_SECRETS.DBT_CLOUD_WEBHOOK_SECRET, '--status', 'Errored', '--connector', String(DEMO_JOBS.orders), '--wait', '--json'], env);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const result = JSON.parse(run.stdout) as { status: number; answer: { type: string }; event: { source: string; type: string; connectorId: string; outcome: string } };
      assert.equal(result.status, 202);
      assert.deepEqual([result.event.source, result.event.type, result.event.connectorId, result.event.outcome], ['dbt-cloud', 'transformation.failed', String(DEMO_JOBS.orders), 'processed']);
    });
  });

  describe('events and event', () => {
    it('events lists what the audit trail holds, newest first, filtered; event prints one timeline', async () => {
      const connector = `cli_${randomUUID().slice(0, 6)}`;
      const sent = await runCli(['send', 'fivetran', '--url', stack.fivetranUrl, '--connector', connector, '--status', 'FAILURE', '--secret', DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET, '--wait', '--json'], env);
      assert.equal(sent.code, 0, sent.stderr);
      const eventId = (JSON.parse(sent.stdout) as { answer: { id: string } }).answer.id;

      const table = await runCli(['events', '--connector', connector, '--since', '1h'], env);
      assert.equal(table.code, 0, table.stderr);
      const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
      assert.match(header!, /^occurred\s+event\s+source\s+type\s+connector\s+sync\s+outcome\s+deliveries\s+actions\s+last error$/);
      assert.equal(rest.length, 0);
      assert.match(row!, new RegExp(`${eventId.slice(0, 8)}\\s+fivetran\\s+sync\\.failed\\s+\\S+ \\(${connector}\\)\\s+failed\\s+processed\\s+1\\s+Slack SLACK_WEBHOOK_URL succeeded`));

      const json = await runCli(['events', '--source', 'fivetran', '--type', 'sync.failed', '--limit', '5', '--json'], env);
      const listed = JSON.parse(json.stdout) as Array<{ eventId: string; type: string; occurredAt: string }>;
      assert.ok(listed.some((e) => e.eventId === eventId));
      assert.ok(listed.every((e) => e.type === 'sync.failed'));
      assert.deepEqual(listed.map((e) => e.occurredAt), [...listed.map((e) => e.occurredAt)].sort().reverse());

      const none = await runCli(['events', '--connector', connector, '--type', 'sync.succeeded'], env);
      assert.match(none.stdout, /^no events since .* match/);

      const story = await runCli(['event', eventId], env);
      assert.equal(story.code, 0, story.stderr);
      const lines = story.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, new RegExp(`^event ${eventId}  fivetran sync\\.failed  connector \\S+ \\(${connector}\\)  processed, 1 delivery$`));
      const order = ['happened', 'received by ingest', 'delivered to the processor', 'Slack SLACK_WEBHOOK_URL: claimed', 'Slack SLACK_WEBHOOK_URL: message sent', 'outcome: processed'];
      const positions = order.map((text) => lines.findIndex((l) => l.includes(text)));
      assert.ok(positions.every((p) => p > 0), `${order} in\n${story.stdout}`);
      assert.deepEqual(positions, [...positions].sort((a, b) => a - b));

      const missing = await runCli(['event', 'no-such-event'], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no audit record for event no-such-event .*\n  fix: /);

      // The short id `events` prints is enough.
      const short = await runCli(['event', eventId.slice(0, 8)], env);
      assert.equal(short.code, 0, short.stderr);
      assert.equal(short.stdout, story.stdout);

      // A connector by its name (the failure fixture's, salesforce_prod), as well as by its id.
      const byName = await runCli(['events', '--connector', 'salesforce_prod', '--since', '1h', '--json'], env);
      assert.equal(byName.code, 0, byName.stderr);
      assert.ok((JSON.parse(byName.stdout) as Array<{ eventId: string }>).some((e) => e.eventId === eventId));
      const unknown = await runCli(['events', '--connector', 'salesforce_prd'], env);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /--connector "salesforce_prd" is no connector id or name postload has seen .*\n  fix: did you mean --connector salesforce_prod\?/);
    });
  });

  describe('replay', () => {
    let pubsub: EmulatorPubSub;
    before(() => {
      pubsub = new EmulatorPubSub(env.PUBSUB_EMULATOR_HOST!, stack.projectId);
    });

    /** Puts a SyncEvent on the dead-letter topic as Pub/Sub's dead-lettering would (the emulator does not do it reliably). */
    async function deadLetter(connectorId: string) {
      const event = syncEvent({ connector: { id: connectorId, name: 'orders_pg' }, sync: { id: randomUUID() } });
      // Signed with the stack's key, as ingest published it before it was dead-lettered.
      const { data, attributes: signed } = signedMessage(event, DEVELOPMENT_SECRETS.SYNC_EVENT_SIGNING_KEY);
      const attributes = {
        ...signed,
        CloudPubSubDeadLetterSourceDeliveryCount: '5',
        CloudPubSubDeadLetterSourceSubscription: stack.pushSubscription,
        CloudPubSubDeadLetterSourceSubscriptionProject: stack.projectId,
        CloudPubSubDeadLetterSourceTopicPublishTime: new Date().toISOString(),
      };
      await pubsub['call']('POST', `topics/${stack.deadLetterTopic}:publish`, { messages: [{ data: data.toString('base64'), attributes }] });
      return { event, attributes };
    }

    const triggersFor = (eventId: string) => triggerRequests(stack.dbt!).filter((r) => r.body.includes(eventId));

    it('republishes every dead letter with its data and original attributes, acknowledges them, and the processor acts', async () => {
      const watch = await pubsub.createPullSubscription(stack.topic, `${stack.topic}-watch-${randomUUID().slice(0, 6)}`);
      // Two connectors with a job each: two events for one job would coalesce into one run (issue 12).
      const letters = [await deadLetter(DEMO_CONNECTORS.ordersPostgres), await deadLetter(DEMO_CONNECTORS.crmSalesforce)];

      const dry = await runCli(['replay', '--dry-run'], env);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /2 dead letter\(s\) would be replayed .*dry run/);
      assert.deepEqual(await pubsub.pull(watch), []);

      const run = await runCli(['replay'], env);
      assert.equal(run.code, 0, run.stderr);
      for (const { event } of letters) {
        assert.match(run.stdout, new RegExp(`✔ replayed\\s+event ${event.id}  sync\\.succeeded  connector orders_pg  delivered 5×`));
      }
      assert.match(run.stdout, /2 replayed to projects\/.* and acknowledged, 0 failed/);

      const republished = await pubsub.pullAtLeast(watch, 2);
      assert.equal(republished.length, 2);
      for (const { event } of letters) {
        const copy = republished.find((m) => m.attributes.eventId === event.id)!;
        assert.deepEqual(JSON.parse(copy.data), JSON.parse(encodeSyncEvent(event).toString()));
        // Exactly the attributes ingest gave it, its signature included: the processor acts on it.
        assert.deepEqual(copy.attributes, signedMessage(event, DEVELOPMENT_SECRETS.SYNC_EVENT_SIGNING_KEY).attributes);
        assert.ok(copy.attributes[SIGNATURE_ATTRIBUTE]);
      }
      const again = await runCli(['replay', '--json'], env);
      assert.deepEqual((JSON.parse(again.stdout) as { messages: unknown[] }).messages, []);
      for (const { event } of letters) await pollUntil(() => (triggersFor(event.id).length === 1 ? true : undefined), { timeoutMs: 30_000, failure: () => `no dbt run for ${event.id}` });
    });

    it('a replay that crashed after publishing, before acknowledging, is replayed again and the processor does not act twice', async () => {
      const { event } = await deadLetter(DEMO_CONNECTORS.ordersPostgres);
      const context = new CloudContext(env, undefined);
      const project = await context.project();
      const queue = pubsubDeadLetterQueue(await context.pubsub(), `projects/${project}/subscriptions/${stack.deadLetterSubscription}`);
      let leased: string[] = [];
      const crashing = { ...queue, pull: async (max: number) => { const got = await queue.pull(max); leased = got.map((m) => m.ackId); return got; }, ack: async () => { throw new Error('crash'); }, release: async () => {} };
      await assert.rejects(replay(crashing, pubsubRepublisher(await context.pubsub(), `projects/${project}/topics/${stack.topic}`), { limit: 10, dryRun: false }), /crash/);
      // The crash left the dead letter unacknowledged; Pub/Sub gives it back when its ack
      // deadline (60 s) passes. Releasing it now stands for that wait.
      await queue.release(leased);
      await context.close();

      await pollUntil(() => (triggersFor(event.id).length === 1 ? true : undefined), { timeoutMs: 30_000, failure: () => 'the first replay did not reach the processor' });
      const second = await runCli(['replay', '--event', event.id], env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, new RegExp(`✔ replayed\\s+event ${event.id}`));

      const shown = await pollUntil(
        async () => {
          const story = await runCli(['event', event.id, '--json'], env);
          const view = (JSON.parse(story.stdout) as { event: { deliveries: number; outcome: string } }).event;
          return view.deliveries >= 2 && view.outcome === 'processed' ? view : undefined;
        },
        { timeoutMs: 30_000, everyMs: 300, failure: () => 'the second copy was not delivered' },
      );
      assert.equal(shown.deliveries, 2);
      assert.equal(triggersFor(event.id).length, 1, 'dbt job started twice');
    });

    it('a missing dead-letter subscription names the fix and exits 3', async () => {
      const run = await runCli(['replay'], { ...env, DEAD_LETTER_SUBSCRIPTION: 'no-such-subscription' });
      assert.equal(run.code, 3);
      assert.match(run.stderr, /not found\n  fix: .*DEAD_LETTER_SUBSCRIPTION/);
    });
  });
});
