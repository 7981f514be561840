import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { joinsFor } from '../../functions/processor/planning/join.js';
import { loadRoutingConfig, planFor } from '../../functions/processor/planning/routing.js';
import { failedSync, syncEvent } from '../support/sync-event-fixtures.js';

// docs/routing.md walks through schemas/examples/routing.worked-example.json with a table of
// what each connector's success and failure do. Every row is planned here with the
// processor's own planner: the table and the file cannot drift apart.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUTING = loadRoutingConfig(`${ROOT}schemas/examples/routing.worked-example.json`);
const DOC = readFileSync(`${ROOT}docs/routing.md`, 'utf8');
/** The channels the table names, as the example's routing file references them. */
const CHANNELS: Record<string, string> = { 'data team': 'env:SLACK_WEBHOOK_URL', finance: 'sm://postload-slack-finance' };

const rows = [...DOC.slice(DOC.indexOf('| connector | source | a successful sync | a failed sync |')).matchAll(/^\| `([^`]+)` \| (fivetran|airbyte) \| ([^|]+) \| ([^|]+) \|$/gm)].map((m) => ({
  connector: m[1]!,
  source: m[2] as 'fivetran' | 'airbyte',
  success: m[3]!.trim(),
  failure: m[4]!.trim(),
}));

describe('docs/routing.md: the worked example\'s table is what the processor plans', () => {
  it('lists the ten Fivetran connectors and three Airbyte connections', () => {
    assert.equal(rows.filter((r) => r.source === 'fivetran').length, 10);
    assert.equal(rows.filter((r) => r.source === 'airbyte').length, 3);
  });

  for (const row of rows) {
    it(`${row.source} ${row.connector}: success → ${row.success}; failure → ${row.failure}`, () => {
      const connector = { id: `${row.connector}-id`, name: row.connector, type: 'postgres' };
      const success = syncEvent({ source: row.source, connector });
      const jobs = planFor(success, ROUTING).runs.map((r) => r.target.id);
      const joins = joinsFor(success, ROUTING.joins).map((j) => j.name);
      assert.deepEqual(jobs, [...row.success.matchAll(/job (\d+)/g)].map((m) => m[1]));
      assert.deepEqual(joins, [...row.success.matchAll(/join \*([^*]+)\*/g)].map((m) => m[1]));
      if (row.success === 'nothing') assert.deepEqual([jobs, joins], [[], []]);

      const failure = failedSync({ source: row.source, connector });
      const notified = planFor(failure, ROUTING).slack.filter((t) => t.notify).map((t) => t.webhook).sort();
      assert.deepEqual(notified, row.failure.split(', ').map((name) => CHANNELS[name]).sort());
      assert.deepEqual(planFor(failure, ROUTING).runs, [], 'a failure starts nothing');
    });
  }
});
