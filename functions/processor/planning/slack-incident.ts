import type { SyncEvent } from '../../shared/sync-event.js';

// A failure and its recovery as one Slack message (issue 31), for Slack app targets: the
// first failure of a connector or a dbt Cloud job is posted and opens an incident; further
// failures go into that message's thread; the next success updates the message in place
// (it now says it recovered, its buttons gone) and gives the details in the thread. The
// open incident is kept on the connector document, by channel, so any instance (any
// delivery) finds the thread: read with the audit record at no extra round trip, written
// with the outcomes' commit. Where a message goes is decided once, at its first claim
// (IncidentPlan), so a retry looks for it where it was posted.

/** The connector document's field holding its open incidents, by Slack channel. */
export const SLACK_INCIDENTS_FIELD = 'slackIncidents';

/** An open incident: the message that opened it. */
export interface SlackIncident {
  ts: string;
  /** The event whose failure opened it. */
  eventId: string;
  type: SyncEvent['type'];
  /** When that failure happened (the event's occurredAt). */
  occurredAt: string;
}

/**
 * Where an app message goes, decided once, when its action is first claimed, from the
 * connector document read in the same read, and kept on the action's record: every later
 * attempt posts (and looks for its message) in the same place, whatever happened to the
 * incident meanwhile. `closed` carries what the recovery message says about the failure.
 */
export type IncidentPlan =
  | { change: 'opened' }
  | { change: 'threaded'; ts: string }
  | { change: 'closed'; ts: string; failedAt: string; failedEventId: string };

/** The plan for an app message to `channel` about an event of this type, given the connector document as read. */
export function planIncident(type: SyncEvent['type'], connector: Record<string, unknown> | undefined, channel: string): IncidentPlan | undefined {
  const role = incidentRole(type);
  if (!role) return undefined;
  const open = openIncident(connector, channel);
  if (role === 'opens') return open ? { change: 'threaded', ts: open.ts } : { change: 'opened' };
  return open ? { change: 'closed', ts: open.ts, failedAt: open.occurredAt, failedEventId: open.eventId } : undefined;
}

/** What an app message did to its connector's incident: recorded on the action and written to the connector document. */
export interface IncidentChange {
  channel: string;
  /** The incident's message. */
  ts: string;
  change: 'opened' | 'threaded' | 'closed';
}

const OPENS: ReadonlySet<SyncEvent['type']> = new Set(['sync.failed', 'transformation.failed']);
const CLOSES: ReadonlySet<SyncEvent['type']> = new Set(['sync.succeeded', 'transformation.succeeded']);

/** A failure opens an incident (or joins the open one); a success closes it; other events leave it. */
export function incidentRole(type: SyncEvent['type']): 'opens' | 'closes' | undefined {
  return OPENS.has(type) ? 'opens' : CLOSES.has(type) ? 'closes' : undefined;
}

/** The incident open in `channel` on the connector document as read, if any. */
export function openIncident(connector: Record<string, unknown> | undefined, channel: string): SlackIncident | undefined {
  const incidents = connector?.[SLACK_INCIDENTS_FIELD];
  if (!incidents || typeof incidents !== 'object') return undefined;
  const incident = (incidents as Record<string, unknown>)[channel] as Partial<SlackIncident> | undefined;
  return incident && typeof incident.ts === 'string' && typeof incident.eventId === 'string' ? (incident as SlackIncident) : undefined;
}

/**
 * The connector document's fields after these changes (blind merges, field by field):
 * an opened incident is recorded, a closed one removed (`remove` is Firestore's delete
 * sentinel, passed in to keep this pure). A thread reply changes nothing.
 */
export function incidentMerge(changes: Array<IncidentChange & { incident: SlackIncident }>, remove: unknown): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  for (const { channel, change, incident } of changes) {
    if (change === 'opened') fields[channel] = incident;
    if (change === 'closed') fields[channel] = remove;
  }
  return Object.keys(fields).length ? { [SLACK_INCIDENTS_FIELD]: fields } : undefined;
}
