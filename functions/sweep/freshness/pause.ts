import type { Firestore } from '@google-cloud/firestore';
import type { FreshnessRecord } from './record.js';

/**
 * Sets (or, with null, ends) an operator's snooze on one connector's freshness document:
 * its state is `paused` until then (no alert, no reminder; an open incident waits). The
 * document is made due at once (whatever the two machines' clocks say), so the next tick
 * judges it with the snooze. One transaction; false when the connector is not watched
 * (no such document). Shared by `postload freshness pause` and the Slack app's snooze button.
 */
export async function setFreshnessPause(db: Firestore, collection: string, docId: string, pause: FreshnessRecord['pause']): Promise<boolean> {
  const ref = db.collection(collection).doc(docId);
  return db.runTransaction(async (tx) => {
    const snapshot = await tx.get(ref);
    if (!snapshot.exists) return false;
    tx.update(ref, { pause, nextCheckAt: new Date(0) });
    return true;
  });
}
