import type { Logger } from 'pino';
import { isWithoutValue, type Secret } from '../shared/secrets.js';
import type { SyncEvent } from '../shared/sync-event.js';
import type { AttemptRecord } from './clients/http-retry.js';
import type { SlackApiClient } from './clients/slack-api.js';
import { postExactlyOnce } from './clients/slack-app.js';
import { renderAppFailure, type SlackMessage } from './clients/slack-message.js';
import type { SlackClient } from './clients/slack.js';
import type { InvocationDeadline } from './deadline.js';
import { classifyError, describeError, TransientError } from './errors.js';
import type { ActionOutcome, Claim } from './store/event-store.js';
import type { PlannedRun, RunTargetClient, TargetKindName } from './targets/run-target.js';

/** What one delivery needs to perform actions. */
export interface ActionContext {
  /** The run targets' clients by kind (only the kinds the routing file names are configured). */
  targets: ReadonlyMap<TargetKindName, RunTargetClient>;
  slack: SlackClient;
  slackWebhooks: Map<string, Secret>;
  /** Slack app targets by reference: their channel and Web API client (bot token). */
  slackApps: Map<string, SlackAppTarget>;
  /** Where to say that the app cannot post at all (a webhook reference), when configured. */
  slackFallbackWebhook: string | undefined;
  deadline: InvocationDeadline;
  log: Logger;
  now: () => number;
}

/**
 * Starts one run of the target for the event. Never throws: every failure becomes an
 * outcome (failed for good, or retry with the Retry-After kept as notBefore). When an
 * earlier attempt may have reached the target (any attempt after the first, or one whose
 * lease ran out), the kind first looks for the run this event started. `requests` is where
 * the holder's earlier calls to the target (its look at the runs) are counted too.
 */
export async function performRun(event: SyncEvent, run: PlannedRun, claim: Claim, ctx: ActionContext, requests: AttemptRecord[] = []): Promise<ActionOutcome> {
  try {
    const client = targetClient(run, ctx);
    const checkFirst = claim.decision.decision === 'claim' && claim.decision.checkFirst;
    const since = claim.record?.firstAttemptAt?.toDate() ?? new Date(ctx.now());
    const started = await client.start(event, run, { deadline: ctx.deadline.outbound, attempts: requests, checkFirst, since });
    // Stable messages (the local console and log queries match them); the target in fields.
    ctx.log.info({ target: run.label, targetKind: run.target.kind, jobId: run.target.id, runId: started.runId, recovered: started.recovered, route: run.route }, started.recovered ? 'run found already started' : 'run started');
    return { status: 'succeeded', runId: started.runId, runHref: started.href, recovered: started.recovered, ...(started.response ? answered(started.response, ctx.now()) : {}), requests };
  } catch (error) {
    return failure(run.actionId, error, requests, ctx);
  }
}

/** A run that is its request (an HTTP call): the answer, and the outcome it makes (the dbt Cloud loop's shape). */
function answered(response: { status: number; body: string }, nowMs: number): { response: { status: number; body: string }; runOutcome: Record<string, unknown> } {
  const at = new Date(nowMs).toISOString();
  return {
    response,
    runOutcome: { status: 'succeeded', startedAt: at, finishedAt: at, durationSeconds: 0, errorMessage: null, targetStatus: `HTTP ${response.status}`, observedBy: 'answer', recordedAt: at },
  };
}

/** The client of the run's kind; a kind the routing file names is always configured at start-up. */
export function targetClient(run: PlannedRun, ctx: ActionContext): RunTargetClient {
  const client = ctx.targets.get(run.target.kind);
  if (!client) throw new TransientError(`${run.target.kind} is not configured`, { system: 'postload' });
  return client;
}

/** An action's failure as its outcome (never thrown): permanent, or transient with the Retry-After kept. */
export function failureOutcome(actionId: string, error: unknown, requests: AttemptRecord[], ctx: ActionContext): ActionOutcome {
  return failure(actionId, error, requests, ctx);
}

/**
 * Logged, at WARNING, for every message that had no Slack webhook to go to, with its text:
 * Slack is optional, and with it absent this line is where each alert ends up. An alert
 * policy in terraform/monitoring.tf matches it: keep the text stable.
 */
export const SLACK_NOT_SENT = 'Slack message not sent: no Slack webhook is configured';

/** Logged once at start-up when the default webhook (SLACK_WEBHOOK_URL) is not set. */
export const SLACK_NOT_CONFIGURED = 'Slack is not configured (SLACK_WEBHOOK_URL is not set): no message goes to Slack; each is logged as "Slack message not sent"';

/** A Slack app target as one delivery uses it. */
export interface SlackAppTarget {
  channel: string;
  api: SlackApiClient;
}

/** What makes an app message unique, and what earlier attempts of it were (for the lookup before posting again). */
export interface AppDelivery {
  /** The audit document the action belongs to: with the action id, the message's metadata key. */
  docId: string;
  claim: Claim | undefined;
  /** Buttons for app targets (webhook messages never carry them). */
  buttons?: Array<Record<string, unknown>>;
  /** App targets: what this message does to its connector's incident (planning/slack-incident.ts). */
  incident?: AppIncidentStep;
}

/** Open an incident with this message, reply in an open one's thread, or close it: update its message in place, then reply. */
export type AppIncidentStep =
  | { change: 'opened' }
  | { change: 'threaded'; ts: string }
  | { change: 'closed'; ts: string; recovered: SlackMessage };

/**
 * Sends one Slack message. Never throws. A webhook that is not set, or whose secret holds no
 * value (no version, or none enabled), is no webhook: the message is logged instead and the
 * action counts as done, not retried. An app target posts exactly once (performSlackApp).
 */
