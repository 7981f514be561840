import assert from 'node:assert/strict';
import { compileRouting } from '../../../functions/processor/planning/routing.js';
import { ConfigError } from '../../../functions/shared/settings.js';
import { readSweepConfig } from '../../../functions/sweep/config.js';
import { compileFreshness } from '../../../functions/sweep/freshness/rules.js';

const routes = [{ name: 'all', match: { source: 'fivetran' } }];
const routingWith = (freshness: unknown) => JSON.stringify({ routes, freshness });
const refused = (env: Record<string, string>, pattern: RegExp) =>
  assert.throws(() => readSweepConfig(env), (error: unknown) => error instanceof ConfigError && pattern.test(error.message), `expected ${pattern}`);

describe('sweep settings: malformed freshness settings refuse start-up, naming the field', () => {
  it('names the bad duration, cron expression, time zone or realert by JSON pointer', () => {
    refused({ ROUTING_CONFIG: routingWith({ rules: [{ match: { source: 'fivetran' }, freshness: { every: '1x' } }] }) }, /\/freshness\/rules\/0\/freshness/);
    refused({ ROUTING_CONFIG: routingWith({ rules: [{ match: { source: 'fivetran' }, freshness: { every: '0m' } }] }) }, /\/freshness\/rules\/0\/freshness\/every "0m" is zero/);
    refused({ ROUTING_CONFIG: routingWith({ rules: [{ match: { source: 'fivetran' }, freshness: { every: '1h', grace: '400d' } }] }) }, /\/freshness\/rules\/0\/freshness\/grace "400d" is longer than 366 days/);
    refused({ ROUTING_CONFIG: routingWith({ rules: [{}, { match: { source: 'airbyte' }, freshness: { cron: '0 25 * * *' } }].slice(1) }) }, /\/freshness\/rules\/0\/freshness\/cron "0 25 \* \* \*" is not a cron expression.*hour/);
    refused({ ROUTING_CONFIG: routingWith({ rules: [{ match: { source: 'airbyte' }, freshness: { cron: '0 7 * * 1-5', timezone: 'Europe/Berlinn' } }] }) }, /\/freshness\/rules\/0\/freshness\/timezone "Europe\/Berlinn" is not an IANA time zone/);
    refused({ ROUTING_CONFIG: routingWith({ realert: 'daily' }) }, /\/freshness\/realert/);
    refused({ ROUTING_CONFIG: routingWith({ rules: [{ match: {}, freshness: 'off' }] }) }, /\/freshness\/rules\/0\/match/);
  });

  it('credentials come in pairs; URLs and workspace ids are checked; reconciliation needs the signing key', () => {
    refused({ ROUTING_CONFIG: routingWith({}), FIVETRAN_API_KEY: 'k', FIVETRAN_API_SECRET: 's' }, /^SYNC_EVENT_SIGNING_KEY: is not set: reconciliation publishes/);
    const ok = { ROUTING_CONFIG: routingWith({}), SYNC_EVENT_SIGNING_KEY: 'a-signing-key-of-thirty-two-chars!' };
    refused({ ...ok, FIVETRAN_API_KEY: 'k' }, /^FIVETRAN_API_SECRET: is not set, but FIVETRAN_API_KEY is/);
    refused({ ...ok, AIRBYTE_API_CLIENT_SECRET: 's' }, /^AIRBYTE_API_CLIENT_ID: is not set/);
    refused({ ...ok, FIVETRAN_API_KEY: 'k', FIVETRAN_API_SECRET: 's', FIVETRAN_API_BASE_URL: 'ftp://x' }, /^FIVETRAN_API_BASE_URL: must be an http\(s\) URL/);
    refused({ ...ok, AIRBYTE_API_CLIENT_ID: 'i', AIRBYTE_API_CLIENT_SECRET: 's', AIRBYTE_WORKSPACE_IDS: 'abc' }, /^AIRBYTE_WORKSPACE_IDS: "abc" is not a workspace id/);
    refused({ ...ok, RECONCILE_AFTER_SECONDS: '7200' }, /^RECONCILE_AFTER_SECONDS: must be a whole number from 60 to 3600/);
    const config = readSweepConfig({ ...ok, FIVETRAN_API_KEY: 'k', FIVETRAN_API_SECRET: 's' });
    assert.equal(config.fivetran?.baseUrl, 'https://api.fivetran.com/v1');
    assert.equal(config.airbyte, undefined);
    assert.equal(config.slackWebhook, undefined, 'no webhook: alerts are only logged');
  });

  it('the first matching rule decides; defaults: grace = the interval, cron grace 1h in UTC, realert 24h, the top-level webhook', () => {
    const routing = compileRouting(
      {
        routes,
        slack: { webhook: 'env:SLACK_DATA_TEAM' },
        freshness: {
          rules: [
            { match: { source: 'fivetran', connectorName: { glob: 'sales_*' } }, freshness: { every: '2h' } },
            { match: { source: 'fivetran' }, freshness: { cron: '0 7 * * 1-5' } },
            { match: { source: 'airbyte' }, freshness: 'off' },
          ],
        },
      },
      'test',
    );
    const settings = compileFreshness(routing);
    const subject = (source: 'fivetran' | 'airbyte', name: string) => ({ source, connector: { id: 'x', name, type: null }, destination: { id: null, name: null } });
    assert.deepEqual(settings.ruleFor(subject('fivetran', 'sales_eu'))?.expectation, { kind: 'every', everyMs: 7_200_000, graceMs: 7_200_000 });
    assert.equal(settings.ruleFor(subject('fivetran', 'sales_eu'))?.index, 0);
    assert.deepEqual(settings.ruleFor(subject('fivetran', 'hr'))?.expectation, { kind: 'cron', spec: { expression: '0 7 * * 1-5', timezone: 'UTC', dialect: 'cron' }, graceMs: 3_600_000 });
    assert.deepEqual(settings.ruleFor(subject('airbyte', 'x'))?.expectation, { kind: 'off' });
    assert.equal(settings.realertMs, 86_400_000);
    assert.equal(settings.webhook, 'env:SLACK_DATA_TEAM');
    assert.equal(compileFreshness(compileRouting({ routes, freshness: { realert: 'off' } }, 'test')).realertMs, null);
  });
});
