import type { Firestore } from '@google-cloud/firestore';
import type { ActionRecord } from '../../functions/processor/store/event-store.js';

/**
 * The run that covers one event's run action, read from the audit trail the way an
 * operator would: the run it started (`runId`), the run its batch was coalesced into or
 * skipped for (`busy.runId`), or, for an event covered by another's batch (`busy.outcome:
 * joined`), its holder's. undefined: capped, failed, or not settled.
 */
export async function coveringRunId(db: Firestore, auditCollection: string, eventId: string, actionId: string): Promise<number | string | undefined> {
  for (let id = eventId, hops = 0; hops < 20; hops++) {
    const action = ((await db.collection(auditCollection).doc(id).get()).data()?.actions as Record<string, ActionRecord> | undefined)?.[actionId];
    if (!action) return undefined;
    if (action.runId != null) return action.runId;
    const busy = action.busy as { outcome?: string; runId?: number | string; holder?: string } | undefined;
    if (busy?.outcome === 'joined' && busy.holder) {
      id = busy.holder;
      continue;
    }
    return busy?.runId;
  }
  throw new Error(`event ${eventId}: more than 20 holders deep`);
}
