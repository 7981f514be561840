import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSchema } from '../../../../functions/shared/schemas.js';
import {
  compileRouting,
  loadRoutingConfig,
  MAX_PATTERN_INPUT_CHARS,
  namesDbtJobs,
  notifyingWebhooks,
  planFor,
  RoutingConfigError,
  routingProblems,
  stringTest,
  webhookOfRoute,
} from '../../../../functions/processor/planning/routing.js';
import { interpret } from '../../../../functions/ingest/interpret.js';
import { quarantinedEvent } from '../../../../functions/ingest/quarantine.js';
import { airbyteSucceeded, failedSync, schemaChanged, syncEvent } from '../../../support/sync-event-fixtures.js';
import { fixtureNames, fixtureText } from '../../../support/webhook-fixtures.js';

const routing = compileRouting({
  slack: { notify: ['sync.failed', 'schema.changed'] },
  routes: [
    { name: 'exact-id', match: { source: 'fivetran', connectorId: 'assimilate_seem' }, dbtJobs: [{ jobId: 11 }, { jobId: '12', on: ['sync.succeeded', 'sync.failed'] }] },
    { name: 'glob-name', match: { source: 'fivetran', connectorName: { glob: 'ftar_*' } }, dbtJobs: [{ jobId: 11, cause: 'second' }, { jobId: 13 }] },
    { name: 'regex-airbyte', match: { source: 'airbyte', connectorName: { regex: '^finance[-_]' } }, dbtJobs: [{ jobId: 21 }], slack: { notify: ['sync.succeeded'], webhook: 'env:SLACK_WEBHOOK_URL_FINANCE' } },
  ],
  defaultRoute: { dbtJobs: [{ jobId: 99 }] },
});

