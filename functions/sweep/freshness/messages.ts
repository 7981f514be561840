import { codeBlock, escape, header, mrkdwn, section, truncate, vendorName, type SlackMessage } from '../../processor/clients/slack-message.js';
import { describeExpectation } from './expectation.js';
import { formatSpan } from './duration.js';
import type { FreshnessRecord } from './record.js';
import type { Notice } from './state-machine.js';

// The Slack messages of freshness incidents: one alert when a connector becomes overdue
// or failing, a reminder every `realert`, one recovery (or a "closed" note). Every text a
// vendor controls (names, errors) is escaped; everything here goes through the shared
// Slack message helpers.

/** A join that cannot fire because this connector has not delivered. */
export interface BlockedJoin {
  join: string;
  upstream: string;
  jobId: string;
  /** Since when the join has been waiting for this upstream (its last firing, or null if it never fired). */
  waitingSince: number | null;
}

/** What the dbt jobs routed to this connector's successes did since the sync that ended the incident. */
export interface RoutedJobOutcome {
  jobId: string;
  /** e.g. "run 70000012 started", "not started yet", "coalesced into run 70000011". */
  outcome: string;
}

export interface NoticeContext {
  record: FreshnessRecord;
  /** dbt jobs a successful sync of this connector starts (its routes). */
  routedJobs: string[];
  blockedJoins: BlockedJoin[];
  /** For a recovery: the routed jobs' outcome for the recovering sync (empty: unknown). */
  jobsSince: RoutedJobOutcome[];
  /** How to name the connector on the command line: `fivetran:abc`. */
  cliRef: string;
  nowMs: number;
}

const SECTION_LIMIT = 3000;

export function renderNotice(notice: Notice, ctx: NoticeContext): SlackMessage {
  const r = ctx.record;
  const name = `${vendorName(r.source)} ${r.connectorName ?? r.connectorId}`;
  switch (notice.kind) {
    case 'alert':
    case 'reminder': {
      const failing = notice.incident.state === 'failing';
      const title =
        notice.kind === 'alert'
          ? `${failing ? ':red_circle:' : ':rotating_light:'} ${name} is ${failing ? 'failing' : 'overdue'}`
          : `:hourglass: ${name} is still ${failing ? 'failing' : 'overdue'} (reminder ${notice.number})`;
      const blocks = [header(title), section(statusLines(r, ctx.nowMs)), ...(failing && r.lastError ? [section(`*Latest error*\n${codeBlock(r.lastError, 1500)}`)] : [])];
      const downstream = downstreamLines(ctx);
      if (downstream) blocks.push(section(downstream));
      blocks.push(context(`postload freshness · incident \`${escape(r.incident?.id ?? '')}\` · snooze: \`npx postload freshness pause ${escape(ctx.cliRef)} --for 1d\``));
      return { text: plain(`${title.replace(/^:[a-z_]+: /, '')}: ${r.why}`), blocks };
    }
    case 'recovery': {
      const title = `:white_check_mark: ${name} recovered`;
      const missed = notice.missedSyncs === 1 ? '1 expected sync was missed' : `${notice.missedSyncs} expected syncs were missed`;
      const lines = [
        `Fresh again: a successful sync at ${iso(notice.recoveredAt)}, after being overdue for *${formatSpan(notice.overdueForMs)}* (since ${iso(notice.incident.openedAt)}); ${missed}.`,
        jobsLine(ctx),
      ];
      return {
        text: plain(`${name} recovered after ${formatSpan(notice.overdueForMs)} overdue; ${missed}`),
        blocks: [header(title), section(lines.join('\n')), context(`postload freshness · incident \`${escape(r.incident?.id ?? notice.key)}\``)],
      };
    }
    case 'closed': {
      const title = `:information_source: ${name}: freshness incident closed`;
      return {
        text: plain(`${name}: freshness incident closed, ${notice.reason}`),
        blocks: [header(title), section(`No longer watched as overdue: ${escape(notice.reason)}.`), context(`postload freshness · opened ${iso(notice.incident.openedAt)}`)],
      };
    }
  }
}

function statusLines(r: FreshnessRecord, nowMs: number): string {
  const last = r.lastSuccessAt === null ? 'none seen yet' : `${iso(r.lastSuccessAt)} (${formatSpan(nowMs - r.lastSuccessAt)} ago)`;
  return truncate(
    [
      `*Last successful sync* ${last}`,
      `*Expected by* ${r.expectedBy === null ? '—' : iso(r.expectedBy)} · *overdue since* ${r.overdueAt === null ? '—' : iso(r.overdueAt)}`,
      r.failuresSinceSuccess > 0 ? `*Failed syncs since* ${r.failuresSinceSuccess}` : '',
      `*Expectation* ${escape(describeExpectation(r.expectation))} — ${escape(r.expectation.detail)}`,
    ]
      .filter(Boolean)
      .join('\n'),
    SECTION_LIMIT,
  );
}

function downstreamLines(ctx: NoticeContext): string | undefined {
  const lines = ctx.blockedJoins.map(
    (j) =>
      `• Join *${escape(j.join)}* is waiting on its upstream *${escape(j.upstream)}* (this connector)${j.waitingSince === null ? '' : ` since ${iso(j.waitingSince)}`}: ${escape(j.jobId)} is blocked until it delivers.`,
  );
  if (ctx.routedJobs.length) lines.push(`• Routed ${ctx.routedJobs.map(escape).join(', ')} will not run until a successful sync arrives.`);
  return lines.length ? truncate(`*Downstream*\n${lines.join('\n')}`, SECTION_LIMIT) : undefined;
}

function jobsLine(ctx: NoticeContext): string {
  if (!ctx.routedJobs.length) return 'No job is routed to this connector.';
  if (!ctx.jobsSince.length) return `Routed ${ctx.routedJobs.map(escape).join(', ')}: no run recorded for this sync yet.`;
  return ctx.jobsSince.map((j) => `• ${escape(j.jobId)}: ${escape(j.outcome)}`).join('\n');
}

function context(text: string): Record<string, unknown> {
  return { type: 'context', elements: [mrkdwn(text)] };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The notification fallback: read as mrkdwn too, so escaped. */
function plain(text: string): string {
  return truncate(escape(text), 3000);
}
