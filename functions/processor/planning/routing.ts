import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type {
  DbtJobAction,
  RouteMatch,
  RoutedEventType,
  RoutingConfig,
  StringMatch,
} from '../../generated/routing-config.schema.js';
import type { ErrorObject } from 'ajv';
import { ConfigError } from '../../shared/settings.js';
import { explainErrors, verboseValidator } from '../../shared/schemas.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { checkOrchestration } from './check-orchestration.js';
import { compileJoin, type CompiledJoin } from './join.js';
import { DEFAULT_JOIN_NOTIFY } from './join-messages.js';
import { plannedRun, routeTargets } from '../targets/kinds.js';
import type { PlannedRun } from '../targets/run-target.js';

export type { DbtJobAction, RoutingConfig, RoutedEventType } from '../../generated/routing-config.schema.js';

/** Event types that reach Slack unless the routing file says otherwise. */
export const DEFAULT_SLACK_NOTIFY: readonly RoutedEventType[] = [
  'sync.failed',
  'transformation.failed',
  'connection.failed',
  'connector.disabled',
  'schema.changed',
];

/** Event types that start a dbt job unless the job says otherwise. */
export const DEFAULT_DBT_ON: readonly RoutedEventType[] = ['sync.succeeded'];

/**
 * Event types that never start a dbt job, whatever a route's `on` says (start-up refuses
 * them there): a test notification carries made-up ids and results (Airbyte's Test button
 * sends a realistic success since v1.3), and a quarantined payload was not understood.
 */
export const NEVER_STARTS_DBT: readonly RoutedEventType[] = ['test', 'quarantined'];

/** The webhook used when the routing file names none. */
export const DEFAULT_WEBHOOK = 'env:SLACK_WEBHOOK_URL';

/** Where a Slack app target's bot token is found when the routing file names none. */
export const DEFAULT_BOT_TOKEN = 'env:SLACK_BOT_TOKEN';

/** Slack app targets are named `slack-app:<channel>` (and `#<token reference>` when not the default token) wherever a webhook reference would be. */
export const APP_TARGET_PREFIX = 'slack-app:';

/** A Slack app target: a channel and where its bot token is found. */
export interface AppTarget {
  channel: string;
  token: string;
}

type SlackTargetFields = { webhook?: string | undefined; app?: { channel: string; token?: string | undefined } | undefined };

/** The target a `slack` object names itself (its app or its webhook), or undefined when it inherits. */
function ownTarget(slack: SlackTargetFields | undefined): string | undefined {
  if (slack?.app) return appTargetReference({ channel: slack.app.channel, token: slack.app.token ?? DEFAULT_BOT_TOKEN });
  return slack?.webhook;
}

/** Where messages of a route, the default route or a join go: its own target, else the top-level one, else the default webhook. */
export function slackTargetOf(slack: SlackTargetFields | undefined, config: RoutingConfig): string {
  return ownTarget(slack) ?? ownTarget(config.slack) ?? DEFAULT_WEBHOOK;
}

export function appTargetReference(app: AppTarget): string {
  return `${APP_TARGET_PREFIX}${app.channel}${app.token === DEFAULT_BOT_TOKEN ? '' : `#${app.token}`}`;
}

/** The app target a reference names, or undefined for a webhook reference. */
export function appTargetOf(reference: string): AppTarget | undefined {
  if (!reference.startsWith(APP_TARGET_PREFIX)) return undefined;
  const rest = reference.slice(APP_TARGET_PREFIX.length);
  const hash = rest.indexOf('#');
  return hash < 0 ? { channel: rest, token: DEFAULT_BOT_TOKEN } : { channel: rest.slice(0, hash), token: rest.slice(hash + 1) };
}

const DEFAULT_ROUTE_NAME = '(default)';

/** One thing wrong in a routing file: where (a JSON pointer) and what. */
export interface RoutingProblem {
  pointer: string;
  message: string;
}

/**
 * A routing file that cannot be used: names the file and the offending field (JSON pointer);
 * `problems` holds every problem found (the message names the first and counts the rest).
 */
