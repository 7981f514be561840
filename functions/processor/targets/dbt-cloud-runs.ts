// dbt Cloud jobs as run targets, the I/O side: starting a run exactly once (the cause
// marker and the lookup after a lost answer are clients/dbt-cloud.ts's) and one look at the
// job's runs for the holder of a batch.
import type { DbtJobAction } from '../../generated/routing-config.schema.js';
import { runOfEvent, type DbtCloudClient, type ListedRun } from '../clients/dbt-cloud.js';
import { PermanentError } from '../errors.js';
import { markedEventId } from '../planning/cause-marker.js';
import { dbtRunPhase } from './dbt-cloud.js';
import type { ObservedRun, RunObservation, RunTargetClient } from './run-target.js';

/** The dbt Cloud client behind the core's RunTargetClient. */
export function dbtCloudRuns(client: DbtCloudClient): RunTargetClient {
  return {
    async start(event, run, { deadline, attempts, checkFirst, since }) {
      if (run.problem) throw new PermanentError(`${run.label}: ${run.problem}`, { system: 'dbt Cloud' });
      const started = await client.trigger(event, run.action as DbtJobAction, { deadline, attempts, checkFirst, since });
      return { runId: started.id, href: started.href, recovered: started.recovered };
    },
    /**
     * One list-runs call (the job's newest 100 runs with their triggers) answers both
     * questions in the usual case; a tracked run older than that page is asked for by id
     * (Retrieve Run with its trigger, https://docs.getdbt.com/dbt-cloud/api-v2#/operations/Retrieve%20Run),
     * and counts as this job's only if dbt Cloud says it is a run of this job.
     */
    async observe(target, ask, { deadline, attempts }): Promise<RunObservation> {
      const listed = await client.recentRuns(target.id, deadline, attempts);
      const observed = (run: ListedRun): ObservedRun => ({
        runId: run.id,
        ...dbtRunPhase(run.status),
        ...(run.createdAt ? { createdAt: run.createdAt } : {}),
        startedBy: markedEventId(run.cause) ?? null,
      });
      const runs = new Map<string, ObservedRun>();
      for (const runId of ask.runIds) {
        const inPage = listed.find((run) => run.id === Number(runId));
        const byId = inPage ? undefined : await client.runById(Number(runId), deadline, attempts);
        const run = inPage ?? (byId?.jobId === target.id ? byId : undefined);
        runs.set(String(runId), run ? observed(run) : { runId: Number(runId), phase: 'ended', status: byId ? 'a run of another job' : 'unknown', startedBy: null });
      }
      const byHolder = new Map<string, ObservedRun>();
      for (const holder of ask.holders) {
        const found = runOfEvent(listed, holder);
        if (found) byHolder.set(holder, observed(found));
      }
      return { runs, byHolder };
    },
  };
}
