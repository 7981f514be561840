import assert from 'node:assert/strict';
import { mergeConnector, mergeTransformationLink, type TransformationLink } from '../../../../functions/processor/store/connector-document.js';
import { interpret } from '../../../../functions/ingest/interpret.js';
import { failedSync, syncEvent } from '../../../support/sync-event-fixtures.js';
import { fixtureText } from '../../../support/webhook-fixtures.js';

describe('processor/store/connector-document', () => {
  it("a test notification changes no connector: Airbyte's Test button sends random ids, Fivetran's test_event placeholders", () => {
    const test = interpret('airbyte', Buffer.from(fixtureText('airbyte', 'test-sync-succeeded')), new Date());
    assert.equal(test.type, 'test');
    assert.ok(test.connector.id, 'the test names a connection');
    assert.equal(mergeConnector({ latestStatus: 'failed' }, test, 0), undefined);
  });

  it('compares times as instants: …00.500Z is after …00Z, and offsets count', () => {
    const later = syncEvent({ occurredAt: '2026-05-22T00:00:00.500Z' });
    const earlier = syncEvent({ occurredAt: '2026-05-22T00:00:00Z' });
    const doc = mergeConnector(mergeConnector(undefined, later, 0), earlier, 0)!;
    assert.equal((doc.latestEvent as { eventId: string }).eventId, later.id, 'the earlier event delivered late does not win');
    const offset = syncEvent({ occurredAt: '2026-05-22T01:30:00+02:00' }); // 23:30Z the day before
    const doc2 = mergeConnector(mergeConnector(undefined, earlier, 0), offset, 0)!;
    assert.equal((doc2.latestEvent as { eventId: string }).eventId, earlier.id);
    assert.deepEqual((doc2.recentEvents as Array<{ eventId: string }>).map((e) => e.eventId), [earlier.id, offset.id]);
  });

  it('lists a redelivered event once and cuts a long failure text', () => {
    const failure = failedSync({ error: { message: 'x'.repeat(100_000) } });
    const once = mergeConnector(undefined, failure, 0);
    const twice = mergeConnector(once, failure, 0)!;
    assert.equal((twice.recentEvents as unknown[]).length, 1);
    assert.ok(Buffer.byteLength((twice.lastFailedSync as { error: { message: string } }).error.message) <= 4000);
  });

  it('keeps the 14 newest finished syncs apart from starts and other events, once each, newest first', () => {
    let doc: Record<string, unknown> | undefined;
    const at = (minute: number) => new Date(Date.UTC(2026, 4, 22, 0, minute)).toISOString();
    const ended: string[] = [];
    for (let i = 0; i < 20; i++) {
      doc = mergeConnector(doc, syncEvent({ type: 'sync.started', occurredAt: at(2 * i) }), 0);
      const end = i % 3 === 0 ? failedSync({ occurredAt: at(2 * i + 1) }) : syncEvent({ occurredAt: at(2 * i + 1) });
      ended.push(end.id);
      doc = mergeConnector(mergeConnector(doc, end, 0), end, 0);
    }
    const syncs = doc!.recentSyncs as Array<{ eventId: string; type: string }>;
    assert.deepEqual(syncs.map((s) => s.eventId), ended.slice(-14).reverse());
    assert.ok(syncs.every((s) => s.type === 'sync.succeeded' || s.type === 'sync.failed'));
    assert.equal((doc!.recentEvents as unknown[]).length, 20, 'recentEvents still holds every kind');
  });

  it('a later event that names no connector keeps the name and type known', () => {
    const named = mergeConnector(undefined, syncEvent({ occurredAt: '2026-05-22T00:00:00Z' }), 0);
    const unnamed = mergeConnector(named, syncEvent({ type: 'schema.changed', occurredAt: '2026-05-22T00:01:00Z', connector: { name: null, type: null } }), 0)!;
    assert.equal(unnamed.connectorName, 'ftar_pg');
    assert.equal(unnamed.connectorType, 'google_cloud_postgresql');
  });

  it('latestTransformation: a later run replaces an earlier one, a final status its running, never the other way', () => {
    const link = (runId: number, status: string): TransformationLink => ({ originEventId: 'e', jobId: '101', runId, status, eventId: `${runId}-${status}`, finishedAt: null, recordedAt: 't' });
    const apply = (doc: Record<string, unknown> | undefined, next: TransformationLink) => ({ ...doc, ...mergeTransformationLink(doc, next) });
    let doc = apply({ connectorId: 'c' }, link(5, 'running'));
    doc = apply(doc, link(5, 'failed'));
    assert.equal((doc.latestTransformation as TransformationLink).status, 'failed');
    assert.equal(mergeTransformationLink(doc, link(5, 'running')), undefined, 'a late start');
    assert.equal(mergeTransformationLink(doc, link(5, 'succeeded')), undefined, 'a second final');
    assert.equal(mergeTransformationLink(doc, link(4, 'succeeded')), undefined, 'an older run reported late');
    doc = apply(doc, link(6, 'running'));
    assert.deepEqual(doc.latestTransformation, link(6, 'running'));
    assert.equal(doc.connectorId, 'c', 'the rest of the document is kept');
  });
});
