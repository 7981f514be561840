import { isDeepStrictEqual } from 'node:util';
import type { DbtJobAction, RouteMatch, RoutingConfig, StringMatch } from '../../generated/routing-config.schema.js';
import { DEFAULT_BUSY_POLICY } from '../targets/run-target.js';
import { dbtRunOptions } from '../targets/dbt-cloud.js';
import { DurationError, parseDuration } from './duration.js';

/** A routing file problem the schema cannot express, at a JSON pointer into the file. */
export interface OrchestrationProblem {
  pointer: string;
  message: string;
}

/**
 * Checks on joins and busy policies beyond the schema, run at start-up after schema
 * validation: duplicate names, bad windows, upstreams no event can satisfy, and jobs
 * named with conflicting options (a job must do the same work, under the same policy,
 * wherever a join names it, or coalescing would merge different runs).
 */
export function checkOrchestration(config: RoutingConfig): OrchestrationProblem[] {
  const problems: OrchestrationProblem[] = [];
  const joins = config.joins ?? [];
  const names = new Map<string, number>();

  joins.forEach((join, j) => {
    const at = `/joins/${j}`;
    const first = names.get(join.name.toLowerCase());
    if (first !== undefined) problems.push({ pointer: `${at}/name`, message: `"${join.name}" is also the name of /joins/${first} (names are document ids; case is ignored)` });
    else names.set(join.name.toLowerCase(), j);

    // The schema already refuses an empty list; this keeps the rule when the file is built in code.
    if (!join.upstreams?.length) problems.push({ pointer: `${at}/upstreams`, message: 'is empty: a join needs at least one upstream' });

    try {
      parseDuration(join.within);
    } catch (error) {
      if (!(error instanceof DurationError)) throw error;
      problems.push({ pointer: `${at}/within`, message: error.message });
    }

    if (join.dbtJob.on !== undefined) {
      problems.push({ pointer: `${at}/dbtJob/on`, message: 'is not used in a join: the join starts the job when every upstream has succeeded; remove it' });
    }

    const upstreamNames = new Map<string, number>();
    (join.upstreams ?? []).forEach((upstream, u) => {
      const up = `${at}/upstreams/${u}`;
      const same = upstreamNames.get(upstream.name);
      if (same !== undefined) problems.push({ pointer: `${up}/name`, message: `"${upstream.name}" is also the name of ${at}/upstreams/${same}` });
      else upstreamNames.set(upstream.name, u);

      const twin = join.upstreams.findIndex((other, o) => o < u && isDeepStrictEqual(other.match, upstream.match));
      if (twin >= 0) problems.push({ pointer: `${up}/match`, message: `is the same as ${at}/upstreams/${twin}/match: one load would count as two upstreams` });

      const impossible = unsatisfiable(upstream.match, String(join.dbtJob.jobId));
      if (impossible) problems.push({ pointer: `${up}/match/${impossible.field}`, message: impossible.message });
    });
  });

  problems.push(...conflictingJobs(config), ...badLimits(config));
  return problems;
}

/**
 * Run limits (issue 25 finding 6) are per job: a bad minInterval is refused, and every
 * naming of a job must give the same limits (or none, where another names them, would be
 * ambiguous: say them once per job everywhere it is named). With limits, `queue` and the
 * batching policies keep separate counts, so one job must use one onBusy.
 */
function badLimits(config: RoutingConfig): OrchestrationProblem[] {
  const problems: OrchestrationProblem[] = [];
  const byJob = new Map<string, Naming[]>();
  for (const naming of allNamings(config)) {
    const list = byJob.get(String(naming.job.jobId)) ?? [];
    list.push(naming);
    byJob.set(String(naming.job.jobId), list);
    const interval = naming.job.limits?.minInterval;
    if (interval === undefined) continue;
    try {
      parseDuration(interval);
    } catch (error) {
      if (!(error instanceof DurationError)) throw error;
      problems.push({ pointer: `${naming.pointer}/limits/minInterval`, message: error.message });
    }
  }
  for (const [jobId, namings] of byJob) {
    const limited = namings.find((n) => n.job.limits !== undefined);
    if (!limited) continue;
    for (const other of namings) {
      if (other === limited) continue;
      if (!isDeepStrictEqual(other.job.limits, limited.job.limits)) {
        problems.push({ pointer: `${other.pointer}/limits`, message: `names dbt job ${jobId} with other limits than ${limited.pointer}: a job's run limits must be the same wherever it is named` });
      } else if ((other.job.onBusy ?? DEFAULT_BUSY_POLICY) !== (limited.job.onBusy ?? DEFAULT_BUSY_POLICY)) {
        problems.push({ pointer: `${other.pointer}/onBusy`, message: `names dbt job ${jobId} with another onBusy than ${limited.pointer}: a job with run limits must use one onBusy everywhere` });
      }
    }
  }
  return problems;
}

