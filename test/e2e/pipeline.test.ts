import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AuditReader, type AuditRecord } from '../../functions/local/audit-reader.js';
import { awaitOutcome, PublishedLog, sendSteps } from '../../functions/local/demo-run.js';
import { DEMO_CONNECTORS, DEMO_JOBS, DEMO_ROUTING, DEMO_RUN_WEBHOOKS, demoScenario } from '../../functions/local/demo-scenario.js';
import { freshnessStory } from '../../functions/local/demo-freshness.js';
import { triggerRequests } from '../../functions/local/fake-dbt-cloud.js';
import { DEVELOPMENT_SECRETS } from '../../functions/local/local-settings.js';
import type { RecordedRequest } from '../../functions/local/recording-server.js';
import { pollUntil } from '../../functions/local/poll.js';
import type { LocalStack } from '../../functions/local/stack.js';
import { finishOpenRuns, startTestStack, type TestStack } from '../support/local-stack.js';
import { postAirbyte, postFivetran } from '../../functions/local/webhooks.js';

// The whole path over real HTTP and the real emulators, with nothing stubbed: a signed
// webhook into ingestWebhook → Pub/Sub emulator → push subscription → processSyncEvent →
// the loopback dbt Cloud and Slack stand-ins, and the audit record in Firestore. The stack
// is the one `npm start` and `npm run demo` use (functions/local/stack.ts).

process.env.METADATA_SERVER_DETECTION ??= 'none';

const SECRET = DEVELOPMENT_SECRETS.FIVETRAN_WEBHOOK_SECRET;

function ordersSyncEnd(syncId = randomUUID(), status = 'SUCCESSFUL'): string {
  return JSON.stringify({
    event: 'sync_end',
    created: new Date().toISOString(),
    connector_type: 'google_cloud_postgresql',
    connector_id: DEMO_CONNECTORS.ordersPostgres,
    connector_name: 'orders_pg',
    sync_id: syncId,
    destination_group_id: 'warehouse_bq',
    data: { status },
  });
}