export class RoutingConfigError extends ConfigError {
  readonly problems: RoutingProblem[];
  constructor(
    readonly source: string,
    readonly field: string,
    problem: string,
    problems: RoutingProblem[] = [{ pointer: field, message: problem }],
  ) {
    super('ROUTING_CONFIG', `${source}: ${field || '(root)'} ${problem}`);
    this.problems = problems;
  }

  /** The error for a list of problems: the first named, three more quoted, the rest counted. */
  static of(source: string, problems: RoutingProblem[]): RoutingConfigError {
    const [first, ...rest] = problems;
    const more = rest.length ? ` (also: ${rest.slice(0, 3).map((p) => `${p.pointer || '(root)'} ${p.message}`).join('; ')}${rest.length > 3 ? `; and ${rest.length - 3} more` : ''})` : '';
    return new RoutingConfigError(source, first!.pointer, `${first!.message}${more}`, problems);
  }
}

/** Reads ROUTING_CONFIG's value: inline JSON (starting with `{`) or the path of a JSON file. */
export function loadRoutingConfig(value: string, cwd: string = process.cwd()): LoadedRouting {
  const inline = value.trimStart().startsWith('{');
  const source = inline ? 'inline JSON' : resolve(cwd, value);
  let text: string;
  try {
    text = inline ? value : readFileSync(source, 'utf8');
  } catch (error) {
    throw new RoutingConfigError(source, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RoutingConfigError(source, '', `is not JSON (${(error as Error).message})`);
  }
  return compileRouting(parsed, source);
}

/** Validates a parsed routing file against schemas/routing-config.schema.json and prepares its matchers. */
export function compileRouting(parsed: unknown, source = 'routing config'): LoadedRouting {
  const problems = routingProblems(parsed);
  if (problems.length) throw RoutingConfigError.of(source, problems);
  const config = parsed as RoutingConfig;
  const routes = config.routes.map((route) => ({ name: route.name, matches: matcher(route.match), actions: route }));
  return { config, source, routes, joins: (config.joins ?? []).map(compileJoin) };
}

/**
 * Everything wrong with a parsed routing file, in one list: the schema's findings (each
 * unknown key or bad value named, with the closest valid one and the allowed ones), then,
 * for a file that fits the schema, duplicate route names, triggers that never start a job,
 * and the joins' and coalescing's own rules.
 */
export function routingProblems(parsed: unknown): RoutingProblem[] {
  const validate = verboseValidator<RoutingConfig>('routing-config');
  if (!validate(parsed)) return explainErrors(mostSpecificFirst(validate.errors ?? [])).map((p) => ({ pointer: p.field, message: p.message }));
  const problems: RoutingProblem[] = [];
  const names = new Map<string, number>();
  parsed.routes.forEach((route, i) => {
    const first = names.get(route.name);
    if (first !== undefined) problems.push({ pointer: `/routes/${i}/name`, message: `"${route.name}" is used by two routes (also /routes/${first})` });
    else names.set(route.name, i);
  });
  return [...problems, ...neverStartingTriggers(parsed), ...checkOrchestration(parsed)];
}

export interface LoadedRouting {
  config: RoutingConfig;
  /** The file path, or "inline JSON". */
  source: string;
  routes: Array<{ name: string; matches: (event: SyncEvent) => boolean; actions: Pick<RoutingConfig['routes'][number], 'dbtJobs' | 'cloudRunJobs' | 'airflowDags' | 'httpCalls' | 'slack'> }>;
  joins: CompiledJoin[];
}

/** A Slack webhook (or Slack app target) that may receive one message about the event. */
export interface PlannedSlackTarget {
  actionId: string;
  /** env:VARIABLE or sm://..., or an app target (slack-app:<channel>, see appTargetOf). */
  webhook: string;
  /** True when a matching route asks for this event type; false when only an alert would go here. */
  notify: boolean;
  routes: string[];
}

export interface RoutePlan {
  routes: string[];
  /** The runs to start (of every kind), at most one per target. */
  runs: PlannedRun[];
  slack: PlannedSlackTarget[];
}

/** What the routing file says should happen for this event. */
export function planFor(event: SyncEvent, routing: LoadedRouting): RoutePlan {
  const matched = routing.routes.filter((route) => route.matches(event));
  const applied = matched.length
    ? matched.map((route) => ({ name: route.name, actions: route.actions }))
    : [{ name: DEFAULT_ROUTE_NAME, actions: routing.config.defaultRoute ?? {} }];

  const runs = new Map<string, PlannedRun>();
  const slack = new Map<string, PlannedSlackTarget>();
  for (const { name, actions } of applied) {
    for (const target of routeTargets(actions)) {
      if (!(target.action.on ?? DEFAULT_DBT_ON).includes(event.type) || NEVER_STARTS_DBT.includes(event.type)) continue;
      const run = plannedRun(target, name, event);
      if (!runs.has(run.actionId)) runs.set(run.actionId, run);
    }
    const webhook = slackTargetOf(actions.slack, routing.config);
    const notify = (actions.slack?.notify ?? routing.config.slack?.notify ?? DEFAULT_SLACK_NOTIFY).includes(event.type);
    const target = slack.get(webhook);
    if (target) {
      target.notify ||= notify;
      target.routes.push(name);
    } else {
      slack.set(webhook, { actionId: slackActionId(webhook), webhook, notify, routes: [name] });
    }
  }
  return { routes: applied.map((r) => r.name), runs: [...runs.values()], slack: [...slack.values()] };
}

/**
 * The webhook a route (or `join <name>`, or the default route) sends to: where a run it
 * planned is alerted when the sweep sees it fail (issue 28). The sweep alerts through
 * webhooks only: a route whose target is the Slack app has its failed runs said through
 * the fallback webhook, else the default one.
 */
export function webhookOfRoute(routing: LoadedRouting, route: string): string {
  const { config } = routing;
  const slack = route.startsWith('join ')
    ? config.joins?.find((join) => `join ${join.name}` === route)?.slack
    : route === DEFAULT_ROUTE_NAME
      ? config.defaultRoute?.slack
      : config.routes.find((r) => r.name === route)?.slack;
  const target = slackTargetOf(slack, config);
  return appTargetOf(target) ? (config.slack?.fallbackWebhook ?? DEFAULT_WEBHOOK) : target;
}

/** Every target (webhook reference or app target) some event would notify, so start-up can insist it is set. */
export function notifyingWebhooks(routing: LoadedRouting): Set<string> {
  const { config } = routing;
  const defaultNotify = config.slack?.notify ?? DEFAULT_SLACK_NOTIFY;
  const used = new Set<string>();
  for (const actions of [...config.routes, config.defaultRoute ?? {}]) {
    const notify = actions.slack?.notify ?? defaultNotify;
    if (notify.length) used.add(slackTargetOf(actions.slack, config));
  }
  for (const join of config.joins ?? []) if ((join.slack?.notify ?? DEFAULT_JOIN_NOTIFY).length) used.add(slackTargetOf(join.slack, config));
  return used;
}

/** Every target named anywhere, notifying or not (alerts may go to any), and the fallback webhook. */
export function allWebhooks(routing: LoadedRouting): Set<string> {
  const { config } = routing;
  const all = new Set<string>([slackTargetOf(undefined, config)]);
  for (const actions of [...config.routes, config.defaultRoute ?? {}]) all.add(slackTargetOf(actions.slack, config));
  for (const join of config.joins ?? []) all.add(slackTargetOf(join.slack, config));
  if (config.slack?.fallbackWebhook) all.add(config.slack.fallbackWebhook);
  return all;
}

/** True when some route (or the default route) names a dbt job, or a join starts one. */
export function namesDbtJobs(routing: LoadedRouting): boolean {
  const { config } = routing;
  return [...config.routes, config.defaultRoute ?? {}].some((actions) => (actions.dbtJobs ?? []).length > 0) || (config.joins ?? []).some((join) => join.dbtJob !== undefined);
}

function neverStartingTriggers(config: RoutingConfig): Array<{ pointer: string; message: string }> {
  const why: Partial<Record<RoutedEventType, string>> = {
    test: 'a test notification carries made-up ids and results (Airbyte\'s Test button sends a realistic success with random ids)',
    quarantined: 'postload could not interpret the payload (quarantined events are alerted in Slack instead)',
  };
  const actions = [...config.routes.map((route, i) => [`/routes/${i}`, route] as const), ...(config.defaultRoute ? [['/defaultRoute', config.defaultRoute] as const] : [])];
  return actions.flatMap(([at, route]) =>
    routeTargets(route).flatMap(({ action, field, index }) =>
      (action.on ?? []).flatMap((type, k) => (NEVER_STARTS_DBT.includes(type) ? [{ pointer: `${at}/${field}/${index}/on/${k}`, message: `"${type}" never starts a run: ${why[type]}; remove it` }] : [])),
    ),
  );
}

export function slackActionId(webhook: string): string {
  return webhook === DEFAULT_WEBHOOK ? 'slack' : `slack-${createHash('sha256').update(webhook).digest('hex').slice(0, 12)}`;
}

// ajv reports every branch of an anyOf that failed, and the anyOf itself. A person needs
// one: the branch error that got deepest into the value (a value, not a shape, on a tie),
// which is what they nearly wrote. Deepest first overall.
function mostSpecificFirst(errors: ErrorObject[]): ErrorObject[] {
  // A key named in the error (unknown or missing) is one level deeper than the object;
  // at the same depth, a bad value says more than an unknown key, which says more than a
  // missing one, which says more than a wrong type.
  const rank: Record<string, number> = { additionalProperties: 2, required: 1, type: 0, anyOf: 0, oneOf: 0 };
  const score = (e: ErrorObject) => (e.instancePath.split('/').length + (e.keyword === 'additionalProperties' || e.keyword === 'required' ? 1 : 0)) * 4 + (rank[e.keyword] ?? 3);
  const alternatives = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const dropped = new Set<ErrorObject>(alternatives);
  for (const group of alternatives) {
    const branches = errors.filter((e) => e !== group && e.schemaPath.startsWith(`${group.schemaPath}/`) && e.instancePath.startsWith(group.instancePath));
    const best = [...branches].sort((a, b) => score(b) - score(a))[0];
    for (const e of branches) if (e !== best) dropped.add(e);
  }
  return errors.filter((e) => !dropped.has(e)).sort((a, b) => score(b) - score(a));
}

/** What a `match` reads: an event, or a connector as the sweep knows it (freshness rules). */
export type MatchSubject = Pick<SyncEvent, 'source' | 'connector' | 'destination'>;

export function matcher(match: RouteMatch): (event: MatchSubject) => boolean {
  const checks: Array<(event: MatchSubject) => boolean> = [];
  if (match.source) checks.push((event) => event.source === match.source);
  const fields: Array<[StringMatch | undefined, (event: MatchSubject) => string | null | undefined]> = [
    [match.connectorId, (e) => e.connector.id],
    [match.connectorName, (e) => e.connector.name],
    [match.connectorType, (e) => e.connector.type],
    [match.destinationId, (e) => e.destination.id],
    [match.destinationName, (e) => e.destination.name],
  ];
  for (const [condition, read] of fields) {
    if (condition === undefined) continue;
    const test = stringTest(condition);
    checks.push((event) => {
      const value = read(event);
      return typeof value === 'string' && test(value);
    });
  }
  return (event) => checks.every((check) => check(event));
}

/**
 * The longest value a glob or regex is tried on. Patterns are the operator's, values the
 * vendor's: a pattern that backtracks (`(a+)+$`, or a glob with many `*`) costs time that
 * grows with the value, so the value is bounded first. Ids and names are far shorter; a
 * longer value matches no pattern (never a route by accident), only an exact string.
 */
export const MAX_PATTERN_INPUT_CHARS = 1000;

export function stringTest(condition: StringMatch): (value: string) => boolean {
  if (typeof condition === 'string') return (value) => value === condition;
  const pattern = 'glob' in condition ? new RegExp(`^${condition.glob.split('').map(globChar).join('')}$`, 's') : new RegExp(condition.regex);
  return (value) => value.length <= MAX_PATTERN_INPUT_CHARS && pattern.test(value);
}

function globChar(char: string): string {
  if (char === '*') return '.*';
  if (char === '?') return '.';
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