function allNamings(config: RoutingConfig): Naming[] {
  return [
    ...(config.joins ?? []).map((join, j) => ({ pointer: `/joins/${j}/dbtJob`, job: join.dbtJob })),
    ...config.routes.flatMap((route, r) => (route.dbtJobs ?? []).map((job, i) => ({ pointer: `/routes/${r}/dbtJobs/${i}`, job }))),
    ...(config.defaultRoute?.dbtJobs ?? []).map((job, i) => ({ pointer: `/defaultRoute/dbtJobs/${i}`, job })),
  ];
}

/** Why no SyncEvent can ever satisfy this upstream, or undefined when some can. */
function unsatisfiable(match: RouteMatch, joinJobId: string): { field: string; message: string } | undefined {
  if (match.source !== 'dbt-cloud' || match.connectorId === undefined) return undefined;
  const jobId = match.connectorId;
  // A dbt Cloud event's connector id is its job id: digits only.
  if (typeof jobId === 'string' && !/^[1-9][0-9]*$/.test(jobId)) {
    return { field: 'connectorId', message: `is "${jobId}", but a dbt Cloud event's connector id is its job id (digits): no event can match` };
  }
  if (typeof jobId === 'object' && 'glob' in jobId && /[^0-9*?]/.test(jobId.glob)) {
    return { field: 'connectorId', message: `{"glob": "${jobId.glob}"} can match only digits (dbt Cloud job ids): no event can match` };
  }
  if (exactly(jobId) === joinJobId) {
    return { field: 'connectorId', message: `is the join's own job ${joinJobId}: the join would wait for itself` };
  }
  return undefined;
}

function exactly(condition: StringMatch): string | undefined {
  return typeof condition === 'string' ? condition : undefined;
}

interface Naming {
  pointer: string;
  job: DbtJobAction;
}

/** Every job a join names must be named everywhere else with the same run options and policy. */
function conflictingJobs(config: RoutingConfig): OrchestrationProblem[] {
  const byJob = new Map<string, Naming[]>();
  for (const naming of allNamings(config)) {
    const list = byJob.get(String(naming.job.jobId)) ?? [];
    list.push(naming);
    byJob.set(String(naming.job.jobId), list);
  }

  const problems: OrchestrationProblem[] = [];
  for (const [jobId, namings] of byJob) {
    const inJoin = namings.filter((n) => n.pointer.startsWith('/joins/'));
    if (!inJoin.length) continue;
    const reference = inJoin[0]!;
    for (const other of namings) {
      if (other === reference) continue;
      const differs = differences(reference.job, other.job);
      if (differs.length) {
        problems.push({
          pointer: other.pointer,
          message: `names dbt job ${jobId} with ${differs.join(', ')} different from ${reference.pointer}: a job a join starts must have the same options and onBusy wherever it is named`,
        });
      }
    }
  }
  return problems;
}

function differences(a: DbtJobAction, b: DbtJobAction): string[] {
  const optionsA = dbtRunOptions(a);
  const optionsB = dbtRunOptions(b);
  const keys = [...new Set([...Object.keys(optionsA), ...Object.keys(optionsB)])].sort();
  const differ = keys.filter((key) => !isDeepStrictEqual(optionsA[key], optionsB[key]));
  if ((a.onBusy ?? DEFAULT_BUSY_POLICY) !== (b.onBusy ?? DEFAULT_BUSY_POLICY)) differ.push('onBusy');
  return differ;
}
