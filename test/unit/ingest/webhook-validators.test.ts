import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validator, WEBHOOK_SCHEMAS, type WebhookSchemaName } from '../../../functions/shared/schemas.js';
import { webhookValidator } from '../../../functions/ingest/webhook-validators.js';
import { fixture, fixtureNames, type FixtureSource } from '../../support/webhook-fixtures.js';

// The ingest validates with ajv standalone code generated at build time
// (functions/build/compile-validators.ts); the rest of postload compiles at run time. Both
// must give the same verdict and the same errors for every body, or the build-time code is
// stale or built with other options.
const SOURCE_OF: Record<WebhookSchemaName, FixtureSource> = { 'fivetran-webhook': 'fivetran', 'airbyte-webhook': 'airbyte', 'dbt-cloud-webhook': 'dbt-cloud' };

function verdict(name: WebhookSchemaName, validate: ReturnType<typeof validator>, body: unknown) {
  const valid = validate(body);
  return { valid, errors: (validate.errors ?? []).map(({ instancePath, keyword, params, message }) => ({ instancePath, keyword, params, message, name })) };
}

function assertAgree(name: WebhookSchemaName, body: unknown): void {
  assert.deepEqual(verdict(name, webhookValidator(name), body), verdict(name, validator(name), body), JSON.stringify(body).slice(0, 300));
}

/** A fixture with one field replaced, so the bodies reach deep into the schema and fail it in many ways. */
const mutated = (base: Record<string, unknown>) =>
  fc
    .tuple(fc.constantFrom(...Object.keys(base)), fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.string(), fc.integer(), fc.dictionary(fc.string(), fc.jsonValue())))
    .map(([key, value]) => ({ ...base, [key]: value }));

describe('build-time webhook validators (ajv standalone)', () => {
  for (const name of WEBHOOK_SCHEMAS) {
    const source = SOURCE_OF[name];
    it(`${name}: agree with the run-time compiled schema on every ${source} fixture`, () => {
      const names = fixtureNames(source);
      assert.ok(names.length > 0);
      for (const file of names) assertAgree(name, fixture(source, file));
    });

    it(`${name}: agree on fixtures with a field replaced and on arbitrary JSON (property)`, () => {
      const bases = fixtureNames(source).map((file) => fixture(source, file));
      fc.assert(
        fc.property(fc.oneof(fc.constantFrom(...bases).chain(mutated), fc.jsonValue()), (body) => assertAgree(name, body)),
        { seed: 14, numRuns: 300 },
      );
    });
  }

  it('refuse what the schema refuses (the generated code is not a stub)', () => {
    for (const name of WEBHOOK_SCHEMAS) assert.equal(webhookValidator(name)({}), false, name);
  });
});
