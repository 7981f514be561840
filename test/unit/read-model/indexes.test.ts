import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventQueryShape, FILTER_FIELDS } from '../../../functions/read-model/event-query.js';
import { indexKey, requiredIndex, type QueryShape } from '../../../functions/read-model/query-shape.js';
import { FOLLOWED_FAILED_SHAPE } from '../../../functions/read-model/status-reader.js';
import { checkQueryIndexes, declaredIndexes, loadTerraform } from '../../support/terraform-checks.js';

// Every query the read model can make has its index in terraform/firestore.tf: here every
// combination of the events filters (and the counts); the browser suite checks every query
// actually made while it walks each view. And no index is declared that nothing uses.

const TERRAFORM = join(dirname(fileURLToPath(import.meta.url)), '../../../terraform');

/** Every combination of the filters a list of events can be given, as the query shapes they make. */
function everyEventShape(): QueryShape[] {
  const keys = Object.keys(FILTER_FIELDS) as Array<keyof typeof FILTER_FIELDS>;
  const shapes: QueryShape[] = [];
  for (let mask = 0; mask < 1 << keys.length; mask++) {
    const filter = Object.fromEntries(keys.filter((_, i) => mask & (1 << i)).map((k) => [k, 'x']));
    shapes.push(eventQueryShape(filter), eventQueryShape(filter, true));
  }
  return shapes;
}

describe('read-model: Firestore indexes', () => {
  it('requiredIndex: equality alone and one ordered field alone need none; equality with an order needs (equalities asc, order)', () => {
    assert.equal(requiredIndex({ collection: 'audit', equalities: ['status', 'actions.final-alert.kind'] }), null);
    assert.equal(requiredIndex({ collection: 'audit', equalities: [], orderBy: { field: 'occurredAt', direction: 'desc' } }), null);
    assert.equal(requiredIndex({ collection: 'audit', equalities: ['occurredAt'], orderBy: { field: 'occurredAt', direction: 'desc' } }), null);
    assert.equal(indexKey(requiredIndex({ collection: 'audit', equalities: ['type'], orderBy: { field: 'occurredAt', direction: 'desc' } })!), 'audit(type asc, occurredAt desc)');
  });

  it('one filter at most goes to Firestore, so each needs one index, not one per combination', () => {
    const needed = new Set(everyEventShape().map(requiredIndex).filter((i) => i !== null).map((i) => indexKey(i!)));
    assert.deepEqual([...needed].sort(), Object.values(FILTER_FIELDS).map((f) => `audit(${f} asc, occurredAt desc)`).sort());
  });

  it('terraform/ declares the index of every events query and count, and no time-ordered audit index that none of them uses', async () => {
    const { config } = await loadTerraform(TERRAFORM);
    assert.deepEqual(checkQueryIndexes(config, everyEventShape()), []);
    const used = new Set(everyEventShape().map(requiredIndex).filter((i) => i !== null).map((i) => indexKey(i!)));
    const { indexes, problems } = declaredIndexes(config);
    assert.deepEqual(problems, []);
    // Of the audit trail's time-ordered indexes (the read model's family; other parts of postload declare their own).
    assert.deepEqual([...indexes].filter((i) => i.startsWith('audit(') && i.endsWith(', occurredAt desc)') && !used.has(i)), [], 'declared but never used');
  });

  it('terraform/ declares the index of the header count of failed followed runs (Cloud Run, Airflow)', async () => {
    const { config } = await loadTerraform(TERRAFORM);
    assert.equal(indexKey(requiredIndex(FOLLOWED_FAILED_SHAPE)!), 'followedRuns(outcome.status asc, outcome.finishedAt desc)');
    assert.deepEqual(checkQueryIndexes(config, [FOLLOWED_FAILED_SHAPE]), []);
  });

  it('the check fails when an index is missing (terraform/ with one removed)', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'postload-tf-'));
    try {
      cpSync(TERRAFORM, copy, { recursive: true });
      const file = join(copy, 'firestore.tf');
      const text = readFileSync(file, 'utf8');
      const start = text.indexOf('resource "google_firestore_index" "audit_by_sync_status"');
      const end = text.indexOf('resource "google_firestore_index"', start + 10);
      writeFileSync(file, text.slice(0, start) + text.slice(end));
      const { config } = await loadTerraform(copy);
      const problems = checkQueryIndexes(config, everyEventShape());
      assert.ok(problems.length > 0 && problems.every((p) => p.includes('audit(syncStatus asc, occurredAt desc)')), problems.join('\n'));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