describe('processor/routing', () => {
  describe('planFor', () => {
    const cases: Array<{ name: string; event: () => ReturnType<typeof syncEvent>; routes: string[]; jobs: string[]; slack: Array<[string, boolean]> }> = [
      { name: 'a success matching an exact id and a glob starts the union of jobs, once each', event: () => syncEvent(), routes: ['exact-id', 'glob-name'], jobs: ['11', '12', '13'], slack: [['env:SLACK_WEBHOOK_URL', false]] },
      { name: 'a failure starts only jobs that ask for failures, and notifies', event: () => failedSync(), routes: ['exact-id', 'glob-name'], jobs: ['12'], slack: [['env:SLACK_WEBHOOK_URL', true]] },
      { name: 'the source must match too', event: () => syncEvent({ source: 'airbyte', connector: { name: 'other' } }), routes: ['(default)'], jobs: ['99'], slack: [['env:SLACK_WEBHOOK_URL', false]] },
      { name: 'a regex route with its own webhook and success notifications', event: () => airbyteSucceeded(), routes: ['regex-airbyte'], jobs: ['21'], slack: [['env:SLACK_WEBHOOK_URL_FINANCE', true]] },
      { name: 'no match falls back to the default route', event: () => syncEvent({ connector: { id: 'x', name: 'y' } }), routes: ['(default)'], jobs: ['99'], slack: [['env:SLACK_WEBHOOK_URL', false]] },
      { name: 'a notification without a connector id or name only matches the default route', event: () => schemaChanged(), routes: ['(default)'], jobs: [], slack: [['env:SLACK_WEBHOOK_URL', true]] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const plan = planFor(c.event(), routing);
        assert.deepEqual(plan.routes, c.routes);
        assert.deepEqual(plan.runs.map((r) => r.target.id), c.jobs);
        assert.deepEqual(plan.slack.map((s) => [s.webhook, s.notify]), c.slack);
      });
    }

    it('keeps the options of the first route that names a job', () => {
      const run = planFor(syncEvent(), routing).runs.find((r) => r.target.id === '11');
      assert.equal(run?.route, 'exact-id');
      assert.equal((run?.action as { cause?: string }).cause, undefined);
      assert.deepEqual(run?.target, { kind: 'dbt-cloud', id: '11' });
    });

    it('gives stable action ids: dbt-job-<id>, slack for the default webhook, slack-<hash> otherwise', () => {
      assert.deepEqual(planFor(syncEvent(), routing).runs.map((r) => r.actionId), ['dbt-job-11', 'dbt-job-12', 'dbt-job-13']);
      assert.equal(planFor(syncEvent(), routing).slack[0]?.actionId, 'slack');
      assert.match(planFor(airbyteSucceeded(), routing).slack[0]?.actionId ?? '', /^slack-[0-9a-f]{12}$/);
    });

    it('notifies failures and schema changes by default, not successes', () => {
      const plain = compileRouting({ routes: [] });
      assert.equal(planFor(failedSync(), plain).slack[0]?.notify, true);
      assert.equal(planFor(schemaChanged(), plain).slack[0]?.notify, true);
      assert.equal(planFor(syncEvent(), plain).slack[0]?.notify, false);
    });
  });

  describe('stringTest', () => {
    const table: Array<[Parameters<typeof stringTest>[0], string, boolean]> = [
      ['abc', 'abc', true],
      ['abc', 'abcd', false],
      [{ glob: 'pg_*' }, 'pg_orders', true],
      [{ glob: 'pg_*' }, 'xpg_orders', false],
      [{ glob: 'a?c' }, 'abc', true],
      [{ glob: 'a.c' }, 'abc', false],
      [{ glob: 'a(b)*' }, 'a(b)zz', true],
      [{ regex: '^sf_(eu|us)$' }, 'sf_eu', true],
      [{ regex: '^sf_(eu|us)$' }, 'sf_apac', false],
      [{ regex: 'prod' }, 'x-prod-y', true],
    ];
    for (const [condition, value, expected] of table) {
      it(`${JSON.stringify(condition)} ${expected ? 'matches' : 'does not match'} "${value}"`, () => {
        assert.equal(stringTest(condition)(value), expected);
      });
    }
  });

  describe('loading and validation', () => {
    const bad: Array<[string, unknown, string]> = [
      ['a job id that is not a number', { routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 'abc' }] }] }, '/routes/0/dbtJobs/0/jobId'],
      ['a job id too long to be one (it names a Firestore document, dbtJobState/job-<id>)', { routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: '1'.repeat(21) }] }] }, '/routes/0/dbtJobs/0/jobId'],
      ['a job id above JavaScript\'s exact integers (1e21 would print as "1e+21")', { routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 1e21 }] }] }, '/routes/0/dbtJobs/0/jobId'],
      ['an unknown event type', { routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 1, on: ['sync.done'] }] }] }, '/routes/0/dbtJobs/0/on/0'],
      ['an empty match', { routes: [{ name: 'a', match: {} }] }, '/routes/0/match/source'],
      // Issue 25, finding 12: ids and names are the vendors' own; without a source another vendor's connector could match.
      ['a route without a source', { routes: [{ name: 'a', match: { connectorId: 'orders' }, dbtJobs: [{ jobId: 1 }] }] }, '/routes/0/match/source'],
      ['a join upstream without a source', { routes: [], joins: [{ name: 'j', within: 'PT1H', upstreams: [{ name: 'a', match: { connectorName: 'orders' } }, { name: 'b', match: { source: 'airbyte' } }], dbtJob: { jobId: 1 } }] }, '/joins/0/upstreams/0/match/source'],
      ['an invalid regex', { routes: [{ name: 'a', match: { source: 'fivetran', connectorId: { regex: '(' } } }] }, '/routes/0/match/connectorId/regex'],
      ['a Slack URL written into the file', { routes: [{ name: 'a', match: { source: 'airbyte' }, slack: { webhook: 'https://hooks.slack.com/services/T/B/X' } }] }, '/routes/0/slack/webhook'],
      ['an unknown dbt option', { routes: [{ name: 'a', match: { source: 'airbyte' }, dbtJobs: [{ jobId: 1, steps: ['dbt run'] }] }] }, '/routes/0/dbtJobs/0/steps'],
      ['a routes list under a mistyped key', { route: [] }, '/route'],
      ['a missing routes list', {}, '/routes'],
      ['two routes with one name', { routes: [{ name: 'a', match: { source: 'airbyte' } }, { name: 'a', match: { source: 'fivetran' } }] }, '/routes/1/name'],
    ];
    for (const [name, config, field] of bad) {
      it(`rejects ${name}, naming ${field}`, () => {
        assert.throws(
          () => compileRouting(config, '/etc/routing.json'),
          (error: unknown) => {
            assert.ok(error instanceof RoutingConfigError);
            assert.equal(error.variable, 'ROUTING_CONFIG');
            assert.equal(error.field, field);
            assert.match(error.message, /\/etc\/routing\.json/);
            return true;
          },
        );
      });
    }

    it('names the unknown key, suggests the closest valid one and lists the allowed ones', () => {
      const config = { routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 1 }] }, { name: 'b', match: { source: 'fivetran' }, dbtjobs: [{ jobId: 2 }] }] };
      assert.deepEqual(routingProblems(config), [{ pointer: '/routes/1/dbtjobs', message: 'is not a key this object has: did you mean "dbtJobs"? (allowed: name, match, dbtJobs, cloudRunJobs, airflowDags, httpCalls, slack)' }]);
      assert.throws(() => compileRouting(config, 'r.json'), /ROUTING_CONFIG: r\.json: \/routes\/1\/dbtjobs is not a key this object has: did you mean "dbtJobs"\?/);
    });

    it('names the bad value, suggests the closest allowed one and lists them', () => {
      const problems = routingProblems({ routes: [{ name: 'a', match: { source: 'fivetrn' }, dbtJobs: [{ jobId: 1, onBusy: 'coalese' }], slack: { notify: ['sync.fail'] } }] });
      assert.deepEqual(problems.map((p) => p.pointer).sort(), ['/routes/0/dbtJobs/0/onBusy', '/routes/0/match/source', '/routes/0/slack/notify/0']);
      const said = (pointer: string) => problems.find((p) => p.pointer === pointer)!.message;
      assert.equal(said('/routes/0/dbtJobs/0/onBusy'), 'is "coalese", not an allowed value: did you mean "coalesce"? (allowed: coalesce, queue, skip)');
      assert.equal(said('/routes/0/match/source'), 'is "fivetrn", not an allowed value: did you mean "fivetran"? (allowed: fivetran, airbyte, dbt-cloud)');
      assert.match(said('/routes/0/slack/notify/0'), /^is "sync.fail", not an allowed value: did you mean "sync.failed"\? \(allowed: sync.queued, .*, other\)$/);
    });

    it('of a glob/regex choice, says what was nearly written, not every alternative', () => {
      assert.deepEqual(routingProblems({ routes: [{ name: 'a', match: { source: 'fivetran', connectorId: { glb: 'orders_*' } } }] }), [
        { pointer: '/routes/0/match/connectorId/glb', message: 'is not a key this object has: did you mean "glob"? (allowed: glob)' },
      ]);
    });

    it('lists every problem of a file at once (the start-up error names the first and counts the rest)', () => {
      const config = { version: 2, slak: {}, routes: [{ name: 'a', match: { source: 'fivetrn' } }, { name: 'b', match: { source: 'airbyte' }, dbtjobs: [] }, { name: 'c', match: {}, slack: { notify: ['sync.fail'] } }] };
      const problems = routingProblems(config);
      assert.deepEqual(problems.map((p) => p.pointer).sort(), ['/routes/0/match/source', '/routes/1/dbtjobs', '/routes/2/match/source', '/routes/2/slack/notify/0', '/slak', '/version']);
      assert.throws(() => compileRouting(config), (e: RoutingConfigError) => e.problems.length === 6 && /\(also: .*; and 2 more\)$/.test(e.message));
    });

    it('says that the source is required, by name', () => {
      assert.throws(() => compileRouting({ routes: [{ name: 'a', match: { connectorId: 'orders' } }] }), /\/routes\/0\/match\/source is required/);
    });

    it('reads a file path and names the file in errors', () => {
      const dir = mkdtempSync(join(tmpdir(), 'routing-'));
      const path = join(dir, 'routing.json');
      writeFileSync(path, JSON.stringify({ routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 5 }] }] }));
      assert.equal(loadRoutingConfig(path).routes[0]?.name, 'a');
      writeFileSync(path, '{"routes": [');
      assert.throws(() => loadRoutingConfig(path), (e: Error) => e.message.includes(path) && /is not JSON/.test(e.message));
      assert.throws(() => loadRoutingConfig(join(dir, 'missing.json')), /missing\.json: \(root\) cannot be read \(ENOENT\)/);
    });

    it('reads inline JSON', () => {
      assert.equal(loadRoutingConfig(' {"routes": []}').source, 'inline JSON');
    });

    for (const file of ['schemas/examples/routing.example.json', 'functions/local/routing.local.json']) {
      it(`accepts the shipped ${file}`, () => {
        assert.ok(loadRoutingConfig(file).routes.length > 0);
      });
    }

    it('knows which settings a file needs: dbt when it names jobs, webhooks that notify', () => {
      const quiet = compileRouting({ slack: { notify: [] }, routes: [{ name: 'a', match: { source: 'fivetran' }, slack: { webhook: 'env:OTHER' } }] });
      assert.equal(namesDbtJobs(quiet), false);
      assert.deepEqual([...notifyingWebhooks(quiet)], []);
      assert.equal(namesDbtJobs(routing), true);
      assert.deepEqual([...notifyingWebhooks(routing)].sort(), ['env:SLACK_WEBHOOK_URL', 'env:SLACK_WEBHOOK_URL_FINANCE']);
    });

    it('lists exactly the SyncEvent types (the two schemas do not drift apart)', () => {
      const routingTypes = (loadSchema('routing-config').definitions as Record<string, { enum?: string[] }>).eventType?.enum;
      const eventTypes = (loadSchema('sync-event.v1').properties as Record<string, { enum?: string[] }>).type?.enum;
      assert.deepEqual(routingTypes, eventTypes);
    });
  });
});

