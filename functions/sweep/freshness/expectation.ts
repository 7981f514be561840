import { compileCron, type CronDialect, type CronSpec } from './cron.js';
import { formatSpan } from './duration.js';
import { learnExpectation, MIN_GAPS } from './learned.js';

/** Where a connector's expectation came from, shown beside it everywhere. */
export type ExpectationSource = 'routing' | 'fivetran' | 'airbyte' | 'learned' | 'none';

/**
 * What postload expects of a connector (stored as it is in its freshness document):
 * - every: a successful sync at most `everyMs` after the last one, `graceMs` more before it is overdue;
 * - cron: a successful sync between each deadline and the one before it, `graceMs` after the deadline at the latest;
 * - none: nothing is expected (switched off, a manual schedule, too little history to learn from).
 * `detail` says in words where it came from.
 */
export type Expectation =
  | { kind: 'every'; everyMs: number; graceMs: number; source: ExpectationSource; detail: string }
  | { kind: 'cron'; expression: string; timezone: string; dialect: CronDialect; graceMs: number; source: ExpectationSource; detail: string }
  | { kind: 'none'; source: ExpectationSource; detail: string };

/** A rule's expectation from the routing file's `freshness.rules`. */
export type RuleExpectation = { kind: 'every'; everyMs: number; graceMs: number } | { kind: 'cron'; spec: CronSpec; graceMs: number } | { kind: 'off' };

/** A schedule as a vendor's API reports it. */
export type VendorSchedule =
  | { kind: 'interval'; everyMs: number; text: string }
  | { kind: 'cron'; spec: CronSpec; text: string }
  | { kind: 'manual'; text: string }
  /** Reported, but not in a form postload reads (Airbyte's legacy schedules): learned instead. */
  | { kind: 'unknown'; text: string };

/** What a vendor API said about a connector at its last read. */
export interface VendorFacts {
  vendor: 'fivetran' | 'airbyte';
  schedule: VendorSchedule;
  /** Paused in the vendor (Fivetran `paused`; Airbyte status inactive, deprecated or locked): nothing is expected. */
  paused: string | null;
  /** The latest successful / failed sync's end the API reports (epoch ms). */
  succeededAt: number | null;
  failedAt: number | null;
  name: string | null;
  readAt: number;
}

/**
 * The expectation in force, from the first of these that applies: the routing file's
 * first matching rule; the vendor's schedule (when its API is configured and read); what
 * the connector's own history teaches (at least MIN_GAPS gaps); else none.
 */
export function resolveExpectation(
  rule: { index: number; label: string; expectation: RuleExpectation } | undefined,
  vendor: VendorFacts | undefined,
  successTimes: readonly number[],
  nowMs: number,
): Expectation {
  if (rule) {
    const detail = `routing file, freshness rule ${rule.index + 1} (${rule.label})`;
    const e = rule.expectation;
    if (e.kind === 'off') return { kind: 'none', source: 'routing', detail: `switched off by the ${detail}` };
    if (e.kind === 'every') return { kind: 'every', everyMs: e.everyMs, graceMs: e.graceMs, source: 'routing', detail };
    return { kind: 'cron', expression: e.spec.expression, timezone: e.spec.timezone, dialect: e.spec.dialect, graceMs: e.graceMs, source: 'routing', detail };
  }
  const fromVendor = vendor ? vendorExpectation(vendor, nowMs) : undefined;
  if (fromVendor) return fromVendor;
  const learned = learnExpectation(successTimes);
  if ('everyMs' in learned) {
    return {
      kind: 'every',
      everyMs: learned.everyMs,
      graceMs: learned.graceMs,
      source: 'learned',
      detail: `learned from ${learned.gaps} gaps between successful syncs: late after their 90th percentile (${formatSpan(learned.everyMs)}), overdue a median gap (${formatSpan(learned.graceMs)}) later`,
    };
  }
  return { kind: 'none', source: 'none', detail: `learning: ${learned.gaps} of ${MIN_GAPS} gaps between successful syncs seen` };
}

/** Fivetran's documented start offset: a destination's syncs start up to 60 minutes after the slot. */
const FIVETRAN_START_OFFSET_MS = 60 * 60_000;

/** The vendor's schedule as an expectation; undefined when it cannot be read (then: learned). */
export function vendorExpectation(facts: VendorFacts, nowMs: number): Expectation | undefined {
  const name = facts.vendor === 'fivetran' ? 'Fivetran' : 'Airbyte';
  const s = facts.schedule;
  if (s.kind === 'unknown') return undefined;
  if (s.kind === 'manual') return { kind: 'none', source: facts.vendor, detail: `${name} schedule: ${s.text} (syncs only when triggered)` };
  if (s.kind === 'interval') {
    if (facts.vendor === 'fivetran') {
      // The offset is fixed per destination, so it cancels out between two syncs; after a
      // resume or a schedule change the next slot can be that much later (never more than
      // one interval): allowed once, before "late".
      const allowance = Math.min(FIVETRAN_START_OFFSET_MS, s.everyMs);
      return { kind: 'every', everyMs: s.everyMs + allowance, graceMs: s.everyMs, source: 'fivetran', detail: `${name} ${s.text}, + ${formatSpan(allowance)} for its start offset; overdue one interval later` };
    }
    // Airbyte's own status page calls a connection Delayed past 1× its frequency and in Error past 2×.
    return { kind: 'every', everyMs: s.everyMs, graceMs: s.everyMs, source: 'airbyte', detail: `${name} schedule ${s.text}; overdue one interval later` };
  }
  // A cron schedule starts a sync at each fire time: each period must see one finish, by the next fire at the latest, plus one period.
  let period: number;
  try {
    const cron = compileCron(s.spec);
    const first = cron.next(nowMs);
    const second = first === null ? null : cron.next(first);
    if (first === null || second === null) return undefined;
    period = second - first;
  } catch {
    return undefined;
  }
  return { kind: 'cron', expression: s.spec.expression, timezone: s.spec.timezone, dialect: s.spec.dialect, graceMs: period, source: facts.vendor, detail: `${name} cron schedule ${s.text}; overdue one period after a missed fire` };
}

/** The expectation in one line: "every 1h, grace 30m (routing file, …)". */
export function describeExpectation(e: Expectation): string {
  if (e.kind === 'every') return `every ${formatSpan(e.everyMs)}, grace ${formatSpan(e.graceMs)}`;
  if (e.kind === 'cron') return `by cron "${e.expression}" ${e.timezone}, grace ${formatSpan(e.graceMs)}`;
  return 'nothing expected';
}

/** Two expectations mean the same (a change is worth a write and a log line). */
export function sameExpectation(a: Expectation | undefined, b: Expectation | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
