import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testPayload, VENDORS, type Vendor } from '../../../functions/cli/payloads.js';
import { planSend } from '../../../functions/cli/send-plan.js';
import { interpret } from '../../../functions/ingest/interpret.js';
import { loadRoutingConfig } from '../../../functions/processor/planning/routing.js';
import { runCli } from '../../support/run-cli.js';

// `postload send --test` sends what each vendor's own test sends: events that start
// nothing. A real event is sent only when named, and only after the routing file said what
// it starts; --dry-run stops there. Nothing here reaches the network: every run below ends
// before sending (a usage error, or a dry run).

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKED = join(ROOT, 'schemas/examples/routing.worked-example.json');
const asIngestSees = (vendor: Vendor, payload: unknown) => interpret(vendor, Buffer.from(JSON.stringify(payload)), new Date());

describe('postload send: tests, and real events named before they are sent', () => {
  describe('testPayload', () => {
    it('Fivetran and Airbyte tests are published as type test; dbt Cloud\'s sample run as a run of job 123 (ingest\'s own interpret step)', () => {
      assert.equal(asIngestSees('fivetran', testPayload('fivetran')).type, 'test');
      assert.equal(asIngestSees('airbyte', testPayload('airbyte')).type, 'test');
      const dbt = asIngestSees('dbt-cloud', testPayload('dbt-cloud'));
      assert.deepEqual([dbt.type, dbt.connector.id, dbt.connector.name], ['transformation.succeeded', '123', 'Daily Job (dbt build)']);
    });

    it('every test is a new event: a fresh id each time, so it is processed, not taken for a duplicate', () => {
      for (const vendor of VENDORS) {
        const ids = new Set(Array.from({ length: 5 }, () => asIngestSees(vendor, testPayload(vendor, new Date(Date.now() + Math.random() * 1e6))).id));
        assert.equal(ids.size, 5, `${vendor}: 5 tests, 5 event ids`);
      }
    });

    it('a test starts no dbt job under any shipped routing file, not even one that starts a job for every success', () => {
      const greedy = loadRoutingConfig(JSON.stringify({ routes: [{ name: 'all', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 1 }] }, { name: 'all-airbyte', match: { source: 'airbyte' }, dbtJobs: [{ jobId: 2 }] }] }));
      for (const routing of [greedy, loadRoutingConfig(WORKED), loadRoutingConfig(join(ROOT, 'schemas/examples/routing.example.json'))]) {
        for (const vendor of VENDORS) assert.deepEqual(planSend(vendor, testPayload(vendor), routing).jobs, [], `${vendor} under ${routing.source}`);
      }
    });
  });

  describe('planSend (the worked example)', () => {
    const routing = loadRoutingConfig(WORKED);
    const fivetran = (connector: string, status = 'SUCCESSFUL') => ({
      event: 'sync_end',
      created: new Date().toISOString(),
      connector_type: 'salesforce',
      connector_id: `${connector}_id`,
      connector_name: connector,
      sync_id: 'b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e',
      destination_group_id: 'warehouse',
      data: { status },
    });

    it('a Salesforce success starts the hourly marts job and counts for the finance mart join, naming the upstreams still needed', () => {
      const plan = planSend('fivetran', fivetran('salesforce'), routing);
      assert.deepEqual(plan.jobs, [{ jobId: '70403103936101', route: 'saas sources' }]);
      assert.deepEqual(plan.joins, [{ name: 'finance mart', upstream: 'salesforce', others: ['netsuite', 'billing'], jobId: '70403103936102', within: 'PT6H' }]);
    });

    it('a failure starts nothing and counts for no join; it notifies both channels', () => {
      const plan = planSend('fivetran', fivetran('salesforce', 'FAILURE'), routing);
      assert.deepEqual([plan.jobs, plan.joins], [[], []]);
      assert.deepEqual(plan.slack.sort(), ['env:SLACK_WEBHOOK_URL', 'sm://postload-slack-finance']);
    });
  });

  describe('the command', () => {
    it('--dry-run prints what a real event would start and sends nothing (no URL, no secret needed)', async () => {
      const run = await runCli(['send', 'fivetran', '--event', 'sync_end', '--connector', 'x', '--routing', WORKED, '--dry-run'], {});
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /this sync\.succeeded event of ftar_pg:\n {2}starts no dbt job and counts for no join\ndry run: nothing sent/);
    });

    it('--dry-run --json gives the plan as data', async () => {
      const run = await runCli(['send', 'airbyte', '--status', 'succeeded', '--routing', WORKED, '--dry-run', '--json'], {});
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { dryRun: boolean; plan: { type: string; jobs: unknown[] } };
      assert.deepEqual([result.dryRun, result.plan.type], [true, 'sync.succeeded']);
    });

    const refused: Array<[string, string[], Record<string, string>, RegExp]> = [
      ['nothing named: neither --test nor a real event', ['send', 'fivetran', '--url', 'http://127.0.0.1:9/fivetran', '--secret', 's'], {}, /say what to send: --test, or a real fivetran event/],
      ['a real event with no routing file to name its effects', ['send', 'fivetran', '--event', 'sync_end', '--url', 'http://127.0.0.1:9/fivetran', '--secret', 's'], {}, /has no routing file to read them from\n {2}fix: pass --routing FILE/],
      ['--test with a real event\'s options', ['send', 'airbyte', '--test', '--status', 'failed', '--url', 'http://127.0.0.1:9/airbyte'], {}, /--test sends the vendor's own test payload/],
      ['a routing file that is broken', ['send', 'fivetran', '--event', 'sync_end', '--dry-run'], { ROUTING_CONFIG: '{"routes": [{"name": 1}]}' }, /ROUTING_CONFIG: inline JSON: \/routes\/0/],
      ['a real send with no --url', ['send', 'fivetran', '--test'], {}, /--url is required to send/],
    ];
    for (const [what, args, env, message] of refused) {
      it(`refuses ${what}: exit 2, nothing sent`, async () => {
        const run = await runCli(args, env);
        assert.equal(run.code, 2, run.stdout + run.stderr);
        assert.match(run.stderr, message);
      });
    }
  });
});
