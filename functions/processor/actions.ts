import type { Logger } from 'pino';
import { isWithoutValue, type Secret } from '../shared/secrets.js';
import type { SyncEvent } from '../shared/sync-event.js';
import type { AttemptRecord } from './clients/http-retry.js';
import type { SlackMessage } from './clients/slack-message.js';
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

/**
 * Sends one Slack message. Never throws. A webhook that is not set, or whose secret holds no
 * value (no version, or none enabled), is no webhook: the message is logged instead and the
 * action counts as done, not retried.
 */
export async function performSlack(actionId: string, webhookReference: string, message: SlackMessage, ctx: ActionContext): Promise<ActionOutcome> {
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
