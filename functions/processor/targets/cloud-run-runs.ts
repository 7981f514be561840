// Cloud Run jobs as run targets, the I/O side: one execution per action, exactly once (the
// action's id in POSTLOAD_ACTION_ID, looked for after a lost answer), and what became of
// executions, for a batch's holder and for the sweep that follows runs to their end.
import type { CloudRunClient } from '../clients/cloud-run.js';
import { PermanentError } from '../errors.js';
import { cloudRunActionId, executionId, observedExecution, type CloudRunOptions } from './cloud-run.js';
import type { FollowedStatus, ObservedRun, RunObservation, RunTargetClient, TargetKey } from './run-target.js';

/** The POSTLOAD_ACTION_ID of an event's action: `<event id>.<action id>`. */
export function actionMarker(eventId: string, actionId: string): string {
  return `${eventId}.${actionId}`;
}

export function executionName(job: string, runId: string | number): string {
  return `${job}/executions/${runId}`;
}

export function cloudRunRuns(client: CloudRunClient): RunTargetClient {
  return {
    async start(event, run, { deadline, attempts, checkFirst, since }) {
      if (run.problem) throw new PermanentError(`${run.label}: ${run.problem}`, { system: 'Cloud Run' });
      const options = run.options as unknown as CloudRunOptions;
      const started = await client.run(run.target.id, actionMarker(event.id, run.actionId), options, { deadline, attempts, checkFirst, since });
      return { runId: executionId(started.execution), href: started.execution.logUri, recovered: started.recovered };
    },
    /**
     * The execution a deferred batch is owed, started by the sweep for the batch's holder
     * event: the same marker the holder would have used, so a tick that died after the call
     * finds it (checkFirst) instead of starting a second one.
     */
    async startDeferred(holderEventId, run, { deadline, attempts, checkFirst, since }) {
      const options = run.options as unknown as CloudRunOptions;
      const started = await client.run(run.target.id, actionMarker(holderEventId, run.actionId), options, { deadline, attempts, checkFirst, since });
      return { runId: executionId(started.execution), href: started.execution.logUri, recovered: started.recovered };
    },
    /** Each tracked execution by name; the executions of earlier holders from one page of the job's newest. */
    async observe(target, ask, { deadline, attempts }): Promise<RunObservation> {
      const runs = new Map<string, ObservedRun>();
      for (const runId of ask.runIds) {
        const execution = await client.execution(executionName(target.id, runId), deadline, attempts);
        runs.set(String(runId), execution ? observedExecution(execution) : { runId, phase: 'ended', status: 'unknown' });
      }
      const byHolder = new Map<string, ObservedRun>();
      if (ask.holders.length) {
        const recent = await client.recentExecutions(target.id, deadline, attempts);
        const actionId = cloudRunActionId(target.id);
        for (const holder of ask.holders) {
          const found = recent.find((e) => e.actionId === actionMarker(holder, actionId));
          if (found) byHolder.set(holder, observedExecution(found));
        }
      }
      return { runs, byHolder };
    },
    async status(target: TargetKey, runId, { deadline, attempts }): Promise<FollowedStatus | undefined> {
      const execution = await client.execution(executionName(target.id, runId), deadline, attempts);
      if (!execution) return undefined;
      const observed = observedExecution(execution);
      const outcome = execution.state === 'succeeded' ? 'succeeded' : execution.state === 'failed' ? 'failed' : execution.state === 'cancelled' ? 'cancelled' : undefined;
      return { ...observed, startedAt: execution.startTime, finishedAt: execution.completionTime, message: execution.message, href: execution.logUri, ...(outcome ? { outcome } : {}) };
    },
  };
}
