import { AuditReader, type AuditRecord } from './audit-reader.js';
import type { DemoStep } from './demo-scenario.js';
import { triggerRequests } from './fake-dbt-cloud.js';
import type { RecordedRequest } from './recording-server.js';
import type { LocalStack } from './stack.js';
import { postAirbyte, postFivetran } from './webhooks.js';

// Sends the demo's steps through a running stack, waits until the processor has dealt
// with every delivery, and compares what happened with what each step expects. The
// evidence is what crossed the wire (the stand-ins' requests, the ingest log) and the
// audit trail in Firestore, never the product's own opinion of itself.

export interface SentStep {
  step: DemoStep;
  index: number;
  status: number;
  eventId: string | undefined;
  type: string | undefined;
}

export async function sendSteps(stack: LocalStack, steps: DemoStep[]): Promise<SentStep[]> {
  const sent: SentStep[] = [];
  for (const [index, step] of steps.entries()) {
    const response =
      step.source === 'fivetran'
        ? await postFivetran(stack.fivetranUrl, step.body, step.forgedSecret ?? stack.settings.fivetranSecret)
        : await postAirbyte(stack.airbyteUrl, step.body);
    const answer = (await response.json().catch(() => ({}))) as { id?: string; type?: string };
    sent.push({ step, index, status: response.status, eventId: response.status === 202 ? answer.id : undefined, type: answer.type });
  }
  return sent;
}

/** Counts the ingest function's "webhook published" log lines per event id (feed it the function's lines). */
export class PublishedLog {
  private readonly counts = new Map<string, number>();

  onLine = (target: string, line: string): void => {
    if (target !== 'ingestWebhook' || !line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as { message?: string; eventId?: string };
      if (entry.message === 'webhook published' && entry.eventId) this.counts.set(entry.eventId, (this.counts.get(entry.eventId) ?? 0) + 1);
    } catch {
      // not a log line
    }
  };

  count(eventId: string): number {
    return this.counts.get(eventId) ?? 0;
  }
}

export interface StepOutcome {
  sent: SentStep;
  published: number;
  audit: AuditRecord | undefined;
  /** dbt Cloud trigger requests and Slack messages about this step's event (all its deliveries). */
  dbtRuns: RecordedRequest[];
  slackMessages: RecordedRequest[];
  /** Deliveries past the first that started nothing new. */
  duplicatesSuppressed: number;
  /** What the event did to the join its step names (issue 12). */
  joinOutcome: string | undefined;
  /** The dbt Cloud loop: the outcome of the run this event started, as its audit record shows it. */
  runOutcome: { jobId: string; runId: number | null; status: string; errorMessage: string | null } | undefined;
  problems: string[];
}

export interface ScenarioOutcome {
  steps: StepOutcome[];
  /** Problems with the run as a whole (requests no step accounts for). */
  problems: string[];
  ok: boolean;
}

/**
 * Waits (up to timeoutMs) until every accepted event has an audit record with a final
 * status, one delivery per accepted request and the stand-ins got what it expects, then
 * a quiet period (so a late second run or message would be caught), and judges.
 */
