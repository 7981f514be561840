// Cloud Run jobs as run targets, the pure side: the action id and label, the execution's
// overrides filled from the event and checked against Cloud Run's limits, execution states
// as the core's phases. cloud-run-runs.ts is the I/O side (clients/cloud-run.ts).
import type { CloudRunJobAction } from '../../generated/routing-config.schema.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import type { ExecutionState, ExecutionView } from '../clients/cloud-run.js';
import { shortJob } from '../clients/cloud-run.js';
import { parseDuration } from '../planning/duration.js';
import { compileLimits } from '../planning/run-limits.js';
import { optionsFingerprint } from '../planning/target-state.js';
import { renderString } from '../planning/templates.js';
import { bytes, idPart, OverrideLimitError, rendered, shortHash } from './overrides.js';
import { DEFAULT_BUSY_POLICY, type ObservedRun, type PlannedRun, type RunPhase, type RunTargetKind } from './run-target.js';

/**
 * Cloud Run's limits on what one execution may override (cloud.google.com/run/quotas;
 * cloud.google.com/run/docs/execute/jobs; k8s.min.proto for the EnvVar value): checked
 * before the call, so an override it would refuse is a permanent error of the action.
 */
export const CLOUD_RUN_OVERRIDE_LIMITS = {
  maxArgs: 1000,
  /** Per container, the job's own included; postload's POSTLOAD_ACTION_ID takes one. */
  maxEnvVars: 1000,
  maxEnvValueBytes: 32_768,
  maxTimeoutSeconds: 168 * 3600,
  maxTaskCount: 10_000,
} as const;

/** What one execution is run with (sent as the run's overrides, and fingerprinted). */
export interface CloudRunOptions {
  container?: string;
  args?: string[];
  /** Sorted by name. */
  env: Array<{ name: string; value: string }>;
  taskCount?: number;
  /** Seconds, as the API's Duration: "7200s". */
  timeout?: string;
}

export function cloudRunActionId(job: string): string {
  return `cloud-run-${idPart(job.split('/').pop() ?? job)}-${shortHash(job)}`;
}

/** The overrides for this event: templates filled (each value checked), then Cloud Run's limits. */
export function cloudRunOptions(action: CloudRunJobAction, event: SyncEvent | undefined): CloudRunOptions {
  const fill = (text: string, where: string) => (event ? renderString(text, event, where) : text);
  const env = Object.entries(action.env ?? {})
    .map(([name, value]) => ({ name, value: fill(value, `/env/${name}`) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const options: CloudRunOptions = {
    ...(action.container ? { container: action.container } : {}),
    ...(action.args ? { args: action.args.map((arg, i) => fill(arg, `/args/${i}`)) } : {}),
    env,
    ...(action.taskCount === undefined ? {} : { taskCount: action.taskCount }),
    ...(action.timeout === undefined ? {} : { timeout: `${Math.ceil(parseDuration(action.timeout) / 1000)}s` }),
  };
  const problem = overrideProblem(options);
  if (problem) throw new OverrideLimitError(problem);
  return options;
}

/** Why Cloud Run would refuse these overrides, or undefined. */
export function overrideProblem(options: CloudRunOptions): string | undefined {
  const limits = CLOUD_RUN_OVERRIDE_LIMITS;
  if ((options.args?.length ?? 0) > limits.maxArgs) return `${options.args!.length} args: Cloud Run takes at most ${limits.maxArgs} per container`;
  if (options.env.length + 1 > limits.maxEnvVars) return `${options.env.length} env vars and POSTLOAD_ACTION_ID: Cloud Run takes at most ${limits.maxEnvVars} per container`;
  const big = options.env.find((v) => bytes(v.value) > limits.maxEnvValueBytes);
  if (big) return `env ${big.name} is ${bytes(big.value)} bytes: Cloud Run takes at most ${limits.maxEnvValueBytes} per value`;
  if (options.timeout && Number.parseInt(options.timeout, 10) > limits.maxTimeoutSeconds) return `timeout ${options.timeout}: Cloud Run allows at most 168 hours per task`;
  if (options.taskCount !== undefined && options.taskCount > limits.maxTaskCount) return `taskCount ${options.taskCount}: Cloud Run allows at most ${limits.maxTaskCount}`;
  return undefined;
}

/** An execution's state as a phase: an execution that exists has been started (Cloud Run has no queue), so only one not yet running its tasks waits. */
export function executionPhase(state: ExecutionState): RunPhase {
  return state === 'pending' ? 'waiting' : state === 'running' ? 'running' : 'ended';
}

/** The run id postload keeps: the execution's short id (`dbt-core-abcde`); the full name is the job's name plus /executions/ and it. */
export function executionId(execution: ExecutionView): string {
  return execution.name.split('/').pop()!;
}

export function observedExecution(execution: ExecutionView): ObservedRun {
  return { runId: executionId(execution), phase: executionPhase(execution.state), status: execution.state, ...(execution.createTime ? { createdAt: execution.createTime } : {}) };
}

export const cloudRunKind: RunTargetKind<CloudRunJobAction> = {
  kind: 'cloud-run',
  plan(action, route, event): PlannedRun {
    const { options, problem } = rendered(
      () => cloudRunOptions(action, event),
      () => ({ env: [] }),
    );
    return {
      actionId: cloudRunActionId(action.job),
      actionKind: 'cloud-run',
      target: { kind: 'cloud-run', id: action.job },
      label: `Cloud Run job ${shortJob(action.job)}`,
      route,
      // A run that cannot start waits for nothing and takes no place in a batch.
      policy: problem ? 'queue' : (action.onBusy ?? DEFAULT_BUSY_POLICY),
      limits: problem ? undefined : compileLimits(action.limits),
      options: { ...options },
      fingerprint: optionsFingerprint({ ...options }),
      action,
      followed: true,
      startsAtOnce: true,
      ...(problem ? { problem } : {}),
    };
  },
  runNews: () => undefined,
};
