import type { MatchSubject } from '../../processor/planning/routing.js';
import { combineEvidence, type ConnectorView } from './evidence.js';
import { resolveExpectation, type VendorFacts } from './expectation.js';
import { addSamples } from './learned.js';
import type { FreshnessRecord } from './record.js';
import type { FreshnessSettings } from './rules.js';
import { judge, step, type Evidence, type MachineState, type Notice, type StateChange } from './state-machine.js';

export interface DecideInput {
  /** The connector's document id (`fivetran-<id>`), also its freshness document's. */
  docId: string;
  identity: MatchSubject;
  stored: FreshnessRecord | undefined;
  connector: ConnectorView | undefined;
  /** What the vendor's API said this tick; undefined: nothing new (the stored facts stand). */
  vendor: VendorFacts | undefined;
  settings: FreshnessSettings;
  nowMs: number;
  /**
   * The connector's vendor API is configured but could not be read this tick: a worse state
   * (late, overdue, failing) is not entered now (the vendor might know of a sync whose
   * webhook was lost); better news (a successful sync) is taken. Held connectors are due again at once.
   */
  blind?: string | undefined;
}

export interface Decision {
  record: FreshnessRecord;
  /** False when nothing but the evaluation time would change: no write. */
  changed: boolean;
  changes: StateChange[];
  notices: Notice[];
}

/**
 * One connector's evaluation, pure: its expectation (routing rule, vendor schedule or
 * learned), the evidence (its events and the vendor's word), the state machine's step,
 * and the record to store. Undefined when this evaluation is older than the stored one.
 */
export function decide({ docId, identity, stored, connector, vendor, settings, nowMs, blind }: DecideInput): Decision | undefined {
  const vendorFacts = vendor ?? stored?.vendor ?? undefined;
  const successTimes = addSamples(stored?.successTimes ?? [], [...(connector?.successTimes ?? []), ...(vendorFacts?.succeededAt == null ? [] : [vendorFacts.succeededAt])]);
  const rule = settings.ruleFor(identity);
  const expectation = resolveExpectation(rule, vendorFacts, successTimes, nowMs);
  const syncs = combineEvidence(connector, vendorFacts);
  // Evidence never goes backwards: a connector document read before a newer vendor answer, or the other way round.
  const lastSuccessAt = max(syncs.lastSuccessAt, stored?.lastSuccessAt ?? null);
  const keptStored = lastSuccessAt !== syncs.lastSuccessAt;
  const pause = stored?.pause && stored.pause.until > nowMs ? stored.pause : null;
  const evidence: Evidence = {
    lastSuccessAt,
    failuresSinceSuccess: keptStored ? 0 : syncs.failuresSinceSuccess,
    lastFailureAt: keptStored ? null : syncs.lastFailureAt,
    firstSeenAt: stored?.firstSeenAt ?? nowMs,
    pausedUntil: pause?.until ?? null,
    vendorPaused: vendorFacts?.paused ?? null,
  };
  const judgement = judge(expectation, evidence, nowMs);
  const previous: MachineState | undefined = stored && { state: stored.state, since: stored.since, evaluatedAt: stored.evaluatedAt, incident: stored.incident };
  let next = step(previous, judgement, evidence, expectation, { nowMs, realertMs: settings.realertMs });
  if (!next) return undefined;
  const worse = next.next.state === 'late' || next.next.state === 'overdue' || next.next.state === 'failing';
  if (blind && worse && next.next.state !== (previous?.state ?? 'unknown')) {
    const held: MachineState = previous ?? { state: 'unknown', since: nowMs, evaluatedAt: nowMs, incident: null };
    next = { next: { ...held, evaluatedAt: nowMs }, changes: [], notices: [], nextCheckAt: nowMs };
    judgement.why = `not judged this tick: ${blind}`;
  }
  const incident = next.next.incident && { ...next.next.incident, id: incidentId(docId, next.next.incident.openedAt) };
  const record: FreshnessRecord = {
    schemaVersion: 1,
    source: identity.source,
    connectorId: identity.connector.id ?? stored?.connectorId ?? docId,
    connectorName: identity.connector.name ?? stored?.connectorName ?? vendorFacts?.name ?? null,
    connectorType: identity.connector.type ?? stored?.connectorType ?? null,
    destination: { id: identity.destination.id ?? null, name: identity.destination.name ?? null },
    state: next.next.state,
    since: next.next.since,
    evaluatedAt: nowMs,
    why: judgement.why,
    expectation,
    expectedBy: judgement.expectedBy,
    overdueAt: judgement.overdueAt,
    nextChangeAt: next.nextCheckAt,
    nextCheckAt: next.nextCheckAt,
    lastSuccessAt,
    lastSuccessEventId: keptStored ? (stored?.lastSuccessEventId ?? null) : syncs.lastSuccessEventId,
    failuresSinceSuccess: evidence.failuresSinceSuccess,
    lastFailureAt: evidence.lastFailureAt,
    lastError: keptStored ? null : syncs.lastError,
    firstSeenAt: evidence.firstSeenAt,
    successTimes,
    seenConnectorUpdate: connector?.updatedAt ?? stored?.seenConnectorUpdate ?? null,
    pause,
    vendor: vendorFacts ?? null,
    incident,
    outbox: stored?.outbox ?? [],
    slackThread: stored?.slackThread ?? null,
    updatedAt: nowMs,
  };
  return { record, changed: !stored || next.notices.length > 0 || essence(record) !== essence(stored), changes: next.changes, notices: next.notices };
}

/** `fivetran-abc@1767225600000`: the connector and the moment it became overdue. */
export function incidentId(docId: string, openedAt: number): string {
  return `${docId}@${openedAt}`;
}

/** The moment in an incident id: its document's id under the connector's freshnessIncidents. */
export function incidentOpenedAt(id: string): number {
  return Number(id.slice(id.lastIndexOf('@') + 1));
}

/** What a write would change, without the times that move on every evaluation. */
function essence(record: FreshnessRecord): string {
  const { evaluatedAt: _e, updatedAt: _u, vendor, ...rest } = record;
  return JSON.stringify({ ...rest, vendor: vendor && { ...vendor, readAt: 0 } });
}

function max(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