export async function awaitOutcome(
  stack: LocalStack,
  sent: SentStep[],
  published: PublishedLog,
  { timeoutMs = 60_000, quietMs = 1500, auditCollection = 'syncEvents' } = {},
): Promise<ScenarioOutcome> {
  if (!stack.dbt || !stack.slack) throw new Error('the demo needs the dbt Cloud and Slack stand-ins');
  const dbt = stack.dbt;
  const slack = stack.slack;
  const reader = new AuditReader(stack.firestoreHost, stack.projectId, auditCollection);
  try {
    const events = expectedPerEvent(sent);
    const about = (requests: RecordedRequest[], id: string) => requests.filter((r) => r.body.includes(id));
    // The loop: steps whose run must come back through /dbt-cloud with a final outcome, and the alerts failed runs cause.
    const looped = sent.filter((s) => s.eventId && s.step.expect.runOutcome && s.step.duplicateOf === undefined);
    const loopAlerts = looped.filter((s) => s.step.expect.runOutcome !== 'succeeded').length;
    const loopClosed = async () => {
      for (const s of looped) if (!isFinalOutcome(runOutcomeOf(await reader.read(s.eventId!))?.status)) return false;
      return slack.requests.filter(isLoopAlert).length >= loopAlerts;
    };
    const settled = async () => {
      if (!(await loopClosed())) return false;
      for (const [id, expected] of events) {
        const audit = await reader.read(id);
        if (!audit || !['processed', 'failed'].includes(audit.status) || audit.deliveries < expected.deliveries) return false;
        if (about(triggerRequests(dbt), id).length < expected.dbtRuns || about(slack.requests, id).length < expected.slackMessages) return false;
      }
      return true;
    };
    const deadline = Date.now() + timeoutMs;
    let timedOut = false;
    while (!(await settled())) {
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, quietMs));

    const steps: StepOutcome[] = [];
    for (const s of sent) {
      const audit = s.eventId ? await reader.read(s.eventId) : undefined;
      const marker = s.eventId ?? syncIdOf(s.step.body);
      steps.push(judgeStep(s, sent, {
        published: s.eventId ? published.count(s.eventId) : 0,
        audit,
        dbtRuns: marker ? about(triggerRequests(dbt), marker) : [],
        slackMessages: marker ? about(slack.requests, marker).filter((r) => !isLoopAlert(r)) : [],
      }));
    }
    const problems: string[] = [];
    if (timedOut) problems.push(`not everything was processed within ${timeoutMs / 1000} s`);
    // A burst is judged as a whole: its events together start exactly the runs it expects.
    const bursts = new Map(sent.flatMap((s) => (s.step.expect.burst ? [[s.step.expect.burst.job, s.step.expect.burst.runs] as const] : [])));
    for (const [job, runs] of bursts) {
      const started = triggerRequests(dbt).filter((r) => r.url.includes(`/jobs/${job}/run/`)).length;
      if (started !== runs) problems.push(`the burst for dbt job ${job} started ${started} runs, expected ${runs} (the rest coalesced)`);
    }
    // A join is judged as a whole too: exactly one of its upstream steps fired it.
    const joins = new Map(sent.flatMap((s) => (s.step.expect.join ? [[s.step.expect.join.name, s.step.expect.join.job] as const] : [])));
    for (const [name, job] of joins) {
      const fired = steps.filter((s) => s.sent.step.expect.join?.name === name && s.joinOutcome === 'fired');
      if (fired.length !== 1) problems.push(`join "${name}" fired ${fired.length} times, expected once`);
      const started = triggerRequests(dbt).filter((r) => r.url.includes(`/jobs/${job}/run/`)).length;
      if (started !== 1) problems.push(`join "${name}" started dbt job ${job} ${started} times, expected once`);
    }
    const expectedRuns = [...events.values()].reduce((n, e) => n + e.dbtRuns, 0) + [...bursts.values()].reduce((n, r) => n + r, 0) + joins.size;
    const expectedMessages = [...events.values()].reduce((n, e) => n + e.slackMessages, 0) + joins.size + loopAlerts;
    const alerts = slack.requests.filter(isLoopAlert).length;
    if (alerts !== loopAlerts) problems.push(`Slack received ${alerts} alerts about runs postload started, expected ${loopAlerts}`);
    if (triggerRequests(dbt).length !== expectedRuns) problems.push(`dbt Cloud received ${triggerRequests(dbt).length} job triggers in all, expected ${expectedRuns}`);
    if (slack.requests.length !== expectedMessages) problems.push(`Slack received ${slack.requests.length} messages in all, expected ${expectedMessages}`);
    return { steps, problems, ok: problems.length === 0 && steps.every((s) => s.problems.length === 0) };
  } finally {
    await reader.close();
  }
}

/** Per accepted event id: deliveries (accepted requests) and the runs and messages all of them together must cause. */
function expectedPerEvent(sent: SentStep[]): Map<string, { deliveries: number; dbtRuns: number; slackMessages: number }> {
  const events = new Map<string, { deliveries: number; dbtRuns: number; slackMessages: number }>();
  for (const s of sent) {
    if (!s.eventId) continue;
    const e = events.get(s.eventId) ?? { deliveries: 0, dbtRuns: 0, slackMessages: 0 };
    e.deliveries += 1;
    e.dbtRuns += s.step.expect.dbtJobs.length;
    e.slackMessages += s.step.expect.slackMessages;
    events.set(s.eventId, e);
  }
  return events;
}

