import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { boundedId } from '../../processor/store/document-ids.js';
import type { ButtonAction } from '../../shared/slack-buttons.js';

// The record of every button action, in the audit collection: `slack-action-<action id>`,
// kind `slack-action`, with the Slack user who pressed it. It is also what makes an action
// idempotent on Slack's action id: the first press claims the record in a transaction, the
// effect is performed once, and every later press (a double click, the same button on
// another message, Slack retrying the callback) reads who did it and when.

export interface SlackUserRef {
  id: string;
  username: string;
  name: string;
  teamId: string;
}

export interface LedgerRecord {
  kind: 'slack-action';
  actionId: string;
  action: ButtonAction;
  status: 'pending' | 'succeeded' | 'failed';
  /** Who pressed first, and every press since. */
  by: SlackUserRef;
  presses: number;
  lastPressedBy: SlackUserRef;
  channel: string | null;
  messageTs: string | null;
  attempts: number;
  leaseUntil: Timestamp | null;
  pressedAt: Timestamp;
  completedAt: Timestamp | null;
  /** What the effect came to, in words (shown to later presses). */
  summary: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
  expireAt: Timestamp;
}

/** What a press may do: perform the action (attempt n), or report the record as it stands. */
export type Claim = { kind: 'perform'; attempt: number; docId: string; pressedAt: number } | { kind: 'done' | 'busy'; record: LedgerRecord; docId: string };

export interface LedgerOptions {
  collection: string;
  /** How long a pending claim is held before another press may take it over. */
  leaseMs: number;
  retentionDays: number;
  now: () => number;
}

const DAY_MS = 86_400_000;

export class ActionLedger {
  constructor(
    private readonly db: Firestore,
    private readonly options: LedgerOptions,
  ) {}

  docId(actionId: string): string {
    return boundedId('slack-action', actionId);
  }

  /** Claims the action for this press, or reports it done (succeeded or failed for good) or held by another press. One transaction. */
  async claim(actionId: string, action: ButtonAction, by: SlackUserRef, where: { channel: string | undefined; messageTs: string | undefined }): Promise<Claim> {
    const docId = this.docId(actionId);
    const ref = this.db.collection(this.options.collection).doc(docId);
    return this.db.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      const nowMs = this.options.now();
      const now = Timestamp.fromMillis(nowMs);
      const lease = Timestamp.fromMillis(nowMs + this.options.leaseMs);
      if (!snapshot.exists) {
        const record: LedgerRecord = {
          kind: 'slack-action',
          actionId,
          action,
          status: 'pending',
          by,
          presses: 1,
          lastPressedBy: by,
          channel: where.channel ?? null,
          messageTs: where.messageTs ?? null,
          attempts: 1,
          leaseUntil: lease,
          pressedAt: now,
          completedAt: null,
          summary: null,
          result: null,
          error: null,
          expireAt: Timestamp.fromMillis(nowMs + this.options.retentionDays * DAY_MS),
        };
        tx.create(ref, record);
        return { kind: 'perform', attempt: 1, docId, pressedAt: nowMs };
      }
      const record = snapshot.data() as LedgerRecord;
      const pressed = { presses: (record.presses ?? 0) + 1, lastPressedBy: by };
      if (record.status !== 'pending') {
        tx.update(ref, pressed);
        return { kind: 'done', record, docId };
      }
      if (record.leaseUntil && record.leaseUntil.toMillis() > nowMs) {
        tx.update(ref, pressed);
        return { kind: 'busy', record, docId };
      }
      // A press whose work was cut off (or that failed transiently): this one takes over.
      const attempt = (record.attempts ?? 1) + 1;
      tx.update(ref, { ...pressed, attempts: attempt, leaseUntil: lease });
      return { kind: 'perform', attempt, docId, pressedAt: record.pressedAt.toMillis() };
    });
  }

  /** The effect's outcome: final, or released (a transient failure: the next press tries again). */
  async settle(docId: string, outcome: { status: 'succeeded' | 'failed'; summary: string; result?: Record<string, unknown>; error?: string } | { status: 'released'; error: string }): Promise<void> {
    const ref = this.db.collection(this.options.collection).doc(docId);
    if (outcome.status === 'released') {
      await ref.update({ leaseUntil: null, error: outcome.error });
      return;
    }
    await ref.update({
      status: outcome.status,
      leaseUntil: null,
      completedAt: Timestamp.fromMillis(this.options.now()),
      summary: outcome.summary,
      result: outcome.result ?? null,
      error: outcome.error ?? null,
    });
  }
}
