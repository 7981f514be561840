import assert from 'node:assert/strict';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import sinon from 'sinon';
import { logger } from '../../../functions/shared/logger.js';
import { ConfigError, ConfigErrors } from '../../../functions/shared/settings.js';

const withDbt = JSON.stringify({ routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 1 }] }] });
const slackOnly = JSON.stringify({ routes: [] });
const silent = JSON.stringify({ slack: { notify: [] }, routes: [] });

const full = {
  ROUTING_CONFIG: withDbt,
  DBT_CLOUD_ACCOUNT_ID: '42',
  DBT_CLOUD_API_TOKEN: 'dbtc_x0123456789abcdef0123456789abcdef',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X',
  SYNC_EVENT_SIGNING_KEY: 'config-test-signing-key-0123456789abcdef',
};

describe('processor/config', () => {
  it('applies the documented defaults', () => {
    const config = readProcessorConfig(full);
    assert.equal(config.dbt?.baseUrl, 'https://cloud.getdbt.com');
    assert.equal(config.auditCollection, 'syncEvents');
    assert.equal(config.connectorsCollection, 'connectors');
    assert.equal(config.retentionDays, 90);
    assert.equal(config.outboundBudgetMs, 45_000);
    assert.equal(config.leaseMs, 120_000);
    assert.equal(config.firestoreTimeoutMs, 10_000);
    assert.deepEqual(config.retry, { callTimeoutMs: 10_000, minDelayMs: 500, maxDelayMs: 8_000, maxAttempts: 5 });
  });

  const hosts: Array<[string, string]> = [
    ['https://cloud.getdbt.com/', 'https://cloud.getdbt.com'],
    ['https://emea.dbt.com', 'https://emea.dbt.com'],
    ['https://au.dbt.com//', 'https://au.dbt.com'],
    ['https://ab123.us1.dbt.com', 'https://ab123.us1.dbt.com'],
    ['https://xy9.eu2.dbt.com/', 'https://xy9.eu2.dbt.com'],
    ['https://dbt.internal.example.com/proxy/', 'https://dbt.internal.example.com/proxy'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
  ];
  for (const [raw, base] of hosts) {
    it(`DBT_CLOUD_BASE_URL ${raw} → ${base}`, () => {
      assert.equal(readProcessorConfig({ ...full, DBT_CLOUD_BASE_URL: raw }).dbt?.baseUrl, base);
    });
  }

  const missing: Array<[string, Record<string, string | undefined>, string]> = [
    ['ROUTING_CONFIG', { ...full, ROUTING_CONFIG: undefined }, 'ROUTING_CONFIG'],
    ['the key SyncEvents are signed with (nothing is acted on without it)', { ...full, SYNC_EVENT_SIGNING_KEY: ' ' }, 'SYNC_EVENT_SIGNING_KEY'],
    ['the dbt account when jobs are routed', { ...full, DBT_CLOUD_ACCOUNT_ID: '' }, 'DBT_CLOUD_ACCOUNT_ID'],
    ['the dbt token when jobs are routed', { ...full, DBT_CLOUD_API_TOKEN: undefined }, 'DBT_CLOUD_API_TOKEN'],
    ['a route webhook variable that notifies', { ...full, ROUTING_CONFIG: JSON.stringify({ routes: [{ name: 'a', match: { source: 'airbyte' }, slack: { webhook: 'env:SLACK_FINANCE' } }] }) }, 'SLACK_FINANCE'],
    ['a non-numeric account', { ...full, DBT_CLOUD_ACCOUNT_ID: 'acme' }, 'DBT_CLOUD_ACCOUNT_ID'],
    ['a base URL with a query', { ...full, DBT_CLOUD_BASE_URL: 'https://cloud.getdbt.com/?x=1' }, 'DBT_CLOUD_BASE_URL'],
    ['a retention of zero days', { ...full, AUDIT_RETENTION_DAYS: '0' }, 'AUDIT_RETENTION_DAYS'],
    ['a lease shorter than the budget', { ...full, ACTION_LEASE_SECONDS: '30' }, 'ACTION_LEASE_SECONDS'],
    ['a delivery limit Pub/Sub does not allow', { ...full, MAX_DELIVERY_ATTEMPTS: '3' }, 'MAX_DELIVERY_ATTEMPTS'],
    ['a secret cache time that is no whole number (read by both functions)', { ...full, SECRET_CACHE_TTL_SECONDS: '0.5' }, 'SECRET_CACHE_TTL_SECONDS'],
    ['a log level pino does not have', { ...full, LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
  ];
  for (const [name, env, variable] of missing) {
    it(`fails at start-up naming ${variable} (${name})`, () => {
      assert.throws(() => readProcessorConfig(env), (error: unknown) => error instanceof ConfigError && error.variable === variable && error.message.startsWith(variable));
    });
  }

  it('names every problem at once, so one round of fixes is enough', () => {
    const env = { ROUTING_CONFIG: withDbt, DBT_CLOUD_ACCOUNT_ID: 'acme', DBT_CLOUD_BASE_URL: 'ftp://x', AUDIT_RETENTION_DAYS: '0', MAX_DELIVERY_ATTEMPTS: '3' };
    assert.throws(
      () => readProcessorConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigErrors);
        assert.ok(error instanceof ConfigError, 'still a ConfigError for whoever catches one');
        assert.deepEqual(error.problems.map((p) => p.variable).sort(), ['AUDIT_RETENTION_DAYS', 'DBT_CLOUD_ACCOUNT_ID', 'DBT_CLOUD_API_TOKEN', 'DBT_CLOUD_BASE_URL', 'MAX_DELIVERY_ATTEMPTS', 'SYNC_EVENT_SIGNING_KEY']);
        for (const problem of error.problems) assert.ok(error.message.includes(problem.message), problem.message);
        return true;
      },
    );
  });

  it('a routing file with several mistakes: each one named, and the settings it needs are not guessed at', () => {
    const routing = JSON.stringify({ routes: [{ name: 'a', match: { source: 'fivetrn' }, dbtjobs: [{ jobId: 1 }] }] });
    assert.throws(
      () => readProcessorConfig({ ROUTING_CONFIG: routing, AUDIT_RETENTION_DAYS: '0' }),
      (error: unknown) => error instanceof ConfigErrors && error.problems.map((p) => p.variable).join() === 'ROUTING_CONFIG,SYNC_EVENT_SIGNING_KEY,AUDIT_RETENTION_DAYS' && /did you mean "dbtJobs"/.test(error.message),
    );
  });

  it('refuses at start-up a literal Slack webhook URL that is not on hooks.slack.com, unless SLACK_WEBHOOK_HOSTS allows its origin', () => {
    for (const url of ['https://evil.example/services/T/B/X', 'http://hooks.slack.com/services/T/B/X', 'https://hooks.slack.com.evil.example/services/T/B/X']) {
      assert.throws(
        () => readProcessorConfig({ ...full, SLACK_WEBHOOK_URL: url }),
        (error: unknown) => error instanceof ConfigError && error.variable === 'SLACK_WEBHOOK_URL' && /SLACK_WEBHOOK_HOSTS/.test(error.message) && !error.message.includes('/services/'),
        url,
      );
    }
    const routed = JSON.stringify({ routes: [{ name: 'a', match: { source: 'airbyte' }, slack: { webhook: 'env:SLACK_FINANCE' } }] });
    assert.throws(() => readProcessorConfig({ ...full, ROUTING_CONFIG: routed, SLACK_FINANCE: 'https://evil.example/services/T/B/X' }), (error: unknown) => error instanceof ConfigError && error.variable === 'SLACK_FINANCE');
    const allowed = readProcessorConfig({ ...full, SLACK_WEBHOOK_URL: 'http://127.0.0.1:8083/services/T/B/X', SLACK_WEBHOOK_HOSTS: 'http://127.0.0.1:8083, hooks.slack-gov.com' });
    assert.deepEqual(allowed.slackWebhookOrigins, ['https://hooks.slack.com', 'http://127.0.0.1:8083', 'https://hooks.slack-gov.com']);
    for (const bad of ['http://127.0.0.1:8083/services', 'ftp://x.example', 'not a host']) {
      assert.throws(() => readProcessorConfig({ ...full, SLACK_WEBHOOK_HOSTS: bad }), (error: unknown) => error instanceof ConfigError && error.variable === 'SLACK_WEBHOOK_HOSTS', bad);
    }
  });

  it('SLACK_LINK_HOSTS adds origins or hosts Slack links may point to; a malformed one stops start-up', () => {
    const config = readProcessorConfig({ ...full, DBT_CLOUD_BASE_URL: 'https://ab123.us1.dbt.com/', SLACK_LINK_HOSTS: 'https://airbyte.internal.example:8443,Airbyte.Example.org' });
    assert.deepEqual(config.slackLinks.dbtCloud, ['https://ab123.us1.dbt.com']);
    assert.deepEqual(config.slackLinks.vendors.airbyte, ['airbyte.com', 'https://airbyte.internal.example:8443', 'airbyte.example.org']);
    assert.throws(() => readProcessorConfig({ ...full, SLACK_LINK_HOSTS: 'https://x.example/path' }), (error: unknown) => error instanceof ConfigError && error.variable === 'SLACK_LINK_HOSTS');
  });

  it('needs no dbt settings when no job is routed, and no Slack when nothing notifies', () => {
    const config = readProcessorConfig({ ROUTING_CONFIG: silent, SYNC_EVENT_SIGNING_KEY: full.SYNC_EVENT_SIGNING_KEY });
    assert.equal(config.dbt, undefined);
    assert.equal(config.slackWebhooks.size, 0);
    assert.equal(readProcessorConfig({ ROUTING_CONFIG: slackOnly, SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X', SYNC_EVENT_SIGNING_KEY: full.SYNC_EVENT_SIGNING_KEY }).dbt, undefined);
  });

  it('starts without Slack: no SLACK_WEBHOOK_URL means no default webhook, even where routes notify', () => {
    const config = readProcessorConfig({ ...full, SLACK_WEBHOOK_URL: undefined, ROUTING_CONFIG: JSON.stringify({ slack: { webhook: 'env:SLACK_WEBHOOK_URL' }, routes: [{ name: 'a', match: { source: 'fivetran' }, dbtJobs: [{ jobId: 1 }], slack: { notify: ['sync.failed', 'sync.succeeded'] } }] }) });
    assert.equal(config.slackWebhooks.has('env:SLACK_WEBHOOK_URL'), false);
    assert.ok(config.dbt);
  });

  it('accepts Secret Manager references for the token and the webhook', () => {
    const config = readProcessorConfig({ ...full, GOOGLE_CLOUD_PROJECT: 'p', DBT_CLOUD_API_TOKEN: 'sm://dbt-token', SLACK_WEBHOOK_URL: 'sm://projects/p/secrets/slack/versions/2' });
    assert.equal(config.dbt?.token.configured, true);
    assert.equal(config.slackWebhooks.get('env:SLACK_WEBHOOK_URL')?.configured, true);
  });

  it('never puts a secret into a configuration error', () => {
    assert.throws(
      () => readProcessorConfig({ ...full, DBT_CLOUD_ACCOUNT_ID: 'x' }),
      (error: Error) => !error.message.includes(full.DBT_CLOUD_API_TOKEN) && !error.message.includes('hooks.slack.com'),
    );
  });

  it('warns about short secrets as the ingest function does, naming the setting, never the value', () => {
    const warn = sinon.stub(logger, 'warn');
    try {
      const long = 'x'.repeat(32);
      readProcessorConfig({ ...full, DBT_CLOUD_API_TOKEN: long, SLACK_WEBHOOK_URL: `https://hooks.slack.com/services/T/B/${long}` });
      sinon.assert.notCalled(warn);
      readProcessorConfig({ ...full, DBT_CLOUD_API_TOKEN: 'dbtc_short', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/s' });
      const lines = warn.getCalls().map((call) => String(call.args[1]));
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /^DBT_CLOUD_API_TOKEN is shorter than 32 characters/);
      assert.match(lines[1]!, /^SLACK_WEBHOOK_URL is shorter than 32 characters/);
      for (const call of warn.getCalls()) assert.ok(!JSON.stringify(call.args).includes('dbtc_short') && !JSON.stringify(call.args).includes('https://hooks.slack.com/s'));
    } finally {
      warn.restore();
    }
  });

  const collections = ['AUDIT_COLLECTION', 'CONNECTORS_COLLECTION', 'JOB_STATE_COLLECTION', 'JOINS_COLLECTION'];
  for (const name of collections) {
    it(`${name} must be a Firestore collection id (Firestore's limits, docs/limits.md), or start-up fails naming it`, () => {
      for (const bad of ['a/b', '.', '..', '__reserved__', 'x'.repeat(1501), 'é'.repeat(751), 'audit\ud800']) {
        assert.throws(() => readProcessorConfig({ ...full, [name]: bad }), (error: unknown) => error instanceof ConfigError && error.message.includes(name), `${name}=${bad.slice(0, 20)}`);
      }
      for (const good of ['x'.repeat(1500), 'é'.repeat(750), 'audit_2', '_x_', '...']) assert.doesNotThrow(() => readProcessorConfig({ ...full, [name]: good }));
    });
  }
});
