import type { Logger } from 'pino';
import { isWithoutValue, type Secret } from '../shared/secrets.js';
import type { SyncEvent } from '../shared/sync-event.js';
import type { DbtCloudClient } from './clients/dbt-cloud.js';
import type { AttemptRecord } from './clients/http-retry.js';
import type { SlackMessage } from './clients/slack-message.js';
import type { SlackClient } from './clients/slack.js';
import type { InvocationDeadline } from './deadline.js';
import { classifyError, describeError, TransientError } from './errors.js';
import type { PlannedDbtJob } from './planning/routing.js';
import type { ActionOutcome, Claim } from './store/event-store.js';

/** What one delivery needs to perform actions. */
export interface ActionContext {
  dbt: DbtCloudClient | undefined;
  slack: SlackClient;
  slackWebhooks: Map<string, Secret>;
  deadline: InvocationDeadline;
  log: Logger;
  now: () => number;
}

/**
 * Starts one dbt Cloud job for the event. Never throws: every failure becomes an outcome
 * (failed for good, or retry with the Retry-After kept as notBefore). When an earlier
 * attempt may have reached dbt Cloud (any attempt after the first, or one whose lease ran
 * out), the trigger first looks for the run by the event id in its cause.
 */
export async function performDbtJob(event: SyncEvent, job: PlannedDbtJob, claim: Claim, ctx: ActionContext): Promise<ActionOutcome> {
  const requests: AttemptRecord[] = [];
  try {
    if (!ctx.dbt) throw new TransientError('dbt Cloud is not configured', { system: 'postload' });
    const checkFirst = claim.decision.decision === 'claim' && claim.decision.checkFirst;
    const since = claim.record?.firstAttemptAt?.toDate() ?? new Date(ctx.now());
    const run = await ctx.dbt.trigger(event, job.options, { deadline: ctx.deadline.outbound, attempts: requests, checkFirst, since });
    ctx.log.info({ jobId: job.jobId, runId: run.id, recovered: run.recovered, route: job.route }, run.recovered ? 'dbt Cloud run found already started' : 'dbt Cloud run started');
    return { status: 'succeeded', runId: run.id, runHref: run.href, recovered: run.recovered, requests };
  } catch (error) {
    return failure(job.actionId, error, requests, ctx);
  }
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
