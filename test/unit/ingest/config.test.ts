import assert from 'node:assert/strict';
import { loadIngestConfig } from '../../../functions/ingest/config.js';
import { ConfigError, ConfigErrors } from '../../../functions/shared/settings.js';

describe('ingest settings', () => {
  it('has production defaults: topic sync-events, 1 MiB bodies, an 8 s publish timeout', () => {
    const config = loadIngestConfig({});
    assert.equal(config.topic, 'sync-events');
    assert.equal(config.maxBodyBytes, 1024 * 1024);
    assert.equal(config.publishTimeoutMs, 8000);
    assert.equal(config.projectId, undefined);
    assert.equal(config.fivetranSecret.configured, false);
    assert.equal(config.airbyteToken.configured, false);
    assert.equal(config.dbtCloudSecret.configured, false);
  });

  it('reads every setting', () => {
    const config = loadIngestConfig({
      GOOGLE_CLOUD_PROJECT: 'p1',
      SYNC_EVENTS_TOPIC: 'events',
      MAX_BODY_BYTES: '2048',
      PUBLISH_TIMEOUT_MS: '1500',
      FIVETRAN_WEBHOOK_SECRET: 's',
      AIRBYTE_WEBHOOK_TOKEN: 'sm://airbyte-token',
      DBT_CLOUD_WEBHOOK_SECRET: 'sm://projects/p1/secrets/dbt-cloud-webhook-secret',
    });
    assert.deepEqual([config.projectId, config.topic, config.maxBodyBytes, config.publishTimeoutMs], ['p1', 'events', 2048, 1500]);
    assert.ok(config.fivetranSecret.configured && config.airbyteToken.configured && config.dbtCloudSecret.configured);
    assert.equal(config.dbtCloudSecret.setting, 'DBT_CLOUD_WEBHOOK_SECRET');
  });

  for (const [variable, value] of [['MAX_BODY_BYTES', 'lots'], ['MAX_BODY_BYTES', '10'], ['MAX_BODY_BYTES', '1600001'], ['MAX_BODY_BYTES', '33554432'], ['TRUSTED_PROXY_HOPS', '-1'], ['PUBLISH_TIMEOUT_MS', '-1'], ['SECRET_CACHE_TTL_SECONDS', '1.5']] as const) {
    it(`refuses ${variable}=${value}, naming the variable`, () => {
      assert.throws(() => loadIngestConfig({ [variable]: value }), (error: Error) => error instanceof ConfigError && error.variable === variable);
    });
  }

  it('names every bad setting at once', () => {
    assert.throws(
      () => loadIngestConfig({ MAX_BODY_BYTES: 'lots', TRUSTED_PROXY_HOPS: '-1', FIVETRAN_SOURCE_RANGES: '300.0.0.0/8', AIRBYTE_WEBHOOK_TOKEN: 'sm://a/b/c' }),
      (error: unknown) => error instanceof ConfigErrors && error.problems.map((p) => p.variable).sort().join() === 'AIRBYTE_WEBHOOK_TOKEN,FIVETRAN_SOURCE_RANGES,MAX_BODY_BYTES,TRUSTED_PROXY_HOPS',
    );
  });

  it('sm://NAME without a project: names the setting and both ways to give the project', () => {
    assert.throws(() => loadIngestConfig({ FIVETRAN_WEBHOOK_SECRET: 'sm://postload-fivetran' }), (error: Error) => {
      assert.ok(error instanceof ConfigError && error.variable === 'FIVETRAN_WEBHOOK_SECRET');
      assert.match(error.message, /"sm:\/\/postload-fivetran" names no project: set GOOGLE_CLOUD_PROJECT .*, or write sm:\/\/projects\/PROJECT\/secrets\/postload-fivetran$/);
      assert.doesNotMatch(error.message, /not a Secret Manager reference/);
      return true;
    });
  });

  describe('the stale age (issue 25, finding 4): shorter than the audit retention, validated as such', () => {
    const HOUR = 3_600_000;
    it('defaults to 48 hours, or an hour less than the retention when that is shorter', () => {
      assert.equal(loadIngestConfig({}).staleAfterMs, 48 * HOUR);
      assert.equal(loadIngestConfig({ AUDIT_RETENTION_DAYS: '1' }).staleAfterMs, 23 * HOUR);
      assert.equal(loadIngestConfig({ STALE_EVENT_AGE_HOURS: '72', AUDIT_RETENTION_DAYS: '7' }).staleAfterMs, 72 * HOUR);
    });

    for (const [stale, retention] of [['24', '1'], ['2160', '90'], ['9999', undefined]] as const) {
      it(`refuses STALE_EVENT_AGE_HOURS=${stale} with AUDIT_RETENTION_DAYS=${retention ?? '(default 90)'}: not shorter than the retention`, () => {
        assert.throws(
          () => loadIngestConfig({ STALE_EVENT_AGE_HOURS: stale, ...(retention ? { AUDIT_RETENTION_DAYS: retention } : {}) }),
          (error: Error) => error instanceof ConfigError && error.variable === 'STALE_EVENT_AGE_HOURS' && /shorter than AUDIT_RETENTION_DAYS/.test(error.message),
        );
      });
    }

    for (const value of ['0', '1.5', 'two days']) {
      it(`refuses STALE_EVENT_AGE_HOURS=${value}`, () => {
        assert.throws(() => loadIngestConfig({ STALE_EVENT_AGE_HOURS: value }), (error: Error) => error instanceof ConfigError && error.variable === 'STALE_EVENT_AGE_HOURS');
      });
    }
  });
});
