import { Firestore } from '@google-cloud/firestore';
import { LOCAL_SLACK_CHANNEL } from './fake-slack-api.js';
import { LOCAL_SLACK_OPERATOR } from './local-settings.js';
import { findButton, pressButton } from './slack-interactivity.js';
import type { LocalStack } from './stack.js';
import { postDbtCloud } from './webhooks.js';

// The demo's Slack app story (issue 31), on the real path: a dbt Cloud run of a job routed to
// the Slack app fails; its webhook reaches the ingest function, the processor posts one
// message to the channel through the app with "Retry this dbt run"; the local operator
// presses it (signed as Slack signs), a stranger presses it, the operator presses it again.
// Judged: one message, one retry asked of dbt Cloud, one record of who pressed, and the
// three answers each person saw.

export const DEMO_SLACK_APP = { job: 901, channel: LOCAL_SLACK_CHANNEL } as const;

/** The routing file's addition: the job's failed runs go to the channel through the Slack app. */
export const DEMO_SLACK_APP_ROUTE = {
  name: 'runs-in-the-slack-app',
  match: { source: 'dbt-cloud', connectorId: String(DEMO_SLACK_APP.job) },
  slack: { app: { channel: DEMO_SLACK_APP.channel }, notify: ['transformation.failed'] },
};

export interface SlackAppStory {
  /** Messages about the failed run in the channel (one expected). */
  messages: number;
  /** Retries dbt Cloud was asked for (one expected). */
  retries: number;
  /** What each press was told, in order: the operator's, the stranger's, the operator's again. */
  answers: string[];
  /** Who the audit record says pressed first. */
  recordedBy: string | undefined;
  problems: string[];
  ok: boolean;
}

export async function slackAppStory(stack: LocalStack, { auditCollection = 'syncEvents', timeoutMs = 30_000 } = {}): Promise<SlackAppStory> {
  const { slack, dbt } = stack;
  if (!slack || !dbt) throw new Error('the Slack app story needs the Slack and dbt Cloud stand-ins');
  const problems: string[] = [];
  const run = dbt.addRun({ accountId: Number(stack.settings.dbtAccountId), jobId: DEMO_SLACK_APP.job, cause: 'Scheduled by dbt Cloud' });
  run.startedAt = new Date(Date.now() - 60_000).toISOString();
  dbt.setStatus(run.id, 20);
  await postDbtCloud(stack.dbtCloudUrl, dbt.webhookBody(run, 'job.run.errored', 'Database Error in model fct_orders: division by zero'), stack.settings.dbtCloudWebhookSecret);

  const about = () => slack.api.channelMessages(DEMO_SLACK_APP.channel).filter((m) => m.text.includes(String(run.id)) || JSON.stringify(m.blocks).includes(String(run.id)));
  const deadline = Date.now() + timeoutMs;
  while (!about().length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const [message] = about();
  const retryButton = message && (message.blocks.at(-1) as { elements?: Array<{ action_id?: string; text?: { text?: string } }> } | undefined)?.elements?.find((e) => e.text?.text === 'Retry this dbt run');
  if (!message || !retryButton?.action_id || !findButton(message, retryButton.action_id)) {
    problems.push(message ? 'the message has no "Retry this dbt run" button' : 'no message about the failed run reached the channel');
    return { messages: about().length, retries: 0, answers: [], recordedBy: undefined, problems, ok: false };
  }
  const press = (user: { id: string; username: string }) =>
    pressButton(slack, { requestUrl: `${stack.ingest.url}/slack/actions`, signingSecret: stack.settings.slackSigningSecret, channel: message.channel, ts: message.ts, actionId: retryButton.action_id!, user });
  const answered = slack.api.responses.length;
  for (const user of [{ id: LOCAL_SLACK_OPERATOR, username: 'operator' }, { id: 'U0STRANGER', username: 'stranger' }, { id: LOCAL_SLACK_OPERATOR, username: 'operator' }]) {
    const result = await press(user);
    if (result.status !== 200) problems.push(`a press by ${user.username} was answered ${result.status}`);
  }
  const answers = slack.api.responses.slice(answered).map((r) => String((r.json as { text?: string }).text ?? ''));
  const retries = dbt.requests.filter((r) => r.method === 'POST' && r.url.includes(`/runs/${run.id}/retry/`)).length;

  const db = new Firestore({ projectId: stack.projectId, host: stack.firestoreHost, ssl: false });
  let recordedBy: string | undefined;
  try {
    const records = await db.collection(auditCollection).where('kind', '==', 'slack-action').get();
    recordedBy = records.docs.map((d) => d.data()).find((d) => (d.action as { runId?: number } | undefined)?.runId === run.id)?.by?.id as string | undefined;
  } finally {
    await db.terminate();
  }

  if (about().length !== 1) problems.push(`${about().length} messages about the failed run, expected one`);
  if (retries !== 1) problems.push(`dbt Cloud was asked ${retries} times to retry the run, expected once`);
  const expected = [/^Done: retried dbt Cloud run/, /^Sorry, you are not among the people/, /^Already done by <@U0LOCALOPS>/];
  expected.forEach((pattern, i) => {
    if (!pattern.test(answers[i] ?? '')) problems.push(`answer ${i + 1} was "${answers[i] ?? 'none'}"`);
  });
  if (recordedBy !== LOCAL_SLACK_OPERATOR) problems.push(`the audit record names ${recordedBy ?? 'nobody'} as who pressed, not ${LOCAL_SLACK_OPERATOR}`);
  return { messages: about().length, retries, answers, recordedBy, problems, ok: problems.length === 0 };
}
