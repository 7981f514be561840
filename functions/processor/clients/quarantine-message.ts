import type { SyncEvent } from '../../shared/sync-event.js';
import { escape, header, mrkdwn, section, truncate, vendorName, type SlackMessage } from './slack-message.js';

const SHOWN_PROBLEMS = 10;

/**
 * The alert about a quarantined event: an authenticated webhook postload could not
 * interpret. It names what was not understood (each problem's code, field and message,
 * and the vendor's event name), says that nothing was lost or started, and where to look.
 * `alertCodes` are the problems this event is the first to report today.
 */
export function renderQuarantineAlert(event: SyncEvent, alertCodes: string[]): SlackMessage {
  const vendor = vendorName(event.source);
  const named = event.vendorEvent !== 'unknown' ? ` (${event.vendorEvent})` : '';
  const a = vendor === 'Airbyte' ? 'an' : 'a';
  const headline = `:warning: postload could not interpret ${a} ${vendor} webhook${named}`;
  const problems = (event.quarantine?.problems ?? []).slice(0, SHOWN_PROBLEMS);
  const lines = problems.map((p) => `• \`${escape(p.code)}\`${p.pointer ? ` at \`${escape(p.pointer)}\`` : ''}: ${escape(p.message)}`);
  const more = (event.quarantine?.problems.length ?? 0) - problems.length;
  if (more > 0) lines.push(`• … and ${more} more`);

  return {
    text: truncate(
      escape(`postload could not interpret ${a} ${vendor} webhook${named}: ${problems.map((p) => `${p.code}${p.pointer ? ` at ${p.pointer}` : ''}: ${p.message}`).join('; ') || 'no problem named'} (event ${event.id})`),
      3000,
    ),
    blocks: [
      header(headline),
      section(
        `The webhook was authenticated, accepted (202) and published as a \`quarantined\` SyncEvent with its payload; postload recorded it and started nothing. What it did not understand:\n${lines.join('\n') || '• no problem was named'}`,
      ),
      {
        type: 'section',
        fields: [
          mrkdwn(truncate(`*Source*\n${vendor}`, 2000)),
          mrkdwn(truncate(`*Vendor event*\n${escape(event.vendorEvent)}`, 2000)),
          mrkdwn(truncate(`*Received*\n${escape(event.receivedAt)}`, 2000)),
        ],
      },
      section(`*Where to look*\n\`postload event ${event.id}\` shows what was not understood; the body as received is in its audit record (\`payloadJson\` or \`payloadText\`).`),
      {
        type: 'context',
        elements: [
          mrkdwn(
            truncate(
              `Alerted once per UTC day for each ${vendor} ${escape(event.vendorEvent)} problem (${alertCodes.map((c) => `\`${escape(c)}\``).join(', ')}); later ones are recorded without an alert: \`postload events --type quarantined --source ${event.source}\``,
              3000,
            ),
          ),
        ],
      },
    ],
  };
}
