// Start-up checks on the run targets (issue 28) the schema cannot express, each naming the
// field by JSON pointer: a join names exactly one target and no templates (its run covers
// several loads); every template names known fields, with no list in a dbt Cloud step; a
// Cloud Run timeout is a duration Cloud Run allows; an HTTP call's name means one call and an
// Airflow DAG one set of credentials wherever they are named.
import { isDeepStrictEqual } from 'node:util';
import type { RoutingConfig } from '../../generated/routing-config.schema.js';
import { CLOUD_RUN_OVERRIDE_LIMITS } from '../targets/cloud-run.js';
import { airflowTargetId } from '../targets/airflow.js';
import { joinTarget, routeTargets, TARGET_FIELDS, type AnyTargetAction } from '../targets/kinds.js';
import { DurationError, parseDuration } from './duration.js';
import { isTemplate, jsonStrings, templateProblems, type TemplateContext } from './templates.js';

export interface TargetProblem {
  pointer: string;
  message: string;
}

export function checkTargets(config: RoutingConfig): TargetProblem[] {
  const problems: TargetProblem[] = [];
  const places = [...config.routes.map((route, r) => [`/routes/${r}`, route] as const), ...(config.defaultRoute ? [['/defaultRoute', config.defaultRoute] as const] : [])];
  const named: Array<{ pointer: string; target: AnyTargetAction }> = [];
  for (const [at, actions] of places) {
    for (const target of routeTargets(actions)) {
      const pointer = `${at}/${target.field}/${target.index}`;
      named.push({ pointer, target });
      for (const { pointer: where, text, context } of templateStrings(target, pointer)) {
        for (const problem of templateProblems(text, context)) problems.push({ pointer: where, message: problem });
      }
    }
  }
  (config.joins ?? []).forEach((join, j) => {
    const at = `/joins/${j}`;
    const given = TARGET_FIELDS.filter(({ join: field }) => join[field] !== undefined).map(({ join: field }) => field);
    if (given.length !== 1) {
      problems.push({ pointer: at, message: given.length ? `names ${given.join(' and ')}: a join starts exactly one target; keep one` : 'names no target: add one of dbtJob, cloudRunJob, airflowDag or httpCall' });
      return;
    }
    const target = joinTarget(join)!;
    const pointer = `${at}/${target.field}`;
    named.push({ pointer, target });
    for (const { pointer: where, text } of templateStrings(target, pointer)) {
      if (isTemplate(text)) problems.push({ pointer: where, message: 'holds a template: a join\'s run covers several loads, so it cannot be aimed at one; write the value out' });
    }
  });
  for (const { pointer, target } of named) {
    if (target.kind === 'cloud-run' && target.action.timeout !== undefined) {
      try {
        const ms = parseDuration(target.action.timeout);
        if (ms > CLOUD_RUN_OVERRIDE_LIMITS.maxTimeoutSeconds * 1000) problems.push({ pointer: `${pointer}/timeout`, message: `is "${target.action.timeout}": Cloud Run allows a task timeout of at most 168 hours` });
      } catch (error) {
        if (!(error instanceof DurationError)) throw error;
        problems.push({ pointer: `${pointer}/timeout`, message: error.message });
      }
    }
  }
  problems.push(...sameNameSameTarget(named));
  return problems;
}

/** The strings of a target that may hold templates, with where they are and how they are used. */
function templateStrings(target: AnyTargetAction, pointer: string): Array<{ pointer: string; text: string; context: TemplateContext }> {
  switch (target.kind) {
    case 'dbt-cloud':
      return (target.action.steps_override ?? []).map((text, i) => ({ pointer: `${pointer}/steps_override/${i}`, text, context: 'command' as const }));
    case 'cloud-run':
      return [
        ...(target.action.args ?? []).map((text, i) => ({ pointer: `${pointer}/args/${i}`, text, context: 'argument' as const })),
        ...Object.entries(target.action.env ?? {}).map(([name, text]) => ({ pointer: `${pointer}/env/${name}`, text, context: 'argument' as const })),
      ];
    case 'airflow':
      return jsonStrings(target.action.conf ?? {}, `${pointer}/conf`).map((s) => ({ ...s, context: 'json' as const }));
    case 'http':
      return target.action.body === undefined ? [] : jsonStrings(target.action.body, `${pointer}/body`).map((s) => ({ ...s, context: 'json' as const }));
  }
}

/**
 * One HTTP call name is one call (its URL, method, headers and secret), and one Airflow DAG
 * one set of credentials, wherever they are named: they are one target, one identity in
 * the audit trail and the run log.
 */
function sameNameSameTarget(named: Array<{ pointer: string; target: AnyTargetAction }>): TargetProblem[] {
  const problems: TargetProblem[] = [];
  const first = new Map<string, { pointer: string; identity: unknown }>();
  for (const { pointer, target } of named) {
    let key: string;
    let identity: unknown;
    if (target.kind === 'http') {
      key = `http/${target.action.name}`;
      identity = { url: target.action.url, method: target.action.method ?? 'POST', headers: target.action.headers ?? {}, signingSecret: target.action.signingSecret };
    } else if (target.kind === 'airflow') {
      key = `airflow/${airflowTargetId(target.action)}`;
      identity = target.action.auth ?? 'google';
    } else continue;
    const seen = first.get(key);
    if (!seen) first.set(key, { pointer, identity });
    else if (!isDeepStrictEqual(seen.identity, identity)) {
      problems.push({ pointer, message: target.kind === 'http' ? `names HTTP call "${target.action.name}" differently from ${seen.pointer}: one name is one call (URL, method, headers, signing secret); give this one another name` : `signs in to Airflow DAG ${target.action.dagId} differently from ${seen.pointer}: one DAG has one set of credentials` });
    }
  }
  return problems;
}
