import type { FreshnessExpectation } from '../../generated/routing-config.schema.js';
import { matcher, RoutingConfigError, slackTargetOf, type LoadedRouting, type MatchSubject } from '../../processor/planning/routing.js';
import { clip } from '../../shared/text-cut.js';
import { compileCron } from './cron.js';
import { parseFreshnessDuration } from './duration.js';
import type { RuleExpectation } from './expectation.js';

/** Reminders of an open incident, unless `freshness.realert` says otherwise. */
export const DEFAULT_REALERT_MS = 24 * 3_600_000;
/** A deadline's grace unless the rule gives one. */
export const DEFAULT_CRON_GRACE_MS = 3_600_000;

export interface FreshnessRuleMatch {
  index: number;
  /** The rule in a few words, for the expectation's source line. */
  label: string;
  expectation: RuleExpectation;
}

export interface FreshnessSettings {
  /** The routing file's rules, in order; `ruleFor` picks the first that matches. */
  ruleFor(subject: MatchSubject): FreshnessRuleMatch | undefined;
  ruleCount: number;
  /** null: no reminders. */
  realertMs: number | null;
  /** Where alerts go: a webhook reference (env:VARIABLE or sm://…) or a Slack app target (slack-app:<channel>). */
  webhook: string;
}

/**
 * The routing file's `freshness` section, every duration, cron expression and time zone
 * checked: anything malformed throws a RoutingConfigError naming the field (JSON pointer),
 * so the sweep refuses to start and `postload check` says where.
 */
export function compileFreshness(routing: LoadedRouting): FreshnessSettings {
  const section = routing.config.freshness ?? {};
  const at = (pointer: string, problem: string) => new RoutingConfigError(routing.source, `/freshness${pointer}`, problem);
  const duration = (value: string, pointer: string) => {
    try {
      return parseFreshnessDuration(value);
    } catch (error) {
      throw at(pointer, (error as Error).message);
    }
  };
  const rules = (section.rules ?? []).map((rule, index) => {
    const expectation = compileExpectation(rule.freshness, `/rules/${index}/freshness`, duration, at);
    return { index, label: label(rule.match), matches: matcher(rule.match), expectation };
  });
  const realertMs = section.realert === undefined ? DEFAULT_REALERT_MS : section.realert === 'off' ? null : duration(section.realert, '/realert');
  return {
    ruleFor(subject) {
      const rule = rules.find((r) => r.matches(subject));
      return rule && { index: rule.index, label: rule.label, expectation: rule.expectation };
    },
    ruleCount: rules.length,
    realertMs,
    webhook: slackTargetOf(section.slack, routing.config),
  };
}

function compileExpectation(
  freshness: FreshnessExpectation,
  pointer: string,
  duration: (value: string, pointer: string) => number,
  at: (pointer: string, problem: string) => Error,
): RuleExpectation {
  if (freshness === 'off') return { kind: 'off' };
  if ('every' in freshness) {
    const everyMs = duration(freshness.every, `${pointer}/every`);
    return { kind: 'every', everyMs, graceMs: freshness.grace === undefined ? everyMs : duration(freshness.grace, `${pointer}/grace`) };
  }
  const spec = { expression: freshness.cron.trim(), timezone: freshness.timezone ?? 'UTC', dialect: 'cron' as const };
  try {
    compileCron(spec);
  } catch (error) {
    throw at(`${pointer}/${/time zone/.test((error as Error).message) ? 'timezone' : 'cron'}`, (error as Error).message);
  }
  return { kind: 'cron', spec, graceMs: freshness.grace === undefined ? DEFAULT_CRON_GRACE_MS : duration(freshness.grace, `${pointer}/grace`) };
}

/** `fivetran, connectorName glob "sales_*"`. */
function label(match: object): string {
  const text = Object.entries(match)
    .map(([field, value]) => (typeof value === 'string' ? `${field} "${value}"` : `${field} ${Object.keys(value as object)[0]} "${Object.values(value as object)[0]}"`))
    .join(', ');
  return clip(text, 120);
}