export async function performSlack(actionId: string, webhookReference: string, message: SlackMessage, ctx: ActionContext, delivery?: AppDelivery): Promise<ActionOutcome> {
  const app = ctx.slackApps.get(webhookReference);
  if (app) return performSlackApp(actionId, app, message, ctx, delivery ?? { docId: actionId, claim: undefined });
  const webhook = ctx.slackWebhooks.get(webhookReference);
  if (!webhook) return notSent(actionId, webhookReference, message, 'not set', ctx);
  const requests: AttemptRecord[] = [];
  try {
    await ctx.slack.post(webhook, message, { deadline: ctx.deadline.outbound, attempts: requests });
    ctx.log.info({ actionId, webhook: webhook.setting }, 'Slack message sent');
    return { status: 'succeeded', sent: true, requests };
  } catch (error) {
    if (isWithoutValue(error)) return notSent(actionId, webhook.setting, message, describeError(error), ctx);
    return failure(actionId, error, requests, ctx);
  }
}

/**
 * Posts one message through the Slack app, exactly once: it carries metadata naming the
 * audit document and the action, and any attempt after the first (or after an answer that
 * may hide a post) first looks for it in the channel (clients/slack-app.ts). The message's
 * ts is recorded, so incidents can be updated in place. A permanent refusal (a revoked
 * token, a channel the app is not in) is recorded as failed and said through the fallback
 * webhook when one is configured.
 */
async function performSlackApp(actionId: string, app: SlackAppTarget, message: SlackMessage, ctx: ActionContext, delivery: AppDelivery): Promise<ActionOutcome> {
  const requests: AttemptRecord[] = [];
  const decision = delivery.claim?.decision;
  const checkFirst = decision === undefined || (decision.decision === 'claim' && decision.checkFirst);
  const since = delivery.claim?.record?.firstAttemptAt?.toDate() ?? new Date(ctx.now() - (decision === undefined ? 3_600_000 : 0));
  const step = delivery.incident;
  const call = { deadline: ctx.deadline.outbound, attempts: requests };
  try {
    // A recovery first says so on the incident's message (setting content again is harmless on a retry).
    if (step?.change === 'closed') await app.api.update(app.channel, step.ts, step.recovered, undefined, call);
    const threadTs = step && step.change !== 'opened' ? step.ts : undefined;
    const posted = await postExactlyOnce(app.api, app.channel, withButtons(message, delivery.buttons), {
      key: { key: `${delivery.docId}/${actionId}`, kind: actionId },
      ...(threadTs ? { threadTs } : {}),
      checkFirst,
      since,
      ...call,
    });
    ctx.log.info({ actionId, channel: app.channel, ts: posted.ts, threadTs, recovered: posted.recovered }, posted.recovered ? 'Slack message found already posted' : 'Slack message posted');
    const incident = step && { channel: app.channel, ts: threadTs ?? posted.ts, change: step.change };
    return { status: 'succeeded', sent: true, slackChannel: app.channel, slackTs: posted.ts, recovered: posted.recovered, ...(incident ? { incident } : {}), requests };
  } catch (error) {
    if (isWithoutValue(error)) return notSent(actionId, app.api.tokenSetting, message, describeError(error), ctx);
    const outcome = failure(actionId, error, requests, ctx);
    if (outcome.status === 'failed') return { ...outcome, fallback: await tellFallback(actionId, app, message, outcome.error, ctx) };
    return outcome;
  }
}

/** The app's permanent failure, through the fallback webhook: never throws; says what came of it. */
async function tellFallback(actionId: string, app: SlackAppTarget, message: SlackMessage, error: string, ctx: ActionContext): Promise<string> {
  const reference = ctx.slackFallbackWebhook;
  if (!reference) return 'no fallback webhook is configured (slack.fallbackWebhook)';
  const sent = await performSlack(`${actionId}-fallback`, reference, renderAppFailure(app.channel, error, message), ctx);
  if (sent.status === 'succeeded') return sent.sent === false ? 'the fallback webhook is not set' : 'sent through the fallback webhook';
  return `the fallback webhook failed too: ${'error' in sent ? sent.error : sent.status}`;
}

/** The message with its buttons in one actions block at the end (Slack allows 25 elements a block). */
function withButtons(message: SlackMessage, buttons: Array<Record<string, unknown>> | undefined): SlackMessage {
  if (!buttons?.length) return message;
  return { ...message, blocks: [...message.blocks, { type: 'actions', block_id: 'postload_actions', elements: buttons.slice(0, 25) }] };
}

function notSent(actionId: string, webhook: string, message: SlackMessage, why: string, ctx: ActionContext): ActionOutcome {
  ctx.log.warn({ actionId, webhook, why, text: message.text }, SLACK_NOT_SENT);
  return { status: 'succeeded', sent: false, requests: [] };
}

function failure(actionId: string, error: unknown, requests: AttemptRecord[], ctx: ActionContext): ActionOutcome {
  const message = describeError(error);
  const httpStatus = (error as { status?: number }).status ?? null;
  const fields = { actionId, requests: requests.length, err: message };
  if (classifyError(error) === 'permanent') {
    ctx.log.error(fields, `${actionId} failed permanently; recorded`);
    return { status: 'failed', error: message, httpStatus, requests };
  }
  const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
  // A request that timed out, lost its connection or got a 5xx may have been acted on.
  const uncertain = requests.some((r) => r.error !== undefined || (r.status ?? 0) >= 500);
  ctx.log.warn({ ...fields, retryAfterMs }, `${actionId} failed transiently; the event will be redelivered`);
  return { status: 'retry', error: message, httpStatus, notBeforeMs: retryAfterMs === undefined ? null : ctx.now() + retryAfterMs, uncertain, requests };
}