function judgeStep(
  s: SentStep,
  all: SentStep[],
  seen: { published: number; audit: AuditRecord | undefined; dbtRuns: RecordedRequest[]; slackMessages: RecordedRequest[] },
): StepOutcome {
  const { expect, duplicateOf } = s.step;
  const problems: string[] = [];
  if (s.status !== expect.status) problems.push(`answered ${s.status}, expected ${expect.status}`);
  if (expect.type && s.type !== expect.type) problems.push(`type ${s.type}, expected ${expect.type}`);

  // All deliveries of one event share its runs and messages: expect the sum over its steps.
  const siblings = s.eventId ? all.filter((o) => o.eventId === s.eventId) : [s];
  const jobs = siblings.flatMap((o) => o.step.expect.dbtJobs).sort();
  const messages = siblings.reduce((n, o) => n + o.step.expect.slackMessages, 0);
  const ranJobs = seen.dbtRuns.map((r) => Number(/\/jobs\/(\d+)\/run\//.exec(r.url)?.[1])).sort();
  const burst = expect.burst;
  // One of a burst: it started the job's run, or was coalesced into a run, or covered by another burst event's batch (issues 12, 26).
  const burstAction = burst && seen.audit?.actions?.[`dbt-job-${burst.job}`];
  const joinOutcome = expect.join && (seen.audit?.joins as Record<string, { outcome?: string }> | undefined)?.[expect.join.name]?.outcome;
  if (expect.join) {
    // The step that completed the join started its job and sent the firing message; the other only waited.
    const fired = joinOutcome === 'fired';
    if (joinOutcome !== 'fired' && joinOutcome !== 'waiting') problems.push(`join "${expect.join.name}": ${joinOutcome ?? 'not applied'}, expected waiting or fired`);
    if (JSON.stringify(ranJobs) !== JSON.stringify(fired ? [expect.join.job] : [])) problems.push(`dbt jobs run [${ranJobs.join(', ')}] for a join upstream that ${fired ? 'fired' : 'waited'}`);
    if (seen.slackMessages.length !== (fired ? 1 : 0)) problems.push(`${seen.slackMessages.length} Slack messages for a join upstream that ${fired ? 'fired' : 'waited'}`);
  } else if (burst) {
    const started = burstAction?.status === 'succeeded' && burstAction.runId != null && JSON.stringify(ranJobs) === JSON.stringify([burst.job]);
    const coalesced = burstAction?.status === 'succeeded' && (burstAction.busy?.outcome === 'coalesced' || burstAction.busy?.outcome === 'joined') && ranJobs.length === 0;
    if (!started && !coalesced) problems.push(`dbt job ${burst.job} neither started once nor coalesced (runs [${ranJobs.join(', ')}], action ${burstAction?.status ?? 'missing'})`);
  } else if (JSON.stringify(ranJobs) !== JSON.stringify(jobs)) problems.push(`dbt jobs run [${ranJobs.join(', ')}], expected [${jobs.join(', ')}]`);
  if (!expect.join && seen.slackMessages.length !== messages) problems.push(`${seen.slackMessages.length} Slack messages, expected ${messages}`);

  if (expect.status === 202) {
    if (seen.published < siblings.length) problems.push(`published ${seen.published} times, expected ${siblings.length}`);
    if (!seen.audit) problems.push('no audit record');
    else {
      if (seen.audit.status !== expect.auditStatus) problems.push(`audit status ${seen.audit.status}, expected ${expect.auditStatus}`);
      const recordedRuns = Object.values(seen.audit.actions ?? {}).filter((a) => a.kind === 'dbt' && a.status === 'succeeded' && a.runId != null).length;
      const expectedRecorded = expect.join ? (joinOutcome === 'fired' ? 1 : 0) : jobs.length;
      if (!burst && recordedRuns !== expectedRecorded) problems.push(`audit records ${recordedRuns} dbt runs, expected ${expectedRecorded}`);
    }
  } else if (seen.published > 0) problems.push('refused, yet published');

  if (duplicateOf !== undefined && all[duplicateOf]?.eventId !== s.eventId) problems.push(`event id differs from #${duplicateOf + 1}'s`);
  const runOutcome = s.eventId && expect.runOutcome ? runOutcomeOf(seen.audit) : undefined;
  if (s.eventId && expect.runOutcome && duplicateOf === undefined && runOutcome?.status !== expect.runOutcome) {
    problems.push(`the run it started shows ${runOutcome?.status ?? 'no outcome'} on its audit record, expected ${expect.runOutcome}`);
  }
  const deliveries = seen.audit?.deliveries ?? 0;
  const duplicatesSuppressed = problems.length === 0 && deliveries > 1 ? deliveries - 1 : 0;
  if (duplicateOf !== undefined && duplicatesSuppressed < 1) problems.push('the duplicate was not delivered and suppressed');
  return { sent: s, ...seen, duplicatesSuppressed, joinOutcome, runOutcome, problems };
}

/** The first dbt action's run outcome on an audit record (the loop, issue 13). */
function runOutcomeOf(audit: AuditRecord | undefined): StepOutcome['runOutcome'] {
  const action = Object.values(audit?.actions ?? {}).find((a) => a.kind === 'dbt' && a.runOutcome);
  return action?.runOutcome ? { jobId: action.target, runId: action.runId ?? null, status: action.runOutcome.status, errorMessage: action.runOutcome.errorMessage } : undefined;
}

function isFinalOutcome(status: string | undefined): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/** A Slack message about a run postload started (slack-message.ts names the load that started it). */
function isLoopAlert(request: RecordedRequest): boolean {
  return request.body.includes('started by postload for');
}

function syncIdOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { sync_id?: string }).sync_id;
  } catch {
    return undefined;
  }
}
