import { actionName, type ActionView, type EventView } from './audit-trail.js';

// How the CLI tells an event's story: the timeline of `postload event ID` and the one-line
// summary of each action in `postload events`. Pure: views in, text out.

export interface TimelineEntry {
  at: Date | null;
  what: string;
  level: 'info' | 'ok' | 'error';
}

/** One event's story in time order: deliveries, each action's claims, requests, errors and result, the dbt run's outcome, the event's outcome. */
export function timelineOf(view: EventView): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  if (view.occurredAt) entries.push({ at: view.occurredAt, what: `${view.source} ${view.vendorEvent || view.type} happened`, level: 'info' });
  if (view.receivedAt) entries.push({ at: view.receivedAt, what: 'received by ingest and published', level: 'info' });
  for (const problem of view.notUnderstood) {
    entries.push({ at: view.receivedAt, what: `not understood (quarantined; the body is in the audit record, payloadJson or payloadText): ${problem}`, level: 'error' });
  }
  if (view.firstDeliveredAt) {
    const what = view.problems.length
      ? `delivered to the processor: ${view.type === 'refused message' ? 'refused, not signed by postload, nothing started' : 'not a valid SyncEvent'} (${view.lastError})`
      : `delivered to the processor (1st delivery; routes ${view.routes.join(', ') || 'none'})`;
    entries.push({ at: view.firstDeliveredAt, what, level: view.problems.length ? 'error' : 'info' });
  }
  if (view.stale) entries.push({ at: view.firstDeliveredAt, what: `stale, so nothing started and nothing alerted: ${view.stale}`, level: 'error' });
  if (view.deliveries > 1 && view.lastDeliveredAt) entries.push({ at: view.lastDeliveredAt, what: `delivered again (${deliveriesText(view)})`, level: 'info' });
  for (const action of view.actions) entries.push(...actionEntries(action));
  if (view.processedAt) entries.push({ at: view.processedAt, what: `outcome: ${view.outcome}`, level: view.outcome === 'processed' ? 'ok' : 'error' });
  else entries.push({ at: null, what: `outcome so far: ${view.outcome}`, level: view.outcome === 'retrying' ? 'error' : 'info' });
  // Stable: entries at the same moment keep the order they were told in; undated ones go last.
  return entries.sort((a, b) => (a.at?.getTime() ?? Number.MAX_SAFE_INTEGER) - (b.at?.getTime() ?? Number.MAX_SAFE_INTEGER));
}

function deliveriesText(view: EventView): string {
  const all = `${view.deliveries} deliveries in all`;
  // More than one message: the event was published again (a replay, or a sender's retry
  // that ingest published before the first copy was processed).
  if (view.messages.length < 2) return all;
  return `${all}: ${view.messages.map((m) => `message ${m.messageId} ×${m.deliveries}`).join(', ')}`;
}

function actionEntries(action: ActionView): TimelineEntry[] {
  const name = actionName(action);
  const entries: TimelineEntry[] = [];
  if (action.firstAttemptAt) entries.push({ at: action.firstAttemptAt, what: `${name}: claimed`, level: 'info' });
  for (const request of action.requestLog) {
    const failed = request.error !== null || (request.status !== null && request.status >= 400);
    const answer = request.status ?? request.error ?? '?';
    entries.push({ at: request.at, what: `${name}: request → ${answer}${request.status !== null && request.error ? ` (${request.error})` : ''}`, level: failed ? 'error' : 'info' });
  }
  for (const error of action.errors) {
    entries.push({ at: error.at, what: `${name}: ${error.kind} error${error.attempt !== null ? ` (attempt ${error.attempt})` : ''}: ${error.message}`, level: 'error' });
  }
  const lastSeen = action.errors.at(-1)?.at ?? action.lastAttemptAt;
  switch (action.status) {
    case 'succeeded':
      entries.push({ at: action.completedAt, ...succeeded(action) });
      break;
    case 'failed':
      entries.push({ at: action.completedAt, what: `${name}: failed for good: ${action.lastError ?? 'no error recorded'}`, level: 'error' });
      break;
    case 'retry':
      entries.push({
        at: lastSeen,
        what: `${name}: left for the next delivery${action.notBefore ? `, not before ${action.notBefore.toISOString()} (the service asked to wait: Retry-After)` : ''}`,
        level: 'info',
      });
      break;
    case 'pending':
      entries.push({ at: action.lastAttemptAt, what: `${name}: being performed by a delivery${action.heldUntil ? ` (its claim holds until ${action.heldUntil.toISOString()})` : ''}`, level: 'info' });
      break;
    case 'waiting':
      entries.push({ at: action.lastAttemptAt, what: `${name}: waiting until the dbt jobs it reports are started or failed for good`, level: 'info' });
      break;
    default:
      // A state this CLI does not know yet (a newer processor): shown as stored, never hidden.
      entries.push({ at: action.completedAt ?? action.lastAttemptAt, what: `${name}: ${action.status}${action.lastError ? ` (${action.lastError})` : ''}`, level: 'info' });
  }
  if (action.uncertain && action.status !== 'succeeded' && action.status !== 'failed') {
    entries.push({
      at: action.lastAttemptAt,
      what: `${name}: an earlier attempt may have acted without its outcome being recorded; the next attempt ${action.kind === 'dbt' ? 'looks for a run it started before starting one' : 'checks first'}`,
      level: 'error',
    });
  }
  if (action.runOutcome) entries.push(...runEntries(action));
  return entries;
}

