import { isDeepStrictEqual } from 'node:util';
import type { RouteMatch, RoutingConfig, StringMatch } from '../../generated/routing-config.schema.js';
import { joinTarget, plannedRun, routeTargets, type AnyTargetAction } from '../targets/kinds.js';
import { DEFAULT_BUSY_POLICY } from '../targets/run-target.js';
import { checkTargets } from './check-targets.js';
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

    const target = joinTarget(join);
    if (target?.action.on !== undefined) {
      problems.push({ pointer: `${at}/${target.field}/on`, message: 'is not used in a join: the join starts the job when every upstream has succeeded; remove it' });
    }

    const upstreamNames = new Map<string, number>();
    (join.upstreams ?? []).forEach((upstream, u) => {
      const up = `${at}/upstreams/${u}`;
      const same = upstreamNames.get(upstream.name);
      if (same !== undefined) problems.push({ pointer: `${up}/name`, message: `"${upstream.name}" is also the name of ${at}/upstreams/${same}` });
      else upstreamNames.set(upstream.name, u);

      const twin = join.upstreams.findIndex((other, o) => o < u && isDeepStrictEqual(other.match, upstream.match));
      if (twin >= 0) problems.push({ pointer: `${up}/match`, message: `is the same as ${at}/upstreams/${twin}/match: one load would count as two upstreams` });

      const impossible = unsatisfiable(upstream.match, join.dbtJob ? String(join.dbtJob.jobId) : undefined);
      if (impossible) problems.push({ pointer: `${up}/match/${impossible.field}`, message: impossible.message });
    });
  });

  problems.push(...checkTargets(config), ...conflictingJobs(config), ...badLimits(config));
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
    const list = byJob.get(naming.key) ?? [];
    list.push(naming);
    byJob.set(naming.key, list);
    const interval = naming.job.limits?.minInterval;
    if (interval === undefined) continue;
    try {
      parseDuration(interval);
    } catch (error) {
      if (!(error instanceof DurationError)) throw error;
      problems.push({ pointer: `${naming.pointer}/limits/minInterval`, message: error.message });
    }
  }
  for (const namings of byJob.values()) {
    const limited = namings.find((n) => n.job.limits !== undefined);
    if (!limited) continue;
    for (const other of namings) {
      if (other === limited) continue;
      if (!isDeepStrictEqual(other.job.limits, limited.job.limits)) {
        problems.push({ pointer: `${other.pointer}/limits`, message: `names ${limited.label} with other limits than ${limited.pointer}: a job's run limits must be the same wherever it is named` });
      } else if ((other.job.onBusy ?? DEFAULT_BUSY_POLICY) !== (limited.job.onBusy ?? DEFAULT_BUSY_POLICY)) {
        problems.push({ pointer: `${other.pointer}/onBusy`, message: `names ${limited.label} with another onBusy than ${limited.pointer}: a job with run limits must use one onBusy everywhere` });
      }
    }
  }
  return problems;
}

/** Every target named anywhere (joins first), of every kind, with what identifies it and its options as written. */
function allNamings(config: RoutingConfig): Naming[] {
  const naming = (target: AnyTargetAction, pointer: string): Naming => {
    // Planned without its limits, whose problems badLimits reports with their pointer; a
    // field the kind cannot read (a bad timeout) is checkTargets' to report, so it plans as a
    // run with no options here instead of stopping every other check.
    const unlimited = { ...target, action: { ...target.action, limits: undefined } } as AnyTargetAction;
    let run: ReturnType<typeof plannedRun>;
    try {
      run = plannedRun(unlimited, '');
    } catch {
      run = { ...plannedRun({ ...unlimited, action: { ...unlimited.action, timeout: undefined } } as AnyTargetAction, ''), options: {} };
    }
    return { pointer, key: `${run.target.kind}/${run.target.id}`, label: run.label, job: target.action, options: run.options };
  };
  const places = [...config.routes.map((route, r) => [`/routes/${r}`, route] as const), ...(config.defaultRoute ? [['/defaultRoute', config.defaultRoute] as const] : [])];
  return [
    ...(config.joins ?? []).flatMap((join, j) => {
      const target = joinTarget(join);
      return target ? [naming(target, `/joins/${j}/${target.field}`)] : [];
    }),
    ...places.flatMap(([at, actions]) => routeTargets(actions).map((target) => naming(target, `${at}/${target.field}/${target.index}`))),
  ];
}

/** Why no SyncEvent can ever satisfy this upstream, or undefined when some can. */
function unsatisfiable(match: RouteMatch, joinJobId: string | undefined): { field: string; message: string } | undefined {
  if (match.source !== 'dbt-cloud' || match.connectorId === undefined) return undefined;
  const jobId = match.connectorId;
  // A dbt Cloud event's connector id is its job id: digits only.
  if (typeof jobId === 'string' && !/^[1-9][0-9]*$/.test(jobId)) {
    return { field: 'connectorId', message: `is "${jobId}", but a dbt Cloud event's connector id is its job id (digits): no event can match` };
  }
  if (typeof jobId === 'object' && 'glob' in jobId && /[^0-9*?]/.test(jobId.glob)) {
    return { field: 'connectorId', message: `{"glob": "${jobId.glob}"} can match only digits (dbt Cloud job ids): no event can match` };
  }
  if (joinJobId !== undefined && exactly(jobId) === joinJobId) {
    return { field: 'connectorId', message: `is the join's own job ${joinJobId}: the join would wait for itself` };
  }
  return undefined;
}

function exactly(condition: StringMatch): string | undefined {
  return typeof condition === 'string' ? condition : undefined;
}

interface Naming {
  pointer: string;
  /** The target's kind and id. */
  key: string;
  label: string;
  job: { onBusy?: string; limits?: { minInterval?: string; maxRunsPerDay?: number } };
  /** What a run does, as written (templates unfilled). */
  options: Record<string, unknown>;
}

/** Every job a join names must be named everywhere else with the same run options and policy. */
function conflictingJobs(config: RoutingConfig): OrchestrationProblem[] {
  const byJob = new Map<string, Naming[]>();
  for (const naming of allNamings(config)) {
    const list = byJob.get(naming.key) ?? [];
    list.push(naming);
    byJob.set(naming.key, list);
  }

  const problems: OrchestrationProblem[] = [];
  for (const namings of byJob.values()) {
    const inJoin = namings.filter((n) => n.pointer.startsWith('/joins/'));
    if (!inJoin.length) continue;
    const reference = inJoin[0]!;
    for (const other of namings) {
      if (other === reference) continue;
      const differs = differences(reference, other);
      if (differs.length) {
        problems.push({
          pointer: other.pointer,
          message: `names ${reference.label} with ${differs.join(', ')} different from ${reference.pointer}: a job a join starts must have the same options and onBusy wherever it is named`,
        });
      }
    }
  }
  return problems;
}

function differences(a: Naming, b: Naming): string[] {
  const keys = [...new Set([...Object.keys(a.options), ...Object.keys(b.options)])].sort();
  const differ = keys.filter((key) => !isDeepStrictEqual(a.options[key], b.options[key]));
  if ((a.job.onBusy ?? DEFAULT_BUSY_POLICY) !== (b.job.onBusy ?? DEFAULT_BUSY_POLICY)) differ.push('onBusy');
  return differ;
}
