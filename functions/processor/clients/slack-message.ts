import type { SchemaProblem } from '../../shared/schemas.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { clip, cutHead } from '../../shared/text-cut.js';
import type { RunOrigin } from '../store/run-origin.js';

/** A Slack incoming-webhook body: Block Kit blocks and the plain `text` fallback for notifications. */
export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/** What happened to one run target (a dbt Cloud job) for the event, as the message reports it. */
export interface DbtJobReport {
  jobId: string;
  /** How the target is named: "dbt Cloud job 123". */
  label: string;
  /** The target's kind (dbt-cloud when absent). */
  kind?: string;
  state: 'started' | 'failed' | 'retrying' | 'in-progress' | 'joined' | 'coalesced' | 'skipped' | 'deferred' | 'capped';
  runId?: number | string;
  href?: string | null;
  error?: string;
  /** For joined, coalesced, skipped and capped: the line that says which run covers the load, or why none started (issue 26). */
  note?: string;
}

const HEADER_LIMIT = 150;
const SECTION_LIMIT = 3000;
const FIELD_LIMIT = 2000;

const TITLES: Partial<Record<SyncEvent['type'], { emoji: string; title: string }>> = {
  'sync.failed': { emoji: ':red_circle:', title: 'sync failed' },
  'sync.succeeded': { emoji: ':large_green_circle:', title: 'sync succeeded' },
  'sync.rescheduled': { emoji: ':hourglass_flowing_sand:', title: 'sync rescheduled' },
  'schema.changed': { emoji: ':large_yellow_circle:', title: 'schema changed' },
  'transformation.failed': { emoji: ':red_circle:', title: 'transformation failed' },
  'transformation.cancelled': { emoji: ':white_circle:', title: 'transformation cancelled' },
  'transformation.succeeded': { emoji: ':large_green_circle:', title: 'transformation succeeded' },
  'transformation.started': { emoji: ':arrow_forward:', title: 'transformation started' },
  'connection.failed': { emoji: ':red_circle:', title: 'connection test failed' },
  'connector.disabled': { emoji: ':no_entry:', title: 'connection disabled' },
  'connector.warning': { emoji: ':warning:', title: 'connection warning' },
  test: { emoji: ':white_check_mark:', title: 'test notification' },
};

/**
 * The message about one SyncEvent: what happened to which connector and destination,
 * the vendor's reason and link where the event has them, volumes on success, and what
 * postload did about it (dbt runs with their links, or why none started). `alert` marks
 * a message sent only because postload itself could not do what the routing asked.
 * `origin` is the load that started a dbt Cloud run (issue 13's loop): the message names it.
 */
