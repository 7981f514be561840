// `postload check` for the run targets beside dbt Cloud (issue 28): each Cloud Run job the
// routing file names exists and the caller holds what the processor needs on it (asked with
// testIamPermissions, which answers for the identity running the check: run it as, or
// impersonating, the processor's service account); each Airflow DAG exists and the
// credentials read it. An HTTP call's secrets are checked with the other secrets.
import { AirflowClient } from '../processor/clients/airflow.js';
import { CloudRunClient, shortJob } from '../processor/clients/cloud-run.js';
import { accessTokensFor, runtimeAccessTokens } from '../processor/clients/google-token.js';
import { deadlineIn, type FetchLike, type RetryPolicy } from '../processor/clients/http-retry.js';
import type { TargetSettings } from '../processor/targets/settings.js';
import { namedTargets } from '../processor/targets/settings.js';
import type { RoutingConfig } from '../generated/routing-config.schema.js';
import type { CheckResult } from './check.js';

/** What the processor does with a Cloud Run job: run it with overrides, read it and its executions. */
export const CLOUD_RUN_NEEDED = ['run.jobs.run', 'run.jobs.runWithOverrides', 'run.jobs.get', 'run.executions.get', 'run.executions.list'] as const;

const POLICY: RetryPolicy = { callTimeoutMs: 10_000, minDelayMs: 200, maxDelayMs: 1_000, maxAttempts: 2 };

export async function checkRunTargets(config: RoutingConfig, targets: TargetSettings, fetch?: FetchLike): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const http = { policy: POLICY, ...(fetch ? { fetch } : {}) };
  const named = namedTargets(config);
  const jobs = [...new Set(named.cloudRun.map((n) => n.action.job))];
  if (jobs.length && targets.cloudRunBaseUrl) {
    const baseUrl = targets.cloudRunBaseUrl;
    const client = new CloudRunClient({ baseUrl, tokens: accessTokensFor(baseUrl, () => runtimeAccessTokens()), ...http });
    for (const job of jobs) {
      const check = `Cloud Run job ${shortJob(job)}`;
      try {
        const { exists, held } = await client.checkJob(job, CLOUD_RUN_NEEDED, deadlineIn(20_000));
        const missing = CLOUD_RUN_NEEDED.filter((p) => !held.includes(p));
        if (!exists) results.push({ check, ok: false, detail: `${job} does not exist, or this identity may not see it (${missing.join(', ') || 'run.jobs.get'} missing): fix the job in the routing file, or grant roles/run.jobsExecutorWithOverrides and roles/run.viewer on it (Terraform does, from the routing file)` });
        else if (missing.length) results.push({ check, ok: false, detail: `exists, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not granted on it: grant roles/run.jobsExecutorWithOverrides and roles/run.viewer on the job (Terraform does, from the routing file)` });
        else results.push({ check, ok: true, detail: `exists; ${CLOUD_RUN_NEEDED.length} permissions held (run with overrides, read executions)` });
      } catch (error) {
        results.push({ check, ok: false, detail: (error as Error).message });
      }
    }
  }
  const client = new AirflowClient(http);
  for (const target of targets.airflow.values()) {
    const check = `Airflow DAG ${target.dagId}`;
    try {
      const found = await client.checkDag(target, deadlineIn(20_000));
      results.push(found === 'ok' ? { check, ok: true, detail: `exists at ${target.api}; the credentials read it` } : { check, ok: false, detail: `not found at ${target.api}: fix the dagId or api in the routing file (is the DAG file deployed, and not paused?)` });
    } catch (error) {
      results.push({ check, ok: false, detail: (error as Error).message });
    }
  }
  return results;
}
