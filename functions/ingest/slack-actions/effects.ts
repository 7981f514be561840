import type { Firestore } from '@google-cloud/firestore';
import type { Deadline } from '../../processor/clients/http-retry.js';
import type { ButtonAction } from '../../shared/slack-buttons.js';
import type { DbtCloudAdminClient } from '../../vendors/dbt-cloud.js';
import { setFreshnessPause } from '../../sweep/freshness/pause.js';
import { VendorApiError } from '../../vendors/vendor-error.js';
import type { SlackUserRef } from './ledger.js';

// What each button does, one entry per kind (as ingest/sources.ts has one per vendor),
// through the same store functions and vendor clients as the CLI. An effect either
// succeeds with a summary, refuses for good (EffectRefused: recorded, the button is spent),
// or cannot be done now (EffectUnavailable: released, the next press tries again).

export class EffectRefused extends Error {}
export class EffectUnavailable extends Error {}

export interface EffectResult {
  /** One line for the person who pressed, the channel's thread and the record. */
  summary: string;
  result: Record<string, unknown>;
}

export interface EffectContext {
  db: Firestore;
  freshnessCollection: string;
  now: () => number;
  /** dbt Cloud, when the ingest function has its settings (the same as the processor's). */
  dbt: { client: DbtCloudAdminClient; accountId: string } | undefined;
  by: SlackUserRef;
  deadline: Deadline;
}

type Effect<A extends ButtonAction> = (action: A, context: EffectContext) => Promise<EffectResult>;

const EFFECTS: { [K in ButtonAction['kind']]: Effect<Extract<ButtonAction, { kind: K }>> } = {
  'retry-run': async (action, { dbt, deadline }) => {
    if (!dbt) throw new EffectRefused('dbt Cloud is not configured for the ingest function (DBT_CLOUD_ACCOUNT_ID, DBT_CLOUD_API_TOKEN): retry the run in dbt Cloud');
    try {
      const run = await dbt.client.retryRun({ deadline, accountId: dbt.accountId, runId: action.runId });
      return { summary: `retried dbt Cloud run ${action.runId} of job ${action.jobId}: run ${run.id} is queued`, result: { runId: run.id, href: run.href } };
    } catch (error) {
      if (!(error instanceof VendorApiError)) throw error;
      if (error.failure === 'refused') throw new EffectRefused(`dbt Cloud would not retry run ${action.runId}: ${error.message}`);
      throw new EffectUnavailable(`dbt Cloud could not be asked to retry run ${action.runId} (${error.message}); press the button again in a minute`);
    }
  },
  snooze: async (action, { db, freshnessCollection, by, now }) => {
    const until = now() + action.forMs;
    const found = await setFreshnessPause(db, freshnessCollection, action.connector, { until, by: `Slack user ${by.name} (${by.id})`, reason: `snoozed from Slack, incident ${action.incident}`, at: now() }).catch((error: unknown) => {
      throw new EffectUnavailable(`Firestore could not be written (${(error as Error).message})`);
    });
    if (!found) throw new EffectRefused(`${action.connector} is not watched for freshness (no freshness document)`);
    return { summary: `snoozed ${action.connector} until ${new Date(until).toISOString().replace(/\.\d{3}Z$/, 'Z')}: no freshness alert or reminder until then`, result: { pausedUntil: until } };
  },
};

export function performEffect(action: ButtonAction, context: EffectContext): Promise<EffectResult> {
  return (EFFECTS[action.kind] as Effect<ButtonAction>)(action, context);
}
