// Airflow DAGs as run targets, the I/O side: a DAG run per action, created once (its id is
// the action's: a retry meets a 409 and finds it), and what became of DAG runs.
import type { AirflowClient, AirflowTarget } from '../clients/airflow.js';
import { PermanentError } from '../errors.js';
import { airflowActionId, dagRunId, observedDagRun, type AirflowOptions } from './airflow.js';
import type { FollowedStatus, ObservedRun, RunObservation, RunTargetClient, TargetKey } from './run-target.js';

/** Each Airflow target the routing file names (by target id: `<api>#<dag id>`), with how to sign in to it. */
export type AirflowTargets = ReadonlyMap<string, AirflowTarget>;

export function airflowRuns(client: AirflowClient, targets: AirflowTargets): RunTargetClient {
  const targetOf = (key: TargetKey): AirflowTarget => {
    const found = targets.get(key.id);
    if (!found) throw new PermanentError(`Airflow target ${key.id} is not in the routing file`, { system: 'Airflow' });
    return found;
  };
  return {
    async start(event, run, { deadline, attempts }) {
      if (run.problem) throw new PermanentError(`${run.label}: ${run.problem}`, { system: 'Airflow' });
      const target = targetOf(run.target);
      const options = run.options as unknown as AirflowOptions;
      const note = `postload: ${event.source} ${event.type} for ${event.connector.name ?? event.connector.id ?? 'unknown connector'} [event ${event.id}]`.slice(0, 1000);
      const { run: created, recovered } = await client.trigger(target, dagRunId(event.id, run.actionId), { conf: options.conf, note }, { deadline, attempts });
      return { runId: created.runId, href: dagRunHref(target, created.runId), recovered };
    },
    async observe(key, ask, { deadline, attempts }): Promise<RunObservation> {
      const target = targetOf(key);
      const runs = new Map<string, ObservedRun>();
      for (const runId of ask.runIds) {
        const found = await client.dagRun(target, String(runId), deadline, attempts);
        runs.set(String(runId), found ? observedDagRun(found) : { runId, phase: 'ended', status: 'unknown' });
      }
      const byHolder = new Map<string, ObservedRun>();
      const actionId = airflowActionId({ api: target.api, dagId: target.dagId });
      for (const holder of ask.holders) {
        const found = await client.dagRun(target, dagRunId(holder, actionId), deadline, attempts);
        if (found) byHolder.set(holder, observedDagRun(found));
      }
      return { runs, byHolder };
    },
    async status(key, runId, { deadline, attempts }): Promise<FollowedStatus | undefined> {
      const target = targetOf(key);
      const found = await client.dagRun(target, String(runId), deadline, attempts);
      if (!found) return undefined;
      const outcome = found.state === 'success' ? 'succeeded' : found.state === 'failed' ? 'failed' : undefined;
      return { ...observedDagRun(found), startedAt: found.startDate, finishedAt: found.endDate, message: found.state === 'failed' ? `DAG run ${found.runId} failed` : null, href: dagRunHref(target, found.runId), ...(outcome ? { outcome } : {}) };
    },
  };
}

/** The DAG run in Airflow's UI: the web server is the API base without /api/vN (Airflow 2's grid view, Airflow 3's run page). */
export function dagRunHref(target: AirflowTarget, runId: string): string {
  const web = target.api.replace(/\/api\/v[12]$/, '');
  const dag = encodeURIComponent(target.dagId);
  return target.api.endsWith('/api/v2') ? `${web}/dags/${dag}/runs/${encodeURIComponent(runId)}` : `${web}/dags/${dag}/grid?dag_run_id=${encodeURIComponent(runId)}`;
}