describe('processor/routing: the webhook the sweep alerts a route\'s failed runs through (issue 28 with 31)', () => {
  const routing = (slack: Record<string, unknown> | undefined) =>
    loadRoutingConfig(
      JSON.stringify({
        ...(slack ? { slack } : {}),
        routes: [
          { name: 'hooked', match: { source: 'fivetran' }, slack: { webhook: 'env:HOOK' } },
          { name: 'app', match: { source: 'airbyte' }, slack: { app: { channel: 'C0APP' } } },
          { name: 'inherits', match: { source: 'dbt-cloud' } },
        ],
      }),
    );

  it('a route\'s own webhook, else the top-level one, else SLACK_WEBHOOK_URL', () => {
    assert.equal(webhookOfRoute(routing(undefined), 'hooked'), 'env:HOOK');
    assert.equal(webhookOfRoute(routing(undefined), 'inherits'), 'env:SLACK_WEBHOOK_URL');
    assert.equal(webhookOfRoute(routing({ webhook: 'env:TOP' }), 'inherits'), 'env:TOP');
  });

  it('a route on the Slack app: the fallback webhook, else SLACK_WEBHOOK_URL, never the app reference', () => {
    assert.equal(webhookOfRoute(routing({ fallbackWebhook: 'env:FALLBACK' }), 'app'), 'env:FALLBACK');
    assert.equal(webhookOfRoute(routing(undefined), 'app'), 'env:SLACK_WEBHOOK_URL');
    assert.equal(webhookOfRoute(routing({ app: { channel: 'C0TOP' }, fallbackWebhook: 'env:FALLBACK' }), 'inherits'), 'env:FALLBACK');
  });
});

