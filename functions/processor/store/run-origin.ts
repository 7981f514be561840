import type { Timestamp } from '@google-cloud/firestore';
import { linkRun, mergeRunOutcome, type Link, type OriginAction, type RunReport } from '../planning/run-outcome.js';
import { cutText, documentSize, MAX_DOCUMENT_BYTES } from './document-size.js';
import type { ActionRecord } from './event-store.js';

/** The load that started a run, as the Slack alert names it (read from the originating audit record). */
export interface RunOrigin {
  eventId: string;
  actionId: string;
  source: string;
  type: string;
  connectorId: string | null;
  connectorName: string | null;
  syncId: string | null;
  /** When the load finished (or occurred), ISO 8601. */
  syncAt: string | null;
  runHref: string | null;
}

export interface OriginUpdate {
  link: Link;
  /** Set when linked: the load that started the run. */
  origin: RunOrigin | undefined;
  /** The fields to write on the originating audit record, or undefined when nothing changes. */
  fields: Record<string, unknown> | undefined;
  /** Why a changed outcome was not written. */
  skipped?: string;
}

const MAX_ERROR_BYTES = 4_000;

/**
 * The originating audit record after a dbt Cloud run event: when the run is verified as
 * the one its dbt action started, the action gains (or keeps) `runOutcome`. Written in the
 * run event's own claim commit, under the precondition on what was read, so concurrent or
 * duplicate run events of one run serialise on the record and end in one outcome.
 */
export function originUpdate(report: RunReport, stored: Record<string, unknown> | undefined, nowMs: number): OriginUpdate {
  const actions = stored?.actions as Record<string, ActionRecord & OriginAction> | undefined;
  const link = linkRun(report, actions);
  if (link.kind !== 'linked' || !stored || !actions) return { link, origin: undefined, fields: undefined };
  const action = actions[link.actionId]!;
  const outcome = { ...report.outcome, errorMessage: report.outcome.errorMessage === null ? null : cutText(report.outcome.errorMessage, MAX_ERROR_BYTES) };
  const merged = mergeRunOutcome(action.runOutcome, outcome, new Date(nowMs).toISOString());
  const fields = merged ? { actions: { ...actions, [link.actionId]: { ...action, runOutcome: merged } } } : undefined;
  // Never expected (the record's texts are cut far below): the run event must not become unrecordable because of another record.
  const fits = !fields || documentSize(`syncEvents/${report.originEventId}`, { ...stored, ...fields }) <= MAX_DOCUMENT_BYTES;
  return { link, origin: originOf(report.originEventId, link.actionId, stored, action), fields: fits ? fields : undefined, ...(fits ? {} : { skipped: 'the originating audit record would exceed 1 MiB' }) };
}

function originOf(eventId: string, actionId: string, stored: Record<string, unknown>, action: ActionRecord): RunOrigin {
  const event = stored.event as { sync?: { finishedAt?: string | null } } | undefined;
  const occurredAt = stored.occurredAt as Timestamp | null | undefined;
  return {
    eventId,
    actionId,
    source: String(stored.source ?? 'unknown'),
    type: String(stored.type ?? ''),
    connectorId: (stored.connectorId as string | null | undefined) ?? null,
    connectorName: (stored.connectorName as string | null | undefined) ?? null,
    syncId: (stored.syncId as string | null | undefined) ?? null,
    syncAt: event?.sync?.finishedAt ?? occurredAt?.toDate().toISOString() ?? null,
    runHref: action.runHref ?? null,
  };
}
