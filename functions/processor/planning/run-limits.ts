import type { RunLimits } from '../targets/run-target.js';
import { parseDuration } from './duration.js';
import { utcDay } from './target-state.js';

/** The routing schema's `limits` on a run target (issue 25 finding 6). */
export interface LimitsConfig {
  minInterval?: string;
  maxRunsPerDay?: number;
}

/** Call after start-up checks passed (the duration parses). */
export function compileLimits(config: LimitsConfig | undefined): RunLimits | undefined {
  if (!config || (config.minInterval === undefined && config.maxRunsPerDay === undefined)) return undefined;
  return {
    ...(config.minInterval === undefined ? {} : { minInterval: config.minInterval, minIntervalMs: parseDuration(config.minInterval) }),
    ...(config.maxRunsPerDay === undefined ? {} : { maxRunsPerDay: config.maxRunsPerDay }),
  };
}

/** Why a run may not start now, and from when one may. */
export interface CapVerdict {
  cap: 'minInterval' | 'maxRunsPerDay';
  /** "at most 24 runs a day (24 started today)", "at most one run every PT15M (the last at 09:41 UTC)". */
  reason: string;
  /** The first instant a run may start again (ISO 8601). */
  until: string;
}

/** What the holder knows about runs started: how many today, and when the last one. */
export interface RunsSoFar {
  today: number;
  lastAtMs: number | undefined;
}

/**
 * Whether `limits` forbid a run starting at `atMs`, given the runs started so far. Both
 * caps only tighten as runs start, so a verdict from a partial view (a run in flight not
 * yet counted) is never wrong when it says capped.
 */
export function capAt(limits: RunLimits | undefined, runs: RunsSoFar, atMs: number): CapVerdict | undefined {
  if (!limits) return undefined;
  if (limits.maxRunsPerDay !== undefined && runs.today >= limits.maxRunsPerDay) {
    const nextDay = Date.parse(`${utcDay(atMs)}T00:00:00Z`) + 86_400_000;
    return { cap: 'maxRunsPerDay', reason: `at most ${limits.maxRunsPerDay} run${limits.maxRunsPerDay === 1 ? '' : 's'} a day (${runs.today} started today, UTC)`, until: new Date(nextDay).toISOString() };
  }
  if (limits.minIntervalMs !== undefined && runs.lastAtMs !== undefined && atMs < runs.lastAtMs + limits.minIntervalMs) {
    return {
      cap: 'minInterval',
      reason: `at most one run every ${limits.minInterval ?? `${limits.minIntervalMs} ms`} (the last started at ${new Date(runs.lastAtMs).toISOString()})`,
      until: new Date(runs.lastAtMs + limits.minIntervalMs).toISOString(),
    };
  }
  return undefined;
}