describe('processor/routing: test and quarantined events never start dbt jobs', () => {
  const everyAirbyteEvent = compileRouting({
    routes: [{ name: 'all-airbyte', match: { source: 'airbyte' }, dbtJobs: [{ jobId: 7, on: ['sync.succeeded', 'sync.failed', 'connector.disabled', 'schema.changed'] }] }],
  });

  for (const fixtureName of fixtureNames('airbyte').filter((name) => name.startsWith('test-'))) {
    it(`Airbyte's ${fixtureName}, normalised by the ingest normaliser, is a test and plans no job on a route taking every Airbyte event`, () => {
      const event = interpret('airbyte', Buffer.from(fixtureText('airbyte', fixtureName)), new Date('2026-11-29T12:51:04Z'));
      assert.equal(event.type, 'test');
      const plan = planFor(event, everyAirbyteEvent);
      assert.deepEqual(plan.routes, ['all-airbyte']);
      assert.deepEqual(plan.runs, []);
      assert.equal(plan.slack[0]?.notify, false, 'tests are not notified unless a route asks');
    });
  }

  for (const [type, where] of [
    ['test', { routes: [{ name: 'a', match: { source: 'airbyte' }, dbtJobs: [{ jobId: 1, on: ['sync.succeeded', 'test'] }] }] }],
    ['quarantined', { routes: [], defaultRoute: { dbtJobs: [{ jobId: 1 }, { jobId: 2, on: ['quarantined'] }] } }],
  ] as const) {
    it(`refuses "${type}" in a job's on at start-up, naming the field and why`, () => {
      assert.throws(
        () => compileRouting(where, '/etc/routing.json'),
        (error: unknown) => {
          assert.ok(error instanceof RoutingConfigError);
          assert.equal(error.field, type === 'test' ? '/routes/0/dbtJobs/0/on/1' : '/defaultRoute/dbtJobs/1/on/0');
          assert.match(error.message, new RegExp(`"${type}" never starts a run`));
          return true;
        },
      );
    });
  }

  it('planning holds the rule too, for a routing object that did not come through start-up', () => {
    const loaded = compileRouting({ routes: [{ name: 'a', match: { source: 'airbyte' }, dbtJobs: [{ jobId: 1 }] }] });
    loaded.routes[0]!.actions.dbtJobs![0]!.on = ['test'];
    const event = interpret('airbyte', Buffer.from(fixtureText('airbyte', 'test-sync-succeeded')), new Date());
    assert.deepEqual(planFor(event, loaded).runs, []);
  });

  it('a quarantined event plans no job and is not a notified type (its alert is decided by the day documents)', () => {
    const event = quarantinedEvent({ source: 'airbyte', raw: Buffer.from('{"x":1}'), parsed: { x: 1 }, problems: [{ code: 'unrecognised_shape', message: 'no' }], receivedAt: new Date() });
    const plan = planFor(event, compileRouting({ routes: [], defaultRoute: { dbtJobs: [{ jobId: 1, on: ['sync.succeeded'] }] } }));
    assert.deepEqual(plan.runs, []);
    assert.deepEqual(plan.slack.map((s) => s.actionId), ['slack']);
  });

  describe('operator patterns on vendor text (issue 25, finding 12)', () => {
    it(`tries a glob or regex only on values of at most ${MAX_PATTERN_INPUT_CHARS} characters; an exact string still compares in full`, () => {
      const fits = 'x'.repeat(MAX_PATTERN_INPUT_CHARS);
      const over = 'x'.repeat(MAX_PATTERN_INPUT_CHARS + 1);
      for (const condition of [{ regex: '^x+$' }, { glob: 'x*' }, { regex: 'x' }]) {
        assert.equal(stringTest(condition)(fits), true, JSON.stringify(condition));
        assert.equal(stringTest(condition)(over), false, JSON.stringify(condition));
      }
      assert.equal(stringTest(over)(over), true);
    });

    it('a backtracking pattern meets a long hostile value and answers at once (uncapped, it would run for hours)', () => {
      const hostile = `${'a'.repeat(50_000)}!`;
      assert.equal(stringTest({ regex: '^(a+)+$' })(hostile), false);
      assert.equal(stringTest({ glob: '*a*a*a*a*a*a*a*a*b' })(hostile), false);
      const route = compileRouting({ routes: [{ name: 'r', match: { source: 'fivetran', connectorName: { regex: '^(a|aa)+$' } }, dbtJobs: [{ jobId: 1 }] }] }).routes[0]!;
      assert.equal(route.matches(syncEvent({ connector: { name: hostile } })), false);
    });
  });
});
