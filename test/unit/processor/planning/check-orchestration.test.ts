import assert from 'node:assert/strict';
import type { RoutingConfig } from '../../../../functions/generated/routing-config.schema.js';
import { checkOrchestration } from '../../../../functions/processor/planning/check-orchestration.js';
import { compileRouting, namesDbtJobs, notifyingWebhooks, RoutingConfigError } from '../../../../functions/processor/planning/routing.js';

type JoinConfig = NonNullable<RoutingConfig['joins']>[number];
const join = (overrides: Partial<JoinConfig> = {}): JoinConfig => ({
  name: 'finance mart',
  within: 'PT6H',
  upstreams: [
    { name: 'salesforce', match: { source: 'fivetran', connectorId: 'sf_prod' } },
    { name: 'billing', match: { source: 'airbyte', connectorName: 'billing' } },
  ],
  dbtJob: { jobId: 42, steps_override: ['dbt build -s marts.finance+'] },
  ...overrides,
});
const config = (joins: JoinConfig[], routes: RoutingConfig['routes'] = []): RoutingConfig => ({ routes, joins });

/** The error the loader raises at start-up: "inline JSON: <pointer> <message>". */
function startUpError(parsed: unknown): string {
  try {
    compileRouting(parsed, 'inline JSON');
  } catch (error) {
    assert.ok(error instanceof RoutingConfigError, String(error));
    return `${error.field} ${error.message}`;
  }
  assert.fail('the routing file was accepted');
}

describe('processor/planning/check-orchestration', () => {
  it('accepts a join across vendors, with a dbt Cloud job upstream and a route naming the same job alike', () => {
    const upstreams = [...join().upstreams, { name: 'ledger', match: { source: 'dbt-cloud' as const, connectorId: '555' } }];
    const routes: RoutingConfig['routes'] = [{ name: 'adhoc', match: { source: 'fivetran', connectorId: 'x' }, dbtJobs: [{ jobId: '42', steps_override: ['dbt build -s marts.finance+'], cause: 'another cause' }] }];
    assert.deepEqual(checkOrchestration(config([join({ upstreams: upstreams as JoinConfig['upstreams'] })], routes)), []);
    const loaded = compileRouting(config([join()], routes));
    assert.equal(loaded.joins[0]?.withinMs, 6 * 3_600_000);
  });

  const refused: Array<[string, unknown, string, RegExp]> = [
    ['a join with no upstreams (schema)', config([join({ upstreams: [] as unknown as JoinConfig['upstreams'] })]), '/joins/0/upstreams', /must NOT have fewer than 1 items/],
    ['a window that is not ISO 8601', config([join({ within: '6h' })]), '/joins/0/within', /not an ISO 8601 duration/],
    ['a window in months', config([join({ within: 'P1M' })]), '/joins/0/within', /years or months/],
    ['a zero window', config([join({ within: 'PT0S' })]), '/joins/0/within', /is zero/],
    ['two joins with one name', config([join(), join({ name: 'Finance Mart' })]), '/joins/1/name', /also the name of \/joins\/0/],
    ['a name that cannot be a document id (schema)', config([join({ name: '../x' })]), '/joins/0/name', /must match pattern/],
    ['"on" in a join job', config([join({ dbtJob: { jobId: 42, on: ['sync.succeeded'] } })]), '/joins/0/dbtJob/on', /not used in a join/],
    [
      'two upstreams with one name',
      config([join({ upstreams: [{ name: 'a', match: { source: 'fivetran', connectorId: 'x' } }, { name: 'a', match: { source: 'fivetran', connectorId: 'y' } }] })]),
      '/joins/0/upstreams/1/name',
      /also the name of \/joins\/0\/upstreams\/0/,
    ],
    [
      'two upstreams that match the same loads',
      config([join({ upstreams: [{ name: 'a', match: { source: 'fivetran', connectorId: 'x' } }, { name: 'b', match: { source: 'fivetran', connectorId: 'x' } }] })]),
      '/joins/0/upstreams/1/match',
      /same as \/joins\/0\/upstreams\/0\/match/,
    ],
    [
      'a dbt Cloud upstream whose job id is not a number',
      config([join({ upstreams: [{ name: 'a', match: { source: 'dbt-cloud', connectorId: 'nightly' } }] })]),
      '/joins/0/upstreams/0/match/connectorId',
      /no event can match/,
    ],
    [
      'a dbt Cloud upstream glob that can match no job id',
      config([join({ upstreams: [{ name: 'a', match: { source: 'dbt-cloud', connectorId: { glob: 'job_*' } } }] })]),
      '/joins/0/upstreams/0/match/connectorId',
      /can match only digits/,
    ],
    [
      'a join waiting for its own job',
      config([join({ upstreams: [{ name: 'a', match: { source: 'dbt-cloud', connectorId: '42' } }] })]),
      '/joins/0/upstreams/0/match/connectorId',
      /wait for itself/,
    ],
    [
      'an upstream with no source (schema)',
      config([join({ upstreams: [{ name: 'a', match: {} as RoutingConfig['routes'][number]['match'] }] })]),
      '/joins/0/upstreams/0/match/source',
      /is required/,
    ],
    [
      'a route naming the join job with other options',
      config([join()], [{ name: 'r', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 42, steps_override: ['dbt build'] }] }]),
      '/routes/0/dbtJobs/0',
      /dbt Cloud job 42 with steps_override different from \/joins\/0\/dbtJob/,
    ],
    [
      'a route naming the join job with another policy',
      config([join()], [{ name: 'r', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 42, steps_override: ['dbt build -s marts.finance+'], onBusy: 'queue' }] }]),
      '/routes/0/dbtJobs/0',
      /with onBusy different/,
    ],
    [
      'two joins starting one job differently',
      config([join(), join({ name: 'other', dbtJob: { jobId: 42, threads_override: 8, steps_override: ['dbt build -s marts.finance+'] } })]),
      '/joins/1/dbtJob',
      /threads_override different from \/joins\/0\/dbtJob/,
    ],
    ['an unknown policy (schema)', { routes: [{ name: 'r', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 1, onBusy: 'later' }] }] }, '/routes/0/dbtJobs/0/onBusy', /is "later", not an allowed value: \(allowed: coalesce, queue, skip\)/],
  ];
  for (const [name, parsed, pointer, message] of refused) {
    it(`refuses ${name} at ${pointer}`, () => {
      const error = startUpError(parsed);
      assert.ok(error.startsWith(`${pointer} `), error);
      assert.match(error, message);
    });
  }

  it('a routing file with only joins needs dbt Cloud settings and the Slack webhook joins notify through', () => {
    const loaded = compileRouting(config([join({ slack: { webhook: 'env:SLACK_WEBHOOK_URL_FINANCE' } }), join({ name: 'quiet', dbtJob: { jobId: 7 }, slack: { notify: [] } })]));
    assert.equal(namesDbtJobs(loaded), true);
    assert.deepEqual([...notifyingWebhooks(loaded)].sort(), ['env:SLACK_WEBHOOK_URL', 'env:SLACK_WEBHOOK_URL_FINANCE']);
  });
});
