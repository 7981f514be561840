import type { DbtCloudWebhook, DbtCloudWebhookBody } from '../../vendors/dbt-cloud.js';
import { pointsAt } from './endpoints.js';
import { missingFrom, withAll, type Finding } from './report.js';

/** Each run's start and its outcome (docs/webhooks.md, "Which events"); job.run.errored is kept when a person added it. */
export const DBT_CLOUD_EVENTS = ['job.run.started', 'job.run.completed'] as const;
export const WEBHOOK_NAME = 'postload';
export const WEBHOOK_DESCRIPTION = 'postload: job runs to the SyncEvent topic (registered by postload connect)';

export interface DbtCloudWanted {
  accountId: string;
  /** postload's /dbt-cloud URL. */
  url: string;
  /** --job; empty: every job of the account. */
  jobIds: number[];
  newSecret: boolean;
}

export interface DbtCloudObserved {
  webhooks: DbtCloudWebhook[];
  /** The enabled versions of DBT_CLOUD_WEBHOOK_SECRET's secret, newest first. */
  secretVersions: string[];
}

export type DbtCloudPlan =
  | { kind: 'create'; body: DbtCloudWebhookBody }
  | { kind: 'update'; id: string; body: DbtCloudWebhookBody; changed: string[]; duplicates: DbtCloudWebhook[] }
  | { kind: 'keep'; webhook: DbtCloudWebhook; duplicates: DbtCloudWebhook[] }
  /** A new webhook (its hmac_secret stored), then the old ones deleted: the secret is lost, or a new one was asked for. */
  | { kind: 'replace'; body: DbtCloudWebhookBody; old: DbtCloudWebhook[]; why: string };

function sameJobs(a: readonly string[], b: readonly number[]): boolean {
  const left = new Set(a.map(Number));
  return left.size === new Set(b).size && b.every((id) => left.has(id));
}

/**
 * What to do. dbt Cloud shows a webhook's hmac_secret once, when it is created, so a
 * webhook whose secret is not in Secret Manager (no enabled version) can only be replaced.
 */
export function planDbtCloud(observed: DbtCloudObserved, wanted: DbtCloudWanted): DbtCloudPlan {
  const ours = observed.webhooks.filter((w) => pointsAt(w.clientUrl, wanted.url));
  const fresh: DbtCloudWebhookBody = { name: WEBHOOK_NAME, description: WEBHOOK_DESCRIPTION, client_url: wanted.url, event_types: [...DBT_CLOUD_EVENTS], job_ids: [...wanted.jobIds], active: true };
  if (ours.length === 0) return { kind: 'create', body: fresh };
  const lost = observed.secretVersions.length === 0;
  if (lost || wanted.newSecret) {
    const keepEvents = withAll(ours[0]!.eventTypes, DBT_CLOUD_EVENTS);
    return {
      kind: 'replace',
      body: { ...fresh, event_types: keepEvents },
      old: ours,
      why: lost ? 'its hmac_secret is not in Secret Manager (no enabled version), and dbt Cloud never shows it again' : 'a new secret was asked for (--new-secret)',
    };
  }
  const [existing, ...duplicates] = ours as [DbtCloudWebhook, ...DbtCloudWebhook[]];
  const changed: string[] = [];
  const missing = missingFrom(existing.eventTypes, DBT_CLOUD_EVENTS);
  if (missing.length > 0) changed.push(`events + ${missing.join(', ')}`);
  if (!sameJobs(existing.jobIds, wanted.jobIds)) changed.push(`jobs ${describeJobs(existing.jobIds.map(Number))} → ${describeJobs(wanted.jobIds)}`);
  if (!existing.active) changed.push(`activated${existing.deactivateReason ? ` (dbt Cloud said: ${existing.deactivateReason})` : ''}`);
  if (existing.clientUrl !== wanted.url) changed.push(`url ${existing.clientUrl} → ${wanted.url}`);
  if (changed.length === 0) return { kind: 'keep', webhook: existing, duplicates };
  // PUT replaces the whole subscription: its name and description stay as a person may have set them.
  const body: DbtCloudWebhookBody = {
    name: existing.name || WEBHOOK_NAME,
    description: existing.description,
    client_url: wanted.url,
    event_types: withAll(existing.eventTypes, DBT_CLOUD_EVENTS),
    job_ids: [...wanted.jobIds],
    active: true,
  };
  return { kind: 'update', id: existing.id, body, changed, duplicates };
}

export function describeJobs(jobIds: readonly number[]): string {
  return jobIds.length === 0 ? 'every job' : `job${jobIds.length > 1 ? 's' : ''} ${jobIds.join(', ')}`;
}

/** `connect --check`: a webhook here, active, with postload's events (and the jobs, when --job is given), and its secret stored. */
export function checkDbtCloud(observed: DbtCloudObserved, url: string, accountId: string, jobIds: number[] | undefined, secretName: string): Finding[] {
  const fix = `postload connect dbt-cloud --account ${accountId}${(jobIds ?? []).map((j) => ` --job ${j}`).join('')}`;
  const ours = observed.webhooks.filter((w) => pointsAt(w.clientUrl, url));
  const findings: Finding[] = ours.map((w) => {
    const details: string[] = [];
    if (!w.active) details.push(`inactive${w.deactivateReason ? ` (dbt Cloud: ${w.deactivateReason})` : ''}: dbt Cloud sends it nothing`);
    const missing = missingFrom(w.eventTypes, DBT_CLOUD_EVENTS);
    if (missing.length > 0) details.push(`does not send ${missing.join(', ')}`);
    if (jobIds && !sameJobs(w.jobIds, jobIds)) details.push(`follows ${describeJobs(w.jobIds.map(Number))}, not ${describeJobs(jobIds)}`);
    const ok = details.length === 0;
    return {
      vendor: 'dbt-cloud',
      subject: `account ${accountId} webhook ${w.id}`,
      ok,
      details: ok ? [`active, events ${w.eventTypes.join(', ')}, ${describeJobs(w.jobIds.map(Number))}`] : details,
      ...(ok ? {} : { fix }),
    };
  });
  if (ours.length === 0) findings.push({ vendor: 'dbt-cloud', subject: `account ${accountId}`, ok: false, details: [`no webhook points at ${url}`], fix });
  if (observed.secretVersions.length === 0) {
    findings.push({ vendor: 'dbt-cloud', subject: secretName, ok: false, details: ['no enabled version: the ingest function refuses every dbt Cloud delivery (and dbt Cloud deactivates a webhook after 5 failures)'], fix });
  }
  return findings;
}
