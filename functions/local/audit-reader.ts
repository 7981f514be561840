import { Firestore } from '@google-cloud/firestore';
import type { RunOutcome } from '../processor/planning/run-outcome.js';

/** The parts of an audit document (one per SyncEvent, see functions/processor/store/event-store.ts) the demo and tests read. */
export interface AuditRecord {
  eventId: string;
  type: string;
  status: string;
  deliveries: number;
  actions: Record<string, { kind: 'dbt' | 'slack'; target: string; status: string; attempts: number; runId?: number | null; runHref?: string | null; runOutcome?: RunOutcome; busy?: { outcome: 'joined' | 'coalesced' | 'skipped' | 'capped'; runId?: number; holder?: string } }>;
  [field: string]: unknown;
}

/** Reads audit documents from the Firestore emulator with the client library, as any reader would. */
export class AuditReader {
  private readonly db: Firestore;

  constructor(firestoreHost: string, projectId: string, private readonly collection = 'syncEvents') {
    // ssl: false is how the client knows it talks to the emulator (no credentials needed).
    this.db = new Firestore({ projectId, host: firestoreHost, ssl: false });
  }

  async read(eventId: string): Promise<AuditRecord | undefined> {
    const snapshot = await this.db.collection(this.collection).doc(eventId).get();
    return snapshot.exists ? (snapshot.data() as AuditRecord) : undefined;
  }

  async connector(docId: string, collection = 'connectors'): Promise<Record<string, unknown> | undefined> {
    return (await this.db.collection(collection).doc(docId).get()).data();
  }

  close(): Promise<void> {
    return this.db.terminate();
  }
}
