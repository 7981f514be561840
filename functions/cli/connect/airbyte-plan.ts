import { AIRBYTE_NOTIFICATION_TYPES, type AirbyteNotificationType, type AirbyteWebhookSlot, type AirbyteWorkspace } from '../../vendors/airbyte.js';
import { pointsAt, shownUrl } from './endpoints.js';
import type { Finding } from './report.js';

/**
 * The notification types connect points at postload by default: all six, which the ingest
 * function tells apart (syncs, schema changes, disabled connections and their warnings).
 * `success` and `failure` are the ones postload cannot do without (routes and alerts).
 */
export const AIRBYTE_TYPES: readonly AirbyteNotificationType[] = AIRBYTE_NOTIFICATION_TYPES;
export const AIRBYTE_REQUIRED_TYPES: readonly AirbyteNotificationType[] = ['success', 'failure'];

export interface AirbyteWanted {
  /** postload's /airbyte URL, without the token. */
  url: string;
  types: readonly AirbyteNotificationType[];
  /** --force: replace a URL that is not postload's. */
  force: boolean;
  newSecret: boolean;
}

export interface AirbyteObserved {
  workspace: AirbyteWorkspace;
  /** The newest enabled version of AIRBYTE_WEBHOOK_TOKEN's secret and its value; null when it has none. */
  token: { version: string; value: string } | null;
}

export type SlotAction =
  /** Already postload's URL with the current token, enabled. */
  | 'keep'
  /** Free, or postload's with another token or switched off: set. */
  | 'set'
  /** Another tool's URL, replaced because --force was given. */
  | 'take-over'
  /** Another tool's URL, and no --force: connect refuses and changes nothing. */
  | 'occupied';

export interface SlotPlan {
  type: AirbyteNotificationType;
  now: AirbyteWebhookSlot;
  action: SlotAction;
  /** Why, in words (never the token, never another tool's full URL). */
  why: string;
}

export interface AirbytePlan {
  token: { kind: 'generate'; why: string } | { kind: 'reuse'; version: string; value: string };
  slots: SlotPlan[];
}

export function tokenOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).searchParams.get('token');
  } catch {
    return null;
  }
}

/** postload's URL for a token: the only way Airbyte can authenticate (it cannot sign). */
export function urlWithToken(url: string, token: string): string {
  return `${url}?token=${encodeURIComponent(token)}`;
}

export function planAirbyte(observed: AirbyteObserved, wanted: AirbyteWanted): AirbytePlan {
  const token: AirbytePlan['token'] =
    wanted.newSecret || observed.token === null
      ? { kind: 'generate', why: wanted.newSecret ? 'asked for (--new-secret)' : 'the token secret has no enabled version' }
      : { kind: 'reuse', ...observed.token };
  const slots = wanted.types.map((type): SlotPlan => {
    const now = observed.workspace.webhooks[type];
    if (now.url === null) return { type, now, action: 'set', why: 'no webhook yet' };
    if (!pointsAt(now.url, wanted.url)) {
      const where = shownUrl(now.url, wanted.url);
      return wanted.force ? { type, now, action: 'take-over', why: `replaces ${where} (--force)` } : { type, now, action: 'occupied', why: `goes to ${where}, not postload` };
    }
    if (token.kind === 'generate') return { type, now, action: 'set', why: 'new token' };
    if (tokenOf(now.url) !== token.value) return { type, now, action: 'set', why: 'carries another token than the newest' };
    if (now.url !== urlWithToken(wanted.url, token.value)) return { type, now, action: 'set', why: 'postload\'s URL, written differently' };
    if (!now.enabled) return { type, now, action: 'set', why: 'switched off' };
    return { type, now, action: 'keep', why: 'postload\'s URL with the current token, on' };
  });
  return { token, slots };
}

/**
 * `connect --check` for one workspace: success and failure must go to postload, on, with a
 * token the ingest function accepts (any enabled version); any other type pointing at
 * postload must be on and carry such a token too.
 */
export function checkAirbyteWorkspace(workspace: AirbyteWorkspace, url: string, acceptedTokens: readonly string[]): Finding {
  const details: string[] = [];
  const fix = `postload connect airbyte --workspace ${workspace.workspaceId}`;
  const ours: string[] = [];
  for (const type of AIRBYTE_NOTIFICATION_TYPES) {
    const slot = workspace.webhooks[type];
    const required = AIRBYTE_REQUIRED_TYPES.includes(type);
    if (!pointsAt(slot.url, url)) {
      if (required) details.push(`${type} ${slot.url ? `goes to ${shownUrl(slot.url, url)}` : 'has no webhook'}, not postload`);
      continue;
    }
    const token = tokenOf(slot.url);
    if (!slot.enabled) details.push(`${type} points at postload but is switched off`);
    else if (token === null || !acceptedTokens.includes(token)) details.push(`${type} carries a token the ingest function does not accept`);
    else ours.push(type);
  }
  const ok = details.length === 0;
  return {
    vendor: 'airbyte',
    subject: `workspace ${workspace.workspaceId}${workspace.name ? ` (${workspace.name})` : ''}`,
    ok,
    details: ok ? [`${ours.join(', ')} → postload, on, token accepted`] : details,
    ...(ok ? {} : { fix }),
  };
}

/** Whether any of the workspace's slots points at postload (discovery for `connect --check` with no workspace). */
export function sendsToPostload(workspace: AirbyteWorkspace, url: string): boolean {
  return AIRBYTE_NOTIFICATION_TYPES.some((type) => pointsAt(workspace.webhooks[type].url, url));
}
