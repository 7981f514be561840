import { createHash } from 'node:crypto';

// The buttons postload puts on its Slack app messages, and how the /slack/actions route
// reads them back. A button's `action_id` is `postload.<kind>.<hash of what it does>`:
// the same effect gets the same id on every message, so the route's ledger performs it once
// however often, and from whichever message, it is pressed. `value` carries what it does as
// JSON. Both come back in Slack's signed block_actions payload. Slack's limits
// (docs.slack.dev/reference/block-kit/block-elements/button-element): action_id and url
// at most 255 and 3,000 characters, value at most 2,000, text at most 75.

export const BUTTON_PREFIX = 'postload.';
const VALUE_MAX_CHARS = 2000;
const TEXT_MAX_CHARS = 75;
const URL_MAX_CHARS = 3000;

/** Snooze one connector's freshness alerts (`freshness pause`), as the CLI does. */
export interface SnoozeAction {
  kind: 'snooze';
  /** The connector's document id (`fivetran-<id>`). */
  connector: string;
  /** The incident the alert is about; the snooze is one per incident. */
  incident: string;
  forMs: number;
}

/** Retry one failed dbt Cloud run from its point of failure (POST …/runs/{id}/retry/). */
export interface RetryRunAction {
  kind: 'retry-run';
  jobId: string;
  runId: number;
  /** The event whose message carried the button (the run's own event, or the load that started it). */
  eventId: string;
}

export type ButtonAction = SnoozeAction | RetryRunAction;

/** What a pressed button comes to: an action, a link (nothing to do), or nothing postload knows. */
export type PressedButton = { kind: 'action'; action: ButtonAction; actionId: string } | { kind: 'link' } | { kind: 'unknown'; reason: string };

/** The action's canonical text: its fields in a fixed order. */
function canonical(action: ButtonAction): string {
  switch (action.kind) {
    case 'snooze':
      return JSON.stringify({ kind: action.kind, connector: action.connector, incident: action.incident, forMs: action.forMs });
    case 'retry-run':
      return JSON.stringify({ kind: action.kind, jobId: action.jobId, runId: action.runId, eventId: action.eventId });
  }
}

export function buttonActionId(action: ButtonAction): string {
  return `${BUTTON_PREFIX}${action.kind}.${createHash('sha256').update(canonical(action)).digest('hex').slice(0, 32)}`;
}

/**
 * A Block Kit button performing `action`, with Slack's confirmation dialog when `confirm`
 * is given; undefined when its value would not fit (then no button is offered).
 */
export function actionButton(action: ButtonAction, text: string, confirm?: { title: string; text: string; confirm: string }): Record<string, unknown> | undefined {
  const value = canonical(action);
  if (value.length > VALUE_MAX_CHARS) return undefined;
  return {
    type: 'button',
    action_id: buttonActionId(action),
    text: { type: 'plain_text', text: text.slice(0, TEXT_MAX_CHARS), emoji: true },
    value,
    ...(confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: confirm.title.slice(0, 100) },
            text: { type: 'plain_text', text: confirm.text.slice(0, 300) },
            confirm: { type: 'plain_text', text: confirm.confirm.slice(0, 30) },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        }
      : {}),
  };
}

/** A button that opens `url` (nothing for the route to do); undefined when the URL is too long. */
export function linkButton(url: string, text: string): Record<string, unknown> | undefined {
  if (url.length > URL_MAX_CHARS) return undefined;
  return { type: 'button', action_id: `${BUTTON_PREFIX}open.${createHash('sha256').update(url).digest('hex').slice(0, 32)}`, text: { type: 'plain_text', text: text.slice(0, TEXT_MAX_CHARS), emoji: true }, url };
}

/** What a pressed button (its action_id, value and url from the payload) asks for. */
export function readButton(actionId: unknown, value: unknown, url: unknown): PressedButton {
  if (typeof url === 'string') return { kind: 'link' };
  if (typeof actionId !== 'string' || !actionId.startsWith(BUTTON_PREFIX)) return { kind: 'unknown', reason: 'not a postload button' };
  if (typeof value !== 'string' || value.length > VALUE_MAX_CHARS) return { kind: 'unknown', reason: 'the button carries no postload action' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { kind: 'unknown', reason: 'the button carries no postload action' };
  }
  const action = asAction(parsed);
  if (!action) return { kind: 'unknown', reason: 'the button asks for something this version of postload does not do' };
  // The id is derived from the value: a value that does not give back the id is not one postload made.
  if (buttonActionId(action) !== actionId) return { kind: 'unknown', reason: 'the button’s id and value disagree' };
  return { kind: 'action', action, actionId };
}

function asAction(value: unknown): ButtonAction | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (v.kind === 'snooze' && typeof v.connector === 'string' && v.connector && typeof v.incident === 'string' && Number.isSafeInteger(v.forMs) && (v.forMs as number) > 0) {
    return { kind: 'snooze', connector: v.connector, incident: v.incident, forMs: v.forMs as number };
  }
  if (v.kind === 'retry-run' && typeof v.jobId === 'string' && /^\d{1,20}$/.test(v.jobId) && Number.isSafeInteger(v.runId) && (v.runId as number) > 0 && typeof v.eventId === 'string') {
    return { kind: 'retry-run', jobId: v.jobId, runId: v.runId as number, eventId: v.eventId };
  }
  return undefined;
}
