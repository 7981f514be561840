import type { Logger } from 'pino';
import type { Secret } from '../shared/secrets.js';
import type { SyncEvent } from '../shared/sync-event.js';
import type { ActionRecord, AuditStore } from './audit-store.js';
import type { DbtCloudClient } from './dbt-cloud.js';
import { classifyError, describeError, TransientError } from './errors.js';
import type { AttemptRecord, Deadline } from './http-retry.js';
import type { PlannedDbtJob, PlannedSlackTarget, RoutePlan } from './routing.js';
import { renderEventMessage, type DbtJobReport, type SlackMessage } from './slack-message.js';
import type { SlackClient } from './slack.js';

/** What one delivery needs to run actions. */
export interface ActionContext {
  store: AuditStore;
  dbt: DbtCloudClient | undefined;
  slack: SlackClient;
  slackWebhooks: Map<string, Secret>;
  deliveryId: string;
  deadline: Deadline;
  log: Logger;
}

/** An action's state after this delivery: done before, done now, failed for good, to retry, or held by another delivery. */
export type ActionResult =
  | { state: 'succeeded'; record: Partial<ActionRecord>; skipped: boolean }
  | { state: 'failed'; error: string; skipped: boolean }
  | { state: 'retry'; error: string }
  | { state: 'busy' };

export interface ActionsOutcome {
  /** processed: everything done; failed: something failed for good (acknowledged); retrying: throw for redelivery. */
  status: 'processed' | 'failed' | 'retrying';
  dbt: DbtJobReport[];
  /** Why the event must be redelivered, when it must. */
  retryReason: string | undefined;
}

/**
 * Runs the planned actions, each at most once per event: the dbt Cloud jobs first (in
 * parallel), then one Slack message per webhook, which reports what the jobs did. Slack
 * waits while another delivery is still starting a job, so the message tells the truth.
 */
export async function runActions(event: SyncEvent, plan: RoutePlan, ctx: ActionContext): Promise<ActionsOutcome> {
  const dbtResults = await Promise.all(plan.dbtJobs.map((job) => runDbtJob(event, job, ctx)));
  const dbt = dbtResults.map(({ job, result }) => report(job, result));
  const results: ActionResult[] = dbtResults.map((r) => r.result);

  if (!results.some((r) => r.state === 'busy')) {
    const alert = dbt.some((job) => job.state === 'failed');
    for (const target of plan.slack) {
      if (!target.notify && !alert) continue;
      const message = renderEventMessage(event, dbt, { alert: !target.notify });
      results.push(await sendSlack(event.id, target, message, ctx));
    }
  }
  return { ...summarise(results), dbt };
}

/** Sends one Slack message for a document (an event, or an invalid message) once. */
export async function sendSlack(docId: string, target: Pick<PlannedSlackTarget, 'actionId' | 'webhook'>, message: SlackMessage, ctx: ActionContext): Promise<ActionResult> {
  const webhook = ctx.slackWebhooks.get(target.webhook);
  if (!webhook) {
    ctx.log.warn({ webhook: target.webhook }, 'no Slack webhook is set for this alert; it is only logged');
    return { state: 'succeeded', record: {}, skipped: true };
  }
  return runOnce(docId, target.actionId, { kind: 'slack', target: webhook.setting }, ctx, async (_attempt, requests) => {
    await ctx.slack.post(webhook, message, { deadline: ctx.deadline, attempts: requests });
    ctx.log.info({ actionId: target.actionId, webhook: webhook.setting }, 'Slack message sent');
    return {};
  });
}

async function runDbtJob(event: SyncEvent, job: PlannedDbtJob, ctx: ActionContext): Promise<{ job: PlannedDbtJob; result: ActionResult }> {
  const result = await runOnce(event.id, job.actionId, { kind: 'dbt', target: job.jobId }, ctx, async (attempt, requests) => {
    if (!ctx.dbt) throw new TransientError('dbt Cloud is not configured', { system: 'postload' });
    // A later attempt may follow one that reached dbt Cloud without recording it: look first.
    const run = await ctx.dbt.trigger(event, job.options, { deadline: ctx.deadline, attempts: requests, checkFirst: attempt > 1 });
    ctx.log.info({ jobId: job.jobId, runId: run.id, recovered: run.recovered, route: job.route }, run.recovered ? 'dbt Cloud run found already started' : 'dbt Cloud run started');
    return { runId: run.id, runHref: run.href, recovered: run.recovered };
  });
  return { job, result };
}

/**
 * Claims the action, performs it if the claim is ours, and records the outcome. Failures
 * are classified and returned, not thrown; only Firestore trouble (recording) throws.
 */
async function runOnce(
  docId: string,
  actionId: string,
  what: Pick<ActionRecord, 'kind' | 'target'>,
  ctx: ActionContext,
  perform: (attempt: number, requests: AttemptRecord[]) => Promise<Partial<ActionRecord>>,
): Promise<ActionResult> {
  const claim = await ctx.store.claim(docId, actionId, ctx.deliveryId, what);
  if (claim.state === 'busy') {
    ctx.log.warn({ actionId }, 'another delivery of this event holds the action; leaving it to that one');
    return { state: 'busy' };
  }
  if (claim.state === 'done') {
    ctx.log.info({ actionId, status: claim.record.status }, 'action already done by an earlier delivery; skipped');
    return claim.record.status === 'succeeded'
      ? { state: 'succeeded', record: claim.record, skipped: true }
      : { state: 'failed', error: claim.record.lastError ?? 'failed', skipped: true };
  }
  const requests: AttemptRecord[] = [];
  try {
    const record = await perform(claim.attempt, requests);
    await ctx.store.succeed(docId, actionId, record, requests);
    return { state: 'succeeded', record, skipped: false };
  } catch (error) {
    const kind = classifyError(error);
    await ctx.store.fail(docId, actionId, error, kind, requests);
    const fields = { actionId, attempt: claim.attempt, requests: requests.length, err: describeError(error) };
    if (kind === 'permanent') {
      ctx.log.error(fields, `${actionId} failed permanently; recorded and acknowledged`);
      return { state: 'failed', error: describeError(error), skipped: false };
    }
    ctx.log.warn(fields, `${actionId} failed transiently; the event will be redelivered`);
    return { state: 'retry', error: describeError(error) };
  }
}

function report(job: PlannedDbtJob, result: ActionResult): DbtJobReport {
  switch (result.state) {
    case 'succeeded':
      return { jobId: job.jobId, state: 'started', ...(result.record.runId == null ? {} : { runId: result.record.runId }), href: result.record.runHref ?? null };
    case 'failed':
      return { jobId: job.jobId, state: 'failed', error: result.error };
    case 'retry':
      return { jobId: job.jobId, state: 'retrying', error: result.error };
    default:
      return { jobId: job.jobId, state: 'in-progress' };
  }
}

function summarise(results: ActionResult[]): Omit<ActionsOutcome, 'dbt'> {
  const busy = results.filter((r) => r.state === 'busy').length;
  const retry = results.flatMap((r) => (r.state === 'retry' ? [r.error] : []));
  if (busy || retry.length) {
    const reasons = [...retry, ...(busy ? [`${busy} action(s) held by another delivery of this event`] : [])];
    return { status: 'retrying', retryReason: reasons.join('; ') };
  }
  return { status: results.some((r) => r.state === 'failed') ? 'failed' : 'processed', retryReason: undefined };
}
