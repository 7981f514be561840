import type { JoinSlack } from '../../generated/routing-config.schema.js';
import { escape, header, mrkdwnLink, section, truncate, vendorName, type LinkPolicy, type SlackMessage } from '../clients/slack-message.js';
import type { JoinFiring, UpstreamFailure } from './join-state.js';
import type { RunStatus, TrackedRun } from './job-state.js';

/** What the join's job action came to, for the firing message. */
export interface JoinRunReport {
  jobId: string;
  outcome: 'triggered' | 'coalesced' | 'skipped' | 'failed';
  runId?: number;
  href?: string | null;
  error?: string;
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

/** "dbt job 123: coalesced into run 456 (queued since 09:41 UTC), which will read this load's data". */
export function coalescedLine(jobId: string, run: Pick<TrackedRun, 'id' | 'status' | 'triggeredAt'>, now: Date): string {
  return `dbt job ${jobId}: coalesced into run ${run.id} (${run.status} since ${clock(run.triggeredAt, now)}), which will read this load's data`;
}

/** "dbt job 123: skipped, run 456 is running". */
export function skippedLine(jobId: string, runId: number, status: RunStatus): string {
  return `dbt job ${jobId}: skipped, run ${runId} is ${status}`;
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
      return `dbt job ${run.jobId} started (${runText})`;
    case 'coalesced':
      return `dbt job ${run.jobId} coalesced into ${runText}, not started yet`;
    case 'skipped':
      return `dbt job ${run.jobId} skipped: ${runText} is busy`;
    default:
      return `dbt job ${run.jobId} could not be started: ${run.error ?? 'failed'}`;
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