function succeeded(action: ActionView): Omit<TimelineEntry, 'at'> {
  const name = actionName(action);
  if (action.kind === 'dbt' && action.busy) return { what: `${name}: ${busyText(action.busy)}`, level: action.busy.outcome === 'capped' ? 'error' : 'ok' };
  if (action.kind === 'dbt') {
    const run = action.runId !== null ? ` run ${action.runId}${action.recovered ? ' (found already started, not started again)' : ''}${action.runHref ? ` ${action.runHref}` : ''}` : '';
    return { what: `${name}: started${run}`, level: 'ok' };
  }
  if (action.alreadyAlertedBy.length) return { what: `${name}: not sent: already alerted today by ${action.alreadyAlertedBy.join(', ')}`, level: 'info' };
  if (action.sent === false) return { what: `${name}: nothing to send (no notified type, nothing failed)`, level: 'info' };
  if (action.kind === 'alert') return { what: `${name}: sent (the delivery that reached MAX_DELIVERY_ATTEMPTS still had unfinished actions)`, level: 'ok' };
  return { what: `${name}: message sent`, level: 'ok' };
}

/** Why a run action started no run itself: covered by another event's batch, coalesced, skipped or capped. */
function busyText(busy: NonNullable<ActionView['busy']>): string {
  switch (busy.outcome) {
    case 'joined':
      return `not started by this event: covered by the run event ${busy.holder ?? '?'} starts or joins (postload event ${busy.holder ?? '?'})`;
    case 'capped':
      return `not started: run cap reached${busy.reason ? ` (${busy.reason})` : ''}`;
    default:
      return `not started: ${busy.outcome} ${busy.outcome === 'coalesced' ? 'into' : 'for'} run ${busy.runId ?? '?'}${busy.runStatus ? ` (${busy.runStatus})` : ''}`;
  }
}

/** What dbt Cloud reported about the run: started, then its final status. */
function runEntries(action: ActionView): TimelineEntry[] {
  const outcome = action.runOutcome!;
  const run = `${actionName(action)}: run ${action.runId ?? '?'}`;
  // dbt Cloud reports its runs in events of its own; the other kinds' outcomes come from the sweep (or an HTTP call's answer).
  const reported = outcome.eventId ? ` (dbt Cloud event ${outcome.eventId})` : '';
  const where = action.kind === 'dbt' ? ' in dbt Cloud' : '';
  const entries: TimelineEntry[] = [];
  if (outcome.startedAt) entries.push({ at: outcome.startedAt, what: `${run} running${where}`, level: 'info' });
  if (outcome.status === 'running') {
    if (!outcome.startedAt) entries.push({ at: outcome.recordedAt, what: `${run} running${where}${reported}`, level: 'info' });
    return entries;
  }
  const took = outcome.durationSeconds !== null ? ` after ${outcome.durationSeconds} s` : '';
  const why = outcome.errorMessage ? `: ${outcome.errorMessage}` : '';
  entries.push({ at: outcome.finishedAt ?? outcome.recordedAt, what: `${run} ${outcome.status}${took}${why}${reported}`, level: outcome.status === 'succeeded' ? 'ok' : 'error' });
  return entries;
}

/** One action in a line, for the `events` table: what it is, its state and what matters about it. */
export function actionSummary(action: ActionView): string {
  const details: string[] = [];
  if (action.runId !== null) details.push(`run ${action.runId}${action.runOutcome ? ` ${action.runOutcome.status}` : ''}`);
  if (action.busy?.outcome === 'joined') details.push(`covered by ${action.busy.holder?.slice(0, 8) ?? '?'}`);
  else if (action.busy?.outcome === 'capped') details.push('capped');
  else if (action.busy) details.push(`${action.busy.outcome} → run ${action.busy.runId ?? '?'}`);
  if (action.alreadyAlertedBy.length) details.push('already alerted today');
  else if (action.sent === false) details.push('nothing to send');
  if (action.status === 'retry' && action.notBefore) details.push(`not before ${action.notBefore.toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
  if (action.uncertain && action.status !== 'succeeded' && action.status !== 'failed') details.push('uncertain');
  return `${actionName(action)} ${action.status}${details.length ? ` (${details.join(', ')})` : ''}`;
}
