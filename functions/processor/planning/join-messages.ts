import type { JoinSlack } from '../../generated/routing-config.schema.js';
import { escape, header, mrkdwnLink, section, truncate, vendorName, type LinkPolicy, type SlackMessage } from '../clients/slack-message.js';
import type { RunId } from '../targets/run-target.js';
import type { JoinFiring, UpstreamFailure } from './join-state.js';

/** What a run action the event did not start came to (orchestration's BusyNote, as messages read it). */
export type BusyLineNote =
  | { outcome: 'joined'; holder: string; closesAt: string }
  | { outcome: 'coalesced' | 'skipped' | 'deferred'; runId: RunId; runStatus: string }
  | { outcome: 'capped'; reason: string; until: string };

/** What the join's run action came to, for the firing message. */
export interface JoinRunReport {
  /** "dbt Cloud job 123". */
  label: string;
  outcome: 'triggered' | 'joined' | 'coalesced' | 'skipped' | 'deferred' | 'capped' | 'failed';
  runId?: RunId;
  href?: string | null;
  error?: string;
  busy?: BusyLineNote;
}

const SECTION_LIMIT = 3000;

/** The join messages sent when a join's `slack.notify` is not given. */
export const DEFAULT_JOIN_NOTIFY: NonNullable<JoinSlack['notify']> = ['fired', 'waiting'];

/** "finance mart: all 3 upstreams in, dbt job 70403103936004 started (run 4711)", then one line per upstream with its time. */
export function joinFiredMessage(joinName: string, firing: JoinFiring, run: JoinRunReport, links: LinkPolicy): SlackMessage {
  const upstreams = Object.entries(firing.upstreams);
  const firedAt = new Date(firing.firedAt);
  const did = runPhrase(run);
  const headline = `${joinName}: all ${upstreams.length} upstream${upstreams.length === 1 ? '' : 's'} in, ${did}`;
  const lines = upstreams.map(
    ([name, s]) => `• ${name} (${vendorName(s.source)}, ${s.connector}) succeeded at ${clock(s.occurredAt, firedAt)}`,
  );
  const linked = run.runId !== undefined ? escapeAround(runPhrase(run, LINK), LINK, mrkdwnLink(run.href, `run ${run.runId}`, links.dbtCloud)) : escape(did);
  return {
    text: truncate(escape(`${headline}: ${upstreams.map(([name, s]) => `${name} at ${clock(s.occurredAt, firedAt)}`).join(', ')}`), SECTION_LIMIT),
    blocks: [
      header(`:link: ${joinName}: all upstreams in`),
      section(`${escape(`${joinName}: round ${firing.round}, `)}${linked}\n${escape(lines.join('\n'))}`),
      context(`postload join \`${escape(joinName)}\` · completed by event \`${firing.eventId}\` at ${clock(firing.firedAt, firedAt)}`),
    ],
  };
}

/** "finance mart is waiting: billing (Airbyte) failed at 09:40 UTC — connection refused". */
export function joinWaitingLine(joinName: string, upstream: string, failure: UpstreamFailure, now: Date): string {
  const reason = failure.message ? ` — ${firstLine(failure.message)}` : '';
  return `${joinName} is waiting: ${upstream} (${vendorName(failure.source)}) failed at ${clock(failure.occurredAt, now)}${reason}`;
}

/** The alert for the first failure of an upstream's streak. */
export function joinWaitingMessage(joinName: string, upstream: string, failure: UpstreamFailure, now: Date): SlackMessage {
  const line = joinWaitingLine(joinName, upstream, failure, now);
  return {
    text: truncate(escape(line), SECTION_LIMIT),
    blocks: [
      section(`:hourglass_flowing_sand: ${escape(line)}`),
      context(`postload join \`${escape(joinName)}\` keeps its other upstreams and starts when ${escape(upstream)} succeeds again · event \`${failure.eventId}\``),
    ],
  };
}

/**
 * The line that says which run covers a load the event did not start a run for, or why
 * none started: "dbt Cloud job 123: coalesced into run 456 (queued), which will read this
 * load's data"; "…: covered by the run event 1a2b3c4d starts or joins (its batch closed at
 * 09:41:05 UTC)"; "…: skipped, run 456 is running"; "…: not started, run cap: …".
 */
export function busyLine(label: string, busy: BusyLineNote, now: Date): string {
  switch (busy.outcome) {
    case 'joined':
      return `${label}: covered by the run event ${busy.holder.slice(0, 8)} starts or joins for the loads of this moment (its batch closed at ${clockSeconds(busy.closesAt, now)}), which will read this load's data`;
    case 'coalesced':
      return `${label}: coalesced into run ${busy.runId} (${busy.runStatus}), which will read this load's data`;
    case 'skipped':
      return `${label}: skipped, run ${busy.runId} is ${busy.runStatus}`;
    case 'deferred':
      return `${label}: deferred, run ${busy.runId} is ${busy.runStatus}; one run starts for this load and the others waiting when it ends`;
    case 'capped':
      return `${label}: not started, run cap reached (${busy.reason}); the next run may start after ${clockSeconds(busy.until, now)}`;
  }
}

/** HH:MM:SS UTC, with the date when it is not the reference's day. */
function clockSeconds(iso: string, reference: Date): string {
  const at = new Date(iso);
  const time = `${at.toISOString().slice(11, 19)} UTC`;
  return at.toISOString().slice(0, 10) === reference.toISOString().slice(0, 10) ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}

/** HH:MM UTC, with the date when it is not the reference's day. */
export function clock(iso: string, reference: Date): string {
  const at = new Date(iso);
  const time = `${at.toISOString().slice(11, 16)} UTC`;
  return at.toISOString().slice(0, 10) === reference.toISOString().slice(0, 10) ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}

function runPhrase(run: JoinRunReport, runText = run.runId !== undefined ? `run ${run.runId}` : 'a run'): string {
  switch (run.outcome) {
    case 'triggered':
      return `${run.label} started (${runText})`;
    case 'coalesced':
      return `${run.label} coalesced into ${runText}, not started yet`;
    case 'skipped':
      return `${run.label} skipped: ${runText} is busy`;
    case 'deferred':
      return `${run.label} deferred: ${runText} is running, one run starts when it ends`;
    case 'joined':
      return run.busy?.outcome === 'joined' ? `${run.label}: covered by the run event ${run.busy.holder.slice(0, 8)} starts or joins` : `${run.label}: covered by another load's run`;
    case 'capped':
      return `${run.label} not started: run cap reached${run.busy?.outcome === 'capped' ? ` (${run.busy.reason})` : ''}`;
    default:
      return `${run.label} could not be started: ${run.error ?? 'failed'}`;
  }
}

const LINK = '\u0000link\u0000';

/** `text` escaped, with `placeholder` (which it contains once) replaced by `markup` as it is. */
function escapeAround(text: string, placeholder: string, markup: string): string {
  return text.split(placeholder).map(escape).join(markup);
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return truncate(line, 300);
}

function context(text: string): Record<string, unknown> {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}