const about = (requests: RecordedRequest[], text: string) => requests.filter((r) => r.body.includes(text));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('end to end: webhook → ingest → Pub/Sub emulator → processor → dbt Cloud, Slack, Firestore', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let audit: AuditReader;
  const published = new PublishedLog();

  before(async function () {
    stack = await startTestStack(this, {
      topicPrefix: 'sync-events-e2e',
      routing: DEMO_ROUTING,
      onFunctionLine: published.onLine,
      dbtRunWebhooks: DEMO_RUN_WEBHOOKS,
    });
    audit = new AuditReader(stack.firestoreHost, stack.projectId, stack.collections.audit);
  });

  after(async () => {
    await audit?.close();
    await stack?.stop();
  });

  // dbt Cloud finishes each test's runs before the next test.
  beforeEach(() => finishOpenRuns(stack));

  /** Polls the audit record until it is final with at least `deliveries` deliveries. */
  async function settledAudit(eventId: string, deliveries = 1, timeoutMs = 30_000) {
    let record: AuditRecord | undefined;
    return pollUntil(
      async () => {
        record = await audit.read(eventId);
        return record && ['processed', 'failed'].includes(record.status) && record.deliveries >= deliveries ? record : undefined;
      },
      { timeoutMs, everyMs: 200, failure: () => `event ${eventId}: audit ${JSON.stringify(record?.status)} with ${record?.deliveries} deliveries after ${timeoutMs} ms` },
    );
  }

  it('a signed successful sync starts exactly its dbt job with the right request, tells Slack, and is audited', async () => {
    const syncId = randomUUID();
    const response = await postFivetran(stack.fivetranUrl, ordersSyncEnd(syncId), SECRET);
    assert.equal(response.status, 202);
    const { id, type } = (await response.json()) as { id: string; type: string };
    assert.equal(type, 'sync.succeeded');

    const record = await settledAudit(id);
    await sleep(500);
    const [trigger, ...moreTriggers] = about(triggerRequests(stack.dbt!), id);
    assert.equal(moreTriggers.length, 0, 'one dbt run');
    assert.equal(trigger!.method, 'POST');
    assert.equal(trigger!.url, `/api/v2/accounts/1/jobs/${DEMO_JOBS.orders}/run/`);
    assert.equal(trigger!.headers.authorization, `Token ${DEVELOPMENT_SECRETS.DBT_CLOUD_API_TOKEN}`);
    const body = trigger!.json as { cause: string; steps_override: string[] };
    assert.match(body.cause, new RegExp(`sync ${syncId}`));
    assert.match(body.cause, new RegExp(`event ${id}`));
    assert.ok(body.cause.length < 255);
    assert.deepEqual(body.steps_override, ['dbt build --select source:orders+']);

    const messages = about(stack.slack!.requests, id);
    assert.equal(messages.length, 1, 'one Slack message');
    assert.equal(messages[0]!.url, '/services/T0LOCAL/B0LOCAL/local-webhook');
    const slack = messages[0]!.json as { text: string; blocks: unknown[] };
    assert.match(slack.text, /sync succeeded: orders_pg/);
    assert.ok(slack.blocks.length > 0);

    assert.equal(record.status, 'processed');
    assert.equal(record.type, 'sync.succeeded');
    assert.equal(record.deliveries, 1);
    const run = record.actions[`dbt-job-${DEMO_JOBS.orders}`];
    assert.equal(run?.status, 'succeeded');
    const started = await runStartedFor(stack, DEMO_JOBS.orders, id);
    assert.ok(started, 'the stand-in started a run for the event');
    assert.equal(run?.runId, started.id);
    assert.equal(run?.runHref, started.href);
    assert.equal(record.actions.slack?.status, 'succeeded');
    const connector = await audit.connector(`fivetran-${DEMO_CONNECTORS.ordersPostgres}`, stack.collections.connectors);
    assert.equal((connector?.lastSuccessfulSync as { eventId?: string } | undefined)?.eventId, id);
  });

  it('a failed sync reaches Slack with the reason and starts no dbt run', async () => {
    const response = await postFivetran(stack.fivetranUrl, ordersSyncEnd(randomUUID(), 'FAILURE'), SECRET);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const record = await settledAudit(id);
    await sleep(500);
    assert.equal(about(triggerRequests(stack.dbt!), id).length, 0);
    const messages = about(stack.slack!.requests, id);
    assert.equal(messages.length, 1);
    assert.match((messages[0]!.json as { text: string }).text, /sync failed: orders_pg/);
    assert.equal(record.type, 'sync.failed');
  });

  it('a duplicate delivery, sequential and concurrent, gives one dbt run and one Slack message', async () => {
    const body = ordersSyncEnd();
    const first = await postFivetran(stack.fivetranUrl, body, SECRET);
    const { id } = (await first.json()) as { id: string };
    await settledAudit(id);
    const again = await Promise.all([1, 2, 3].map(() => postFivetran(stack.fivetranUrl, body, SECRET)));
    for (const response of again) {
      assert.equal(response.status, 202);
      assert.equal(((await response.json()) as { id: string }).id, id, 'the same occurrence keeps its id');
    }
    const record = await settledAudit(id, 4);
    await sleep(1500); // a second run or message would show up here
    assert.equal(published.count(id), 4, 'every delivery was published');
    assert.equal(record.deliveries, 4, 'the processor saw every delivery');
    assert.equal(about(triggerRequests(stack.dbt!), id).length, 1, 'one dbt run');
    assert.equal(about(stack.slack!.requests, id).length, 1, 'one Slack message');
    assert.equal((await audit.read(id))?.actions[`dbt-job-${DEMO_JOBS.orders}`]?.attempts, 1);
  });

  it('a bad signature is refused with 401 and nothing reaches Pub/Sub, dbt Cloud, Slack or Firestore', async () => {
    const syncId = randomUUID();
    const body = ordersSyncEnd(syncId);
    const forged = await postFivetran(stack.fivetranUrl, body, 'not-the-secret');
    assert.equal(forged.status, 401);
    const tampered = await fetch(stack.fivetranUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Fivetran-Signature-256': 'ab'.repeat(32) },
      body,
    });
    assert.equal(tampered.status, 401);
    await sleep(1500);
    assert.equal(about(triggerRequests(stack.dbt!), syncId).length, 0);
    assert.equal(about(stack.slack!.requests, syncId).length, 0);
    // The same body, signed properly now, is the event's first delivery: the refused ones never got past ingest.
    const genuine = await postFivetran(stack.fivetranUrl, body, SECRET);
    assert.equal(genuine.status, 202);
    const { id } = (await genuine.json()) as { id: string };
    const record = await settledAudit(id);
    assert.equal(published.count(id), 1);
    assert.equal(record.deliveries, 1);
  });

  it('the demo scenario (Fivetran and Airbyte successes and failures, a schema change, a duplicate, a forgery, a join across vendors, a coalesced burst) holds every expectation', async () => {
    stack.dbt!.reset();
    stack.slack!.reset();
    const sent = await sendSteps(stack, demoScenario());
    const outcome = await awaitOutcome(stack, sent, published, { timeoutMs: 60_000, auditCollection: stack.collections.audit });
    const problems = [...outcome.problems, ...outcome.steps.flatMap((s) => s.problems.map((p) => `#${s.sent.index + 1} ${s.sent.step.label}: ${p}`))];
    assert.deepEqual(problems, []);
    assert.ok(outcome.ok);
    // orders, billing, the finance mart join (one firing message), and one run for the burst.
    assert.equal(triggerRequests(stack.dbt!).length, 4);
    assert.equal(stack.slack!.requests.length, 6, 'four about the events, the join\'s firing message, one about the billing run that failed (the dbt Cloud loop)');
  });

  it('freshness through the deployed path (tick → Pub/Sub → the sweep function): a connector goes overdue, is alerted once, and recovers with one message', async () => {
    stack.dbt!.reset();
    stack.slack!.reset();
    const story = await freshnessStory(stack, { collection: stack.collections.freshness, tickMs: 1000 });
    assert.deepEqual(story.problems, []);
    assert.match(story.expectation ?? '', /routing file, freshness rule 1/);
    assert.match(story.recoveries[0]!, /inventory_pg recovered after \d+s overdue; \d+ expected syncs? (was|were) missed/);
  });

  it('quarantine over real HTTP: an authenticated body postload cannot read is 202, recorded and alerted once; the same problem again is recorded, not alerted', async () => {
    // A Fivetran event name of this run only (the day documents are shared by the whole emulator), with a connector id of the wrong type.
    const name = `probe_${randomUUID().slice(0, 8)}`;
    const body = () => JSON.stringify({ event: name, created: new Date().toISOString(), connector_type: 'postgres', connector_id: 42, destination_group_id: 'warehouse_bq', sync_id: randomUUID(), data: {} });
    const ids: string[] = [];
    for (const _ of [1, 2]) {
      const response = await postFivetran(stack.fivetranUrl, body(), SECRET);
      assert.equal(response.status, 202);
      const answer = (await response.json()) as { id: string; type: string };
      assert.equal(answer.type, 'quarantined');
      ids.push(answer.id);
      const record = await settledAudit(answer.id);
      assert.equal(record.type, 'quarantined');
      assert.equal(record.status, 'processed');
    }
    await sleep(1000); // a second alert would show up here
    const alerts = about(stack.slack!.requests, name);
    assert.equal(alerts.length, 1, 'one alert for the day');
    assert.match(alerts[0]!.body, new RegExp(`postload event ${ids[0]}`));
    assert.match(alerts[0]!.body, /schema_violation/);
    assert.equal(ids.flatMap((id) => about(triggerRequests(stack.dbt!), id)).length, 0);
  });

  it("Airbyte's Test button over real HTTP, for a connection routed to a dbt job, starts nothing", async () => {
    // The realistic v1.3 test payload (test/fixtures/SOURCES.md), for the demo's billing connection, finished now.
    const fixture = readFileSync(new URL('../fixtures/airbyte/test-sync-succeeded.json', import.meta.url), 'utf8');
    const body = fixture.replaceAll('a4c1e5d2-7b3f-4e9a-8c6d-2f1e0b9a8c7d', DEMO_CONNECTORS.billingConnection).replace('2026-11-29T12:51:03.418227Z', new Date().toISOString());
    const response = await postAirbyte(stack.airbyteUrl, body);
    assert.equal(response.status, 202);
    const { id, type } = (await response.json()) as { id: string; type: string };
    assert.equal(type, 'test');
    const record = await settledAudit(id);
    await sleep(1000); // a run would show up here
    assert.deepEqual(record.routes, ['billing'], 'the route with a dbt job matched');
    assert.equal(about(triggerRequests(stack.dbt!), id).length, 0, 'no dbt run');
    assert.equal(about(stack.slack!.requests, id).length, 0);
  });
});

/** The run the dbt Cloud stand-in started for the event, asked of its list-runs API as postload's own recovery does (the cause is on the trigger). */
async function runStartedFor(stack: LocalStack, jobId: number, eventId: string): Promise<{ id: number; href: string } | undefined> {
  const response = await fetch(`${stack.dbtBaseUrl}/api/v2/accounts/1/runs/?job_definition_id=${jobId}&include_related=${encodeURIComponent('["trigger"]')}&order_by=-id&limit=100`);
  const { data } = (await response.json()) as { data: Array<{ id: number; href: string; trigger: { cause: string } }> };
  return data.find((run) => run.trigger.cause.includes(eventId));
}
