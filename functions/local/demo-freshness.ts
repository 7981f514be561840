import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { deliveredMessages } from './fake-slack.js';
import { triggerRequests } from './fake-dbt-cloud.js';
import type { LocalStack } from './stack.js';
import { postFivetran } from './webhooks.js';

// The demo's freshness story (issue 27), on the real path: a connector with a short
// expectation syncs once, goes silent and is judged late, then overdue (one Slack alert),
// then syncs again and is judged fresh (one recovery message). The sweep runs as the
// function Cloud Scheduler ticks, each tick published to the emulator and pushed to it.

export const DEMO_FRESHNESS = {
  connectorId: 'demo_inventory_pg',
  name: 'inventory_pg',
  job: 501,
  every: '6s',
  grace: '4s',
} as const;

/** The routing file's additions for the story: its route (a dbt job) and its freshness rule. */
export const DEMO_FRESHNESS_ROUTE = {
  name: 'inventory',
  match: { source: 'fivetran', connectorId: DEMO_FRESHNESS.connectorId },
  dbtJobs: [{ jobId: DEMO_FRESHNESS.job }],
  slack: { notify: [] as string[] },
};

export const DEMO_FRESHNESS_SETTINGS = {
  rules: [{ match: { source: 'fivetran', connectorId: DEMO_FRESHNESS.connectorId }, freshness: { every: DEMO_FRESHNESS.every, grace: DEMO_FRESHNESS.grace } }],
  realert: 'off',
};

export interface FreshnessStory {
  /** The states the connector's freshness document went through, in order. */
  states: string[];
  expectation: string | undefined;
  alerts: string[];
  recoveries: string[];
  /** dbt runs of the connector's job (one per successful sync: the recovering one ran it). */
  dbtRuns: number;
  problems: string[];
  ok: boolean;
}

/** Sends the story through a running stack, ticking the sweep every `tickMs`; judges what Slack, dbt Cloud and Firestore show. */
export async function freshnessStory(stack: LocalStack, { tickMs = 1000, timeoutMs = 60_000, collection = 'freshness' } = {}): Promise<FreshnessStory> {
  if (!stack.slack || !stack.dbt) throw new Error('the freshness story needs the Slack and dbt Cloud stand-ins');
  const slack = stack.slack;
  const dbt = stack.dbt;
  const db = new Firestore({ projectId: stack.projectId, host: stack.firestoreHost, ssl: false });
  const doc = db.collection(collection).doc(`fivetran-${DEMO_FRESHNESS.connectorId}`);
  const states: string[] = [];
  const problems: string[] = [];
  let expectation: string | undefined;
  const about = () => deliveredMessages(slack).map((m) => m.text).filter((text) => text.includes(DEMO_FRESHNESS.name));
  const sync = () => {
    const body = JSON.stringify({
      event: 'sync_end',
      created: new Date().toISOString(),
      connector_type: 'google_cloud_postgresql',
      connector_id: DEMO_FRESHNESS.connectorId,
      connector_name: DEMO_FRESHNESS.name,
      sync_id: randomUUID(),
      destination_group_id: 'warehouse_bq',
      data: { status: 'SUCCESSFUL' },
    });
    return postFivetran(stack.fivetranUrl, body, stack.settings.fivetranSecret);
  };
  const tickUntil = async (what: string, done: () => boolean): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await stack.tick();
      await new Promise((resolve) => setTimeout(resolve, tickMs));
      const data = (await doc.get()).data();
      if (data?.state && states.at(-1) !== data.state) states.push(String(data.state));
      if (data?.expectation) expectation = `${String(data.expectation.detail)}`;
      if (done()) return;
      if (Date.now() > deadline) {
        problems.push(`not ${what} within ${timeoutMs / 1000} s (states seen: ${states.join(' → ') || 'none'})`);
        return;
      }
    }
  };
  try {
    if ((await sync()).status !== 202) problems.push('the first sync_end was not accepted');
    await tickUntil('alerted as overdue', () => about().some((t) => t.includes('is overdue')));
    if ((await sync()).status !== 202) problems.push('the recovering sync_end was not accepted');
    await tickUntil('recovered', () => about().some((t) => t.includes('recovered')));
    // A few more ticks: a second alert or recovery would show up here.
    for (let i = 0; i < 3; i++) {
      await stack.tick();
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  } finally {
    await db.terminate();
  }
  const alerts = about().filter((t) => t.includes('is overdue'));
  const recoveries = about().filter((t) => t.includes('recovered'));
  const dbtRuns = triggerRequests(dbt).filter((r) => r.url.includes(`/jobs/${DEMO_FRESHNESS.job}/`)).length;
  if (alerts.length !== 1) problems.push(`${alerts.length} overdue alerts, expected 1`);
  if (recoveries.length !== 1) problems.push(`${recoveries.length} recovery messages, expected 1`);
  else if (!/expected syncs? (was|were) missed/.test(recoveries[0]!)) problems.push('the recovery message does not say how many syncs were missed');
  for (const state of ['fresh', 'overdue']) if (!states.includes(state)) problems.push(`never judged ${state}`);
  if (states.at(-1) !== 'fresh') problems.push(`ended ${states.at(-1) ?? 'unjudged'}, expected fresh`);
  if (dbtRuns !== 2) problems.push(`${dbtRuns} dbt runs of job ${DEMO_FRESHNESS.job}, expected 2 (one per sync)`);
  return { states, expectation, alerts, recoveries, dbtRuns, problems, ok: problems.length === 0 };
}