export function renderEventMessage(event: SyncEvent, dbt: DbtJobReport[], { links, alert = false, origin }: { links: LinkPolicy; alert?: boolean; origin?: RunOrigin }): SlackMessage {
  const vendor = vendorName(event.source);
  const connector = event.connector.name ?? event.connector.id ?? 'unknown connector';
  const known = TITLES[event.type];
  const headline = alert
    ? `:warning: postload could not start dbt Cloud jobs for ${vendor} ${connector}`
    : `${known?.emoji ?? ':information_source:'} ${vendor} ${known?.title ?? event.type}: ${connector}`;

  const blocks: Array<Record<string, unknown>> = [header(headline)];
  blocks.push({ type: 'section', fields: detailFields(event).map((text) => mrkdwn(truncate(text, FIELD_LIMIT))) });

  const reason = event.error?.message;
  if (reason) {
    const kind = [event.error?.type, event.error?.origin && `origin: ${event.error.origin}`].filter(Boolean).join(', ');
    blocks.push(section(`*Reason*${kind ? ` (${escape(kind)})` : ''}\n${codeBlock(reason, SECTION_LIMIT - 40)}`));
  } else if (event.summary && event.type !== 'sync.succeeded') {
    blocks.push(section(escape(event.summary)));
  }

  const volumes = volumeLine(event);
  if (volumes) blocks.push(section(volumes));

  if (origin) {
    const run = allowedUrl(origin.runHref, links.dbtCloud);
    blocks.push(section(`*Started by postload* for ${escape(loadLine(origin))}${run ? ` · <${run}|run ${escape(event.sync.id ?? '')}>` : ''}`));
  } else blocks.push(section(`*What postload did*\n${postloadDid(event, dbt, links)}`));

  const link = vendorLink(event, links);
  if (link) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: `Open in ${vendor}` }, url: link }],
    });
  }
  blocks.push({
    type: 'context',
    elements: [mrkdwn(`postload · event \`${event.id}\` · ${escape(event.vendorEvent)}${event.sync.id ? ` · sync \`${escape(event.sync.id)}\`` : ''}`)],
  });

  return { text: fallbackText(event, headline, dbt, origin), blocks };
}

/** "Fivetran sync.succeeded of orders_pg (assimilate_seem), sync b470…, at 2026-…": the load behind a run, without its event id (the audit record links them). */
function loadLine(origin: RunOrigin): string {
  const connector = origin.connectorName ?? origin.connectorId ?? 'unknown connector';
  return (
    `${vendorName(origin.source)} ${origin.type} of ${connector}` +
    (origin.connectorId && origin.connectorId !== connector ? ` (${origin.connectorId})` : '') +
    (origin.syncId ? `, sync ${origin.syncId}` : '') +
    (origin.syncAt ? `, at ${origin.syncAt}` : '')
  );
}

/** The alert for a Pub/Sub message that is not a valid SyncEvent (acknowledged, never processed). */
export function renderInvalidMessage(messageId: string, problems: SchemaProblem[]): SlackMessage {
  const lines = problems.slice(0, 10).map((p) => `• \`${escape(p.field || '(root)')}\` ${escape(p.message)}`);
  const headline = ':warning: postload dropped a message that is not a valid SyncEvent';
  return {
    text: truncate(`postload dropped Pub/Sub message ${messageId}: not a valid SyncEvent (${problems.map((p) => `${p.field || '(root)'} ${p.message}`).join('; ')})`, 3000),
    blocks: [
      header(headline),
      section(truncate(`Pub/Sub message \`${escape(messageId)}\` was acknowledged without action:\n${lines.join('\n')}`, SECTION_LIMIT)),
      { type: 'context', elements: [mrkdwn('The message is kept in the audit trail (Firestore) under its message id.')] },
    ],
  };
}

/**
 * The alert for a Pub/Sub message postload did not sign (acknowledged, never acted on):
 * someone or something other than postload's publishers can publish to the topic. What the
 * message claims to be comes from its attributes, which the publisher wrote: shown escaped,
 * and as a claim.
 */
export function renderRefusedMessage(messageId: string, problem: string, reason: string, attributes: Readonly<Record<string, string>>): SlackMessage {
  const claims = ['eventId', 'source', 'type', 'connectorId']
    .filter((key) => attributes[key])
    .map((key) => `${key} \`${escape(truncate(attributes[key]!, 200))}\``)
    .join(', ');
  const headline = ':rotating_light: postload refused a Pub/Sub message it did not sign';
  return {
    text: truncate(escape(`postload refused a Pub/Sub message it did not sign: ${messageId} (${problem}: ${reason}). Nothing was started.`), 3000),
    blocks: [
      header(headline),
      section(
        truncate(
          `Pub/Sub message \`${escape(messageId)}\` on the SyncEvent topic was not signed by postload (\`${escape(problem)}\`: ${escape(reason)}). It was recorded and acknowledged; no dbt job was started and nothing else was sent for it.${claims ? `\nIt claims to be: ${claims}.` : ''}`,
          SECTION_LIMIT,
        ),
      ),
      section(
        '*What to do*\nSomething other than postload can publish to the topic. Check who holds `pubsub.topics.publish` on it (the topic\'s and the project\'s IAM policies) and the audit logs. Refused messages are recorded under `refused-<message id>` in the audit collection; this alert is sent once a day per problem.',
      ),
    ],
  };
}

/** One action that is still not done when the event is about to be dead-lettered. */
export interface UnfinishedAction {
  actionId: string;
  target: string;
  lastError: string | null;
}

/**
 * The last word on an event whose delivery is the last before Pub/Sub dead-letters it:
 * which actions never finished and their last error, so nobody waits for a run that will
 * not come.
 */
export function renderFinalAlert(event: SyncEvent, unfinished: UnfinishedAction[], deliveries: number): SlackMessage {
  const connector = event.connector.name ?? event.connector.id ?? 'unknown connector';
  const headline = `:rotating_light: postload gives up on ${vendorName(event.source)} ${event.type} for ${connector}`;
  const lines = unfinished.map((a) => `• \`${escape(a.actionId)}\` (${escape(a.target)}): ${escape(a.lastError ?? 'not done')}`);
  return {
    text: truncate(escape(`postload gives up on event ${event.id} (${event.type} for ${connector}) after ${deliveries} deliveries: ${unfinished.map((a) => `${a.actionId}: ${a.lastError ?? 'not done'}`).join('; ')}`), 3000),
    blocks: [
      header(headline),
      section(truncate(`Event \`${event.id}\` was delivered ${deliveries} times and these actions never finished:\n${lines.join('\n')}`, SECTION_LIMIT)),
      { type: 'context', elements: [mrkdwn('The message goes to the dead-letter topic now; replay it from there once the cause is fixed (docs/operations.md: Replay dead letters).')] },
    ],
  };
}

/** The alert for an event whose audit record cannot be written at all: it is not acknowledged silently. */
export function renderUnrecordedAlert(event: SyncEvent, reason: string): SlackMessage {
  const connector = event.connector.name ?? event.connector.id ?? 'unknown connector';
  const headline = `:rotating_light: postload could not record ${vendorName(event.source)} ${event.type} for ${connector}`;
  return {
    text: truncate(escape(`postload could not record event ${event.id} (${event.type} for ${connector}) and did not act on it: ${reason}`), 3000),
    blocks: [
      header(headline),
      section(`Event \`${event.id}\` could not be written to Firestore, so no dbt job was started for it:\n${codeBlock(reason, SECTION_LIMIT - 100)}`),
      { type: 'context', elements: [mrkdwn('The message is in Pub/Sub; once the cause is fixed, republish it (docs/operations.md: Replay dead letters).')] },
    ],
  };
}

/**
 * Said through the fallback webhook when the Slack app cannot post at all (Slack's
 * permanent errors): why, what to fix, and the message it could not post (postload's own
 * blocks, already safe; its buttons left out: a webhook message has no app behind it).
 */
export function renderAppFailure(channel: string, error: string, message: SlackMessage): SlackMessage {
  const headline = `:rotating_light: postload's Slack app cannot post to channel ${channel}`;
  const kept = message.blocks.filter((block) => block.type !== 'actions').slice(0, 40);
  return {
    text: truncate(escape(`postload's Slack app cannot post to channel ${channel}: ${error}`), 3000),
    blocks: [
      header(headline),
      section(`Slack refused it for good, so postload will not retry:\n${codeBlock(error, SECTION_LIMIT - 100)}`),
      { type: 'context', elements: [mrkdwn('The message it could not post follows. `postload check` tests the token, the channel membership and the scopes (docs/slack-app.md).')] },
      { type: 'divider' },
      ...kept,
    ],
  };
}

function detailFields(event: SyncEvent): string[] {
  const fields = [
    `*Connector*\n${escape(event.connector.name ?? '—')}${event.connector.id ? ` (\`${escape(event.connector.id)}\`)` : ''}${event.connector.type ? `\n${escape(event.connector.type)}` : ''}`,
    `*Destination*\n${escape(event.destination.name ?? event.destination.id ?? '—')}${event.destination.name && event.destination.id ? ` (\`${escape(event.destination.id)}\`)` : ''}`,
    `*Status*\n${escape(event.sync.vendorStatus ?? event.sync.status ?? event.type)}`,
    `*When*\n${escape(event.sync.finishedAt ?? event.occurredAt)}`,
  ];
  if (event.sync.rescheduledAt) fields.push(`*Rescheduled for*\n${escape(event.sync.rescheduledAt)}`);
  return fields;
}

function volumeLine(event: SyncEvent): string | undefined {
  const m = event.metrics;
  const parts: string[] = [];
  const records = m?.recordsCommitted ?? m?.recordsEmitted;
  if (typeof records === 'number') parts.push(`${records.toLocaleString('en-US')} records`);
  const bytes = m?.bytesCommitted ?? m?.bytesEmitted;
  if (typeof bytes === 'number') parts.push(formatBytes(bytes));
  if (typeof event.sync.durationSeconds === 'number') parts.push(`in ${formatDuration(event.sync.durationSeconds)}`);
  return parts.length ? `*Loaded* ${parts.join(', ')}` : undefined;
}

function postloadDid(event: SyncEvent, dbt: DbtJobReport[], links: LinkPolicy): string {
  if (event.type === 'test') return 'Recorded the test notification; a test never starts dbt Cloud jobs.';
  if (dbt.length === 0) return `Recorded the event; no dbt Cloud job is routed for ${escape(event.type)} on this connector.`;
  return dbt
    .map((job) => {
      switch (job.state) {
        case 'started':
          return `• Started ${job.label}: ${mrkdwnLink(job.href, `run ${job.runId}`, links.dbtCloud)}`;
        case 'failed':
          return `• :x: ${job.label} was not started: ${escape(job.error ?? 'failed')}`;
        case 'retrying':
          return `• ${job.label} not started yet, will retry: ${escape(job.error ?? 'temporary failure')}`;
        case 'joined':
        case 'coalesced':
        case 'skipped':
        case 'deferred':
        case 'capped':
          return `• ${escape(job.note ?? `${job.label}: ${job.state}`)}`;
        default:
          return `• ${job.label} is being started by another delivery of this event`;
      }
    })
    .join('\n');
}

/** "dbt jobs 21, 22" for dbt Cloud jobs (by id, as before issue 28), then the other targets by label. */
function jobNames(jobs: DbtJobReport[]): string {
  const dbt = jobs.filter((j) => !j.kind || j.kind === 'dbt-cloud').map((j) => j.jobId);
  return [dbt.length ? `dbt jobs ${dbt.join(', ')}` : '', ...jobs.filter((j) => j.kind && j.kind !== 'dbt-cloud').map((j) => j.label)].filter(Boolean).join(', ');
}

function fallbackText(event: SyncEvent, headline: string, dbt: DbtJobReport[], origin?: RunOrigin): string {
  const plain = headline.replace(/^:[a-z_]+: /, '');
  const reason = event.error?.message ? ` — ${event.error.message}` : '';
  const started = jobNames(dbt.filter((j) => j.state === 'started'));
  const failed = jobNames(dbt.filter((j) => j.state === 'failed' || j.state === 'capped'));
  const did = [started ? `started ${started}` : '', failed ? `could not start ${failed}` : '']
    .filter(Boolean)
    .join('; ');
  // The fallback is read as mrkdwn too (and drives notifications): escape it.
  const load = origin ? ` (started by postload for ${loadLine(origin)})` : '';
  return truncate(escape(`${plain}${reason}${did ? ` (${did})` : ''}${load}`), 3000);
}

/** The vendor's page for the event (its connection, else destination or workspace), when the vendor's own host serves it. */
function vendorLink(event: SyncEvent, links: LinkPolicy): string | undefined {
  const hosts = Object.hasOwn(links.vendors, event.source) ? links.vendors[event.source]! : [];
  for (const url of [event.connector.url, event.destination.url, event.workspace?.url]) {
    // A button's url is a JSON string, not mrkdwn: the plain URL, once it is allowed.
    if (allowedUrl(url, hosts)) return new URL(url!).href;
  }
  return undefined;
}

const VENDORS: Record<string, string> = { fivetran: 'Fivetran', airbyte: 'Airbyte', 'dbt-cloud': 'dbt Cloud' };

/** The vendor as people write it; a source added later shows as its id, never as another vendor. */
export function vendorName(source: string): string {
  return VENDORS[source] ?? source;
}

export function header(text: string): Record<string, unknown> {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, HEADER_LIMIT), emoji: true } };
}

export function section(text: string): Record<string, unknown> {
  return { type: 'section', text: mrkdwn(truncate(text, SECTION_LIMIT)) };
}

export function mrkdwn(text: string): Record<string, unknown> {
  return { type: 'mrkdwn', text };
}

// --- text a vendor (or anyone but postload) wrote, made safe for mrkdwn ------------------
//
// Slack reads `<...>` as a link, a mention (`<@U…>`, `<!channel>`) or a date, and `&`
// starts an entity, in every mrkdwn text: sections, fields, context and the notification
// fallback, code blocks included (https://api.slack.com/reference/surfaces/formatting#escaping).
// Every message postload builds (here, join and quarantine messages, freshness and Slack
// app messages) passes text it did not write through escape() or codeBlock(), and every
// link through mrkdwnLink() or allowedUrl() with the deployment's LinkPolicy.

/** Slack's three control characters escaped (`&`, `<`, `>`), so vendor text shows as written and never becomes a link or a mention. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The day's alert that a run target reached its run cap (issue 25 finding 6): which target,
 * which cap, until when, and that loads keep being recorded. Sent once per target per UTC
 * day, by the event that found the cap reached first.
 */
export function renderCapAlert(event: SyncEvent, label: string, cap: { reason: string; until: string }): SlackMessage {
  const headline = `:no_entry_sign: postload: ${label} reached its run cap`;
  const text = `${label} reached its run cap: ${cap.reason}. No run starts before ${cap.until}; every load is still recorded (\`postload events\`), and its data is read by the next run that starts. This alert is sent once a day per job.`;
  return {
    text: truncate(escape(`${headline.replace(/^:[a-z_]+: /, '')} — ${cap.reason}`), 3000),
    blocks: [header(headline), section(escape(text)), { type: 'context', elements: [mrkdwn(`first capped load: ${escape(vendorName(event.source))} ${escape(event.connector.name ?? event.connector.id ?? 'unknown connector')} · event \`${event.id}\``)] }],
  };
}

/**
 * Vendor text (an error message, a database error quoting a row) as a mrkdwn code block of
 * at most `max` characters: escaped like any mrkdwn, its own fences defused, and cut
 * before an entity it would split.
 */
export function codeBlock(text: string, max: number): string {
  const fence = '```';
  const body = escape(text.replace(/```/g, "'''"));
  const room = Math.max(1, max - 2 * fence.length);
  const cut = body.length <= room ? body : `${cutHead(body, room - 1).replace(/&[a-z]{0,3}$/, '')}…`;
  return `${fence}${cut}${fence}`;
}

/**
 * Where links in postload's Slack messages may point: a dbt Cloud run only to the
 * configured dbt Cloud origin, a vendor's page only to that vendor's own hosts. A link
 * anywhere else is shown as its label, unlinked: a vendor payload (or whoever holds its
 * credential) cannot plant a "Re-authenticate" link in the team's channel.
 */
export interface LinkPolicy {
  /** The origin of DBT_CLOUD_BASE_URL (scheme, host and port), when dbt Cloud is configured. */
  dbtCloud: string[];
  /** Per event source: origins, or https hosts whose subdomains count too. */
  vendors: Readonly<Record<string, readonly string[]>>;
}

/** The vendors' own hosts (https, subdomains included); SLACK_LINK_HOSTS adds a self-managed Airbyte's. */
export const VENDOR_LINK_HOSTS: Readonly<Record<string, readonly string[]>> = {
  fivetran: ['fivetran.com'],
  airbyte: ['airbyte.com'],
};

/** The policy for a deployment: its dbt Cloud origin, and extra origins (a self-managed Airbyte) allowed for every vendor link. */
export function linkPolicy(dbtCloudBaseUrl: string | undefined, extraOrigins: readonly string[] = []): LinkPolicy {
  const dbtCloud = dbtCloudBaseUrl ? [new URL(dbtCloudBaseUrl).origin] : [];
  const vendors: Record<string, readonly string[]> = { 'dbt-cloud': dbtCloud };
  for (const [source, hosts] of Object.entries(VENDOR_LINK_HOSTS)) vendors[source] = [...hosts, ...extraOrigins];
  return { dbtCloud, vendors };
}

/**
 * `url` when it may be linked (an http(s) URL whose origin is listed, or an https URL on a
 * listed host or a subdomain of it), made safe inside `<url|label>`: `|`, `<` and `>`
 * percent-encoded, `&` escaped. Otherwise undefined.
 */
export function allowedUrl(url: string | null | undefined, allowed: readonly string[]): string | undefined {
  if (typeof url !== 'string' || url.length > 3000) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username || parsed.password || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) return undefined;
  const host = parsed.hostname.toLowerCase();
  const ok = allowed.some((entry) =>
    entry.includes('://') ? parsed.origin === entry : parsed.protocol === 'https:' && (host === entry || host.endsWith(`.${entry}`)),
  );
  if (!ok) return undefined;
  return parsed.href.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/&/g, '&amp;');
}

/** `<url|label>` when `url` is allowed, else the label alone; the label escaped either way. */
export function mrkdwnLink(url: string | null | undefined, label: string, allowed: readonly string[]): string {
  const safe = allowedUrl(url, allowed);
  return safe ? `<${safe}|${escape(label)}>` : escape(label);
}

/** `text` within `max` characters, never cutting a surrogate pair in half (Slack refuses the JSON). */
export function truncate(text: string, max: number): string {
  return clip(text, max);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', rest || (!h && !m) ? `${rest}s` : ''].filter(Boolean).join(' ');
}

/**
 * An incident's message once it recovered (chat.update replaces it: its buttons go): what
 * failed, when, and the success that ended it; the details are in its thread.
 */
export function renderIncidentRecovered(event: SyncEvent, failedAt: string, failedEventId: string): SlackMessage {
  const vendor = vendorName(event.source);
  const connector = event.connector.name ?? event.connector.id ?? 'unknown connector';
  const what = event.type === 'transformation.succeeded' ? 'run' : 'sync';
  const headline = `:white_check_mark: ${vendor} ${connector} recovered`;
  const line = `${vendor} ${connector}: the ${what} failed at ${failedAt}, and succeeded again at ${event.sync.finishedAt ?? event.occurredAt}.`;
  return {
    text: truncate(escape(`${vendor} ${connector} recovered: ${line}`), SECTION_LIMIT),
    blocks: [
      header(truncate(headline, HEADER_LIMIT)),
      section(`${escape(line)} The failures and the recovery are in this thread.`),
      { type: 'context', elements: [mrkdwn(`postload · failed: event \`${escape(failedEventId)}\` · recovered: event \`${event.id}\``)] },
    ],
  };
}
