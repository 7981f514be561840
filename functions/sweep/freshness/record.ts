import { Timestamp } from '@google-cloud/firestore';
import type { SlackMessage } from '../../processor/clients/slack-message.js';
import type { Expectation, VendorFacts } from './expectation.js';
import type { SlackThread } from './slack-sender.js';
import type { FreshnessState, Incident } from './state-machine.js';

/**
 * A connector's freshness document, `freshness/<connector document id>` (the id of its
 * `connectors/` document: `fivetran-<id>`, `airbyte-<id>`). Written only by the sweep,
 * except `pause`, which `postload freshness pause` sets. The status page and the CLI read
 * it as it is: state, expectation and its source, last sync, next expected, the open
 * incident. Times are epoch milliseconds (the top-level ones are stored as Firestore
 * timestamps, see toFirestore).
 */
export interface FreshnessRecord {
  schemaVersion: 1;
  source: string;
  connectorId: string;
  connectorName: string | null;
  connectorType: string | null;
  destination: { id: string | null; name: string | null };
  state: FreshnessState;
  since: number;
  evaluatedAt: number;
  /** Why it is in this state, in words. */
  why: string;
  expectation: Expectation;
  expectedBy: number | null;
  overdueAt: number | null;
  /** When the judgement changes if nothing new arrives: the next threshold, reminder or end of a snooze; null: only on new evidence. */
  nextChangeAt: number | null;
  /** When the sweep must look again (queried: due when ≤ now): nextChangeAt, or earlier for a message still to send. */
  nextCheckAt: number | null;
  lastSuccessAt: number | null;
  lastSuccessEventId: string | null;
  failuresSinceSuccess: number;
  lastFailureAt: number | null;
  lastError: string | null;
  firstSeenAt: number;
  /** The latest successful syncs' ends, oldest first (learned expectations). */
  successTimes: number[];
  /** The connector document's `updatedAt` last folded in: a newer one is new evidence. */
  seenConnectorUpdate: number | null;
  /** An operator's snooze. */
  pause: { until: number; by: string; reason: string | null; at: number } | null;
  /** What the vendor's API said at its last read (when configured). */
  vendor: VendorFacts | null;
  incident: (Incident & { id: string }) | null;
  /** Slack messages decided and not yet delivered (claimed by one sweep at a time). */
  outbox: OutboxMessage[];
  /** Through the Slack app: the open incident's alert, which its reminders thread under and its recovery updates (also on the incident record). */
  slackThread?: SlackThread | null;
  updatedAt: number;
}

export interface OutboxMessage {
  /** `<incident openedAt>:alert`, `…:reminder:<n>`, `…:recovery`, `…:closed`: one message per key, ever. */
  key: string;
  kind: 'alert' | 'reminder' | 'recovery' | 'closed';
  incidentId: string;
  message: SlackMessage;
  createdAt: number;
  attempts: number;
  /** The sweep that holds it while it sends, until leaseUntil. */
  claimedBy: string | null;
  leaseUntil: number | null;
  notBefore: number | null;
  lastError: string | null;
}

/**
 * An incident's document, `freshness/<id>/freshnessIncidents/<openedAt>`: its whole story
 * for the status page and the audit trail, and room for the Slack thread (issue 31).
 */
export interface IncidentRecord {
  incidentId: string;
  connectorDocId: string;
  source: string;
  connectorId: string;
  connectorName: string | null;
  openedAt: number;
  alertedAt: number;
  state: 'overdue' | 'failing';
  lastSuccessAt: number | null;
  expectation: Expectation;
  closedAt: number | null;
  closedBy: 'recovery' | 'closed' | null;
  recoveredAt: number | null;
  overdueForMs: number | null;
  missedSyncs: number | null;
  reminders: number;
  /** Each message by key: when it was decided and sent. */
  messages: Record<string, { kind: string; decidedAt: number; sentAt: number | null; skipped: string | null }>;
  /** The Slack message `ts` of the alert, once an app-mode delivery reports it (issue 31): its thread holds the reminders. */
  slackTs: string | null;
  /** The channel of that message. */
  slackChannel?: string | null;
  expireAt: number;
}

/** One state change, `freshness/<id>/freshnessChanges/<at>-<to>`: the audit trail of freshness. */
export interface ChangeRecord {
  connectorDocId: string;
  source: string;
  connectorId: string;
  from: FreshnessState | null;
  to: FreshnessState;
  at: number;
  why: string;
  expectation: Expectation;
  incidentId: string | null;
  expireAt: number;
}

const TOP_LEVEL_TIMES = ['since', 'evaluatedAt', 'expectedBy', 'overdueAt', 'nextChangeAt', 'nextCheckAt', 'lastSuccessAt', 'lastFailureAt', 'firstSeenAt', 'seenConnectorUpdate', 'updatedAt', 'openedAt', 'alertedAt', 'closedAt', 'recoveredAt', 'at', 'expireAt'] as const;

/** The stored form: top-level times as Firestore timestamps (readable in the console, queryable, TTL-able). */
export function toFirestore<T extends object>(record: T): Record<string, unknown> {
  const stored: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const field of TOP_LEVEL_TIMES) {
    const value = stored[field];
    if (typeof value === 'number') stored[field] = Timestamp.fromMillis(value);
  }
  return stored;
}

export function fromFirestore<T>(data: Record<string, unknown>): T {
  const record: Record<string, unknown> = { ...data };
  for (const field of TOP_LEVEL_TIMES) {
    const value = record[field];
    if (value instanceof Timestamp) record[field] = value.toMillis();
  }
  return record as T;
}
