import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { codeBlocks } from '../support/markdown-docs.js';
import { METADATA_COLUMNS } from '../support/terraform-bigquery.js';

// docs/sync-history.md gives queries over the BigQuery table of SyncEvents. Nothing here can
// run them (no BigQuery), but every JSON path they read must be a field of the SyncEvent
// schema, and every column one Pub/Sub writes: a renamed field would otherwise leave a
// query reading NULLs.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = readFileSync(`${ROOT}docs/sync-history.md`, 'utf8');
type Schema = { properties?: Record<string, Schema>; $ref?: string; anyOf?: Schema[]; oneOf?: Schema[]; definitions?: Record<string, Schema> };
const SCHEMA = JSON.parse(readFileSync(`${ROOT}schemas/sync-event.v1.schema.json`, 'utf8')) as Schema;

/** The schemas a value at `path` may have (following $ref, anyOf, oneOf). */
function at(schema: Schema, path: string[]): Schema[] {
  const resolved = (s: Schema): Schema[] => {
    if (s.$ref) return resolved(SCHEMA.definitions![s.$ref.replace('#/definitions/', '')]!);
    return [s, ...(s.anyOf ?? []).flatMap(resolved), ...(s.oneOf ?? []).flatMap(resolved)];
  };
  if (path.length === 0) return resolved(schema);
  const [head, ...rest] = path;
  return resolved(schema).flatMap((s) => (s.properties?.[head!] ? at(s.properties[head!]!, rest) : []));
}

describe('docs/sync-history.md: the queries read what the table holds', () => {
  const queries = codeBlocks(DOC).filter((block) => /\bSELECT\b/.test(block));

  it('gives three queries', () => assert.equal(queries.length, 3));

  it('every JSON path is a field of the SyncEvent schema', () => {
    const paths = [...new Set(queries.flatMap((q) => [...q.matchAll(/JSON_VALUE\(data, '\$\.([\w.]+)'\)/g)].map((m) => m[1]!)))];
    assert.ok(paths.length >= 8, `found ${paths.join(', ')}`);
    for (const path of paths) assert.ok(at(SCHEMA, path.split('.')).length > 0, `$.${path} is not a SyncEvent field`);
  });

  it('reads only columns Pub/Sub writes, and filters on the partitioning column', () => {
    for (const query of queries) {
      assert.match(query, /publish_time >= /, 'each query reads a bounded set of partitions');
      for (const [, column] of query.matchAll(/\b(data|attributes|publish_time|message_id|subscription_name)\b/g)) assert.ok(column! in METADATA_COLUMNS);
    }
  });

  it('the table the docs show is the one Terraform declares', () => {
    const bigquery = readFileSync(`${ROOT}terraform/bigquery.tf`, 'utf8');
    for (const column of Object.keys(METADATA_COLUMNS)) {
      assert.match(DOC, new RegExp(`\\| \`${column}\` \\|`), `docs list ${column}`);
      assert.match(bigquery, new RegExp(`name = "${column}"`), `bigquery.tf declares ${column}`);
    }
  });
});
