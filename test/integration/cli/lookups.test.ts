import assert from 'node:assert/strict';
import type { Firestore } from '@google-cloud/firestore';
import { AuditTrail } from '../../../functions/read-model/audit-trail.js';
import { lookUpConnector } from '../../../functions/read-model/connectors.js';
import { resolveEventId } from '../../../functions/cli/event-ids.js';
import { emulator } from '../../support/global-hooks.js';
import { emulatorFirestore } from '../../support/processor-harness.js';

// The CLI's lookups on the Firestore emulator: an id prefix is one range query on the
// document id, bounded, that finds exactly the ids starting with it; a connector is found
// by its id or its name through the connector documents.

process.env.METADATA_SERVER_DETECTION ??= 'none';

describe('the CLI finds events by id prefix and connectors by name (Firestore emulator)', function () {
  this.timeout(60_000);
  let db: Firestore;
  const audit = `syncEvents-lookups-${process.pid}`;
  const connectors = `connectors-lookups-${process.pid}`;

  before(async function () {
    db = emulatorFirestore(await emulator('firestore', this));
    const ids = ['e44cfe98aa000000', 'e44cfe98bb000000', 'e44cfe99aa000000', 'e44cfe97ff000000', 'e44cfe98', 'f0000000aa000000'];
    await Promise.all(ids.map((id) => db.collection(audit).doc(id).set({ eventId: id })));
    await db.collection(connectors).doc('fivetran:assimilate_seem').set({ source: 'fivetran', connectorId: 'assimilate_seem', connectorName: 'ftar_pg' });
    await db.collection(connectors).doc('airbyte:7a1b').set({ source: 'airbyte', connectorId: '7a1b', connectorName: 'pg_to_bq' });
  });

  after(async () => {
    await db?.terminate();
  });

  it('idsStartingWith: exactly the ids with the prefix, in order, at most the limit', async () => {
    const trail = new AuditTrail(db, audit);
    assert.deepEqual(await trail.idsStartingWith('e44cfe98', 10), ['e44cfe98', 'e44cfe98aa000000', 'e44cfe98bb000000']);
    assert.deepEqual(await trail.idsStartingWith('e44cfe98a', 10), ['e44cfe98aa000000']);
    assert.deepEqual(await trail.idsStartingWith('e44cfe98', 2), ['e44cfe98', 'e44cfe98aa000000']);
    assert.deepEqual(await trail.idsStartingWith('e44cfe9f', 10), []);
    assert.deepEqual(await trail.idsStartingWith('f0000000', 10), ['f0000000aa000000']);
  });

  it('resolveEventId on the emulator: a unique prefix, an exact id, nothing, too short', async () => {
    const trail = new AuditTrail(db, audit);
    assert.equal(await resolveEventId(trail, 'e44cfe99'), 'e44cfe99aa000000');
    assert.equal(await resolveEventId(trail, 'e44cfe98'), 'e44cfe98');
    assert.equal(await resolveEventId(trail, 'e44cfe98a0'), undefined);
    await assert.rejects(resolveEventId(new AuditTrail(db, audit), 'e44cfe9'), /too short/);
  });

  it('connectors: by name, by id, and a sample to suggest from when neither', async () => {
    const trail = new AuditTrail(db, audit);
    const byName = await lookUpConnector(db, connectors, 'pg_to_bq');
    assert.deepEqual(byName.named.map((c) => c.connectorId), ['7a1b']);
    assert.equal(byName.exists, true);
    const byId = await lookUpConnector(db, connectors, 'assimilate_seem');
    assert.deepEqual([byId.named.length, byId.exists], [0, true]);
    const none = await lookUpConnector(db, connectors, 'ftar_pgg');
    assert.equal(none.exists, false);
    assert.deepEqual(none.sample.map((c) => c.connectorName).sort(), ['ftar_pg', 'pg_to_bq']);
  });
});
