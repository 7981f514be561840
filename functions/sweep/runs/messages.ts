import { codeBlock, escape, header, mrkdwn, mrkdwnLink, section, truncate, vendorName, type SlackMessage } from '../../processor/clients/slack-message.js';
import type { FollowedRun } from '../../processor/store/followed-run.js';

const WORDS: Record<string, string> = { failed: 'failed', cancelled: 'was cancelled', unknown: 'cannot be followed' };

/**
 * The alert for a run postload started that did not succeed, naming the load that caused
 * it (the dbt Cloud loop's alert, for the kinds the sweep follows). Every text a vendor or
 * a target controls is escaped; links only to the origins given (the target's console).
 */
export function renderRunFailure(record: FollowedRun, linkOrigins: readonly string[]): SlackMessage {
  const outcome = record.outcome!;
  const origin = record.origin;
  const connector = origin.connectorName ?? origin.connectorId ?? 'unknown connector';
  const what = `${record.label} ${WORDS[outcome.status] ?? outcome.status}`;
  const load = `${vendorName(origin.source)} ${origin.type} for ${connector}${origin.syncId ? ` (sync ${origin.syncId})` : ''}`;
  const run = record.runId ? mrkdwnLink(record.href, `run ${record.runId}`, linkOrigins) : 'its run';
  const lines = [
    `*${escape(what)}*: ${run}${outcome.targetStatus ? ` (${escape(outcome.targetStatus)})` : ''}${outcome.durationSeconds !== null ? ` after ${outcome.durationSeconds} s` : ''}.`,
    `Started for the load of ${escape(load)}, event \`${escape(origin.eventId)}\`${record.covers.length ? `, and ${record.covers.length} more load${record.covers.length === 1 ? '' : 's'} it covered` : ''}.`,
  ];
  return {
    text: truncate(escape(`${what}: started for ${load} (event ${origin.eventId})${outcome.errorMessage ? `: ${outcome.errorMessage}` : ''}`), 3000),
    blocks: [
      header(`:x: ${truncate(what, 140)}`),
      section(lines.join('\n')),
      ...(outcome.errorMessage ? [section(codeBlock(outcome.errorMessage, 2000))] : []),
      { type: 'context', elements: [mrkdwn(`\`postload event ${escape(origin.eventId)}\` tells the whole story.`)] },
    ],
  };
}
