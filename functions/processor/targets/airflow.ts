// Airflow DAGs (Cloud Composer, or any Airflow 2 or 3) as run targets, the pure side: the
// action id, the DAG run id derived from the event and the action (so a run is created
// once: Airflow answers a second create with 409), the conf filled from the event, DAG run
// states as the core's phases. airflow-runs.ts is the I/O side (clients/airflow.ts).
import type { AirflowDagAction } from '../../generated/routing-config.schema.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { MAX_RUN_ID_LENGTH, RUN_ID_PATTERN, type DagRunView } from '../clients/airflow.js';
import { compileLimits } from '../planning/run-limits.js';
import { optionsFingerprint, sortedKeys } from '../planning/target-state.js';
import { renderJson } from '../planning/templates.js';
import { idPart, OverrideLimitError, rendered, shortHash } from './overrides.js';
import { DEFAULT_BUSY_POLICY, type ObservedRun, type PlannedRun, type RunPhase, type RunTargetKind } from './run-target.js';

/** The target's identity: one DAG of one Airflow. */
export function airflowTargetId(action: Pick<AirflowDagAction, 'api' | 'dagId'>): string {
  return `${action.api}#${action.dagId}`;
}

export function airflowActionId(action: Pick<AirflowDagAction, 'api' | 'dagId'>): string {
  return `airflow-${idPart(action.dagId)}-${shortHash(airflowTargetId(action))}`;
}

/**
 * The DAG run id of an event's action: `postload-<event id>-<action id>`. It matches
 * Airflow's default allowed_run_id_pattern (^[A-Za-z0-9_.~:+-]+$) and is far below the
 * column's 250 characters (event ids are 32 hex, action ids at most ~55).
 */
export function dagRunId(eventId: string, actionId: string): string {
  const id = `postload-${eventId}-${actionId}`;
  if (!RUN_ID_PATTERN.test(id) || id.length > MAX_RUN_ID_LENGTH) throw new OverrideLimitError(`DAG run id ${id} would not be accepted by Airflow`);
  return id;
}

export interface AirflowOptions {
  conf: Record<string, unknown>;
}

export function airflowOptions(action: AirflowDagAction, event: SyncEvent | undefined): AirflowOptions {
  const conf = (action.conf ?? {}) as Record<string, unknown>;
  return { conf: sortedKeys((event ? renderJson(conf, event, '/conf') : conf) as Record<string, unknown>) };
}

/** A DAG run's state as a phase: queued waits (it has read nothing yet), running runs, success and failed have ended. */
export function dagRunPhase(run: DagRunView): RunPhase {
  if (run.state === 'queued') return 'waiting';
  if (run.state === 'success' || run.state === 'failed') return 'ended';
  return 'running';
}

export function observedDagRun(run: DagRunView): ObservedRun {
  return { runId: run.runId, phase: dagRunPhase(run), status: run.rawState, ...(run.createdAt ? { createdAt: run.createdAt } : {}) };
}

export const airflowKind: RunTargetKind<AirflowDagAction> = {
  kind: 'airflow',
  plan(action, route, event): PlannedRun {
    const { options, problem } = rendered(
      () => airflowOptions(action, event),
      () => ({ conf: {} }),
    );
    return {
      actionId: airflowActionId(action),
      actionKind: 'airflow',
      target: { kind: 'airflow', id: airflowTargetId(action) },
      label: `Airflow DAG ${action.dagId}`,
      route,
      policy: problem ? 'queue' : (action.onBusy ?? DEFAULT_BUSY_POLICY),
      limits: problem ? undefined : compileLimits(action.limits),
      options: { ...options },
      fingerprint: optionsFingerprint({ ...options }),
      action,
      followed: true,
      ...(problem ? { problem } : {}),
    };
  },
  runNews: () => undefined,
};
