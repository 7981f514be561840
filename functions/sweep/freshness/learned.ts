// An expectation learned from a connector's own history, for connectors that neither the
// routing file nor a vendor API describe.
//
// Statistic: over the gaps between its latest successful syncs (at most MAX_GAPS, never
// fewer than MIN_GAPS), the connector is *late* once the current gap exceeds the 90th
// percentile of those gaps, and *overdue* one median gap after that. The 90th percentile,
// not the mean or the median, so that the ordinary spread of a connector's gaps (a slow
// sync, a retry) and a weekly lull that makes up more than a tenth of its gaps are not
// lateness; the median for the grace, because one outage or backfill in the sample moves
// it least.
//
// Not weekday-aware: it has no separate statistics for weekends. A weekday-only daily
// connector's Friday-to-Monday gap is 3 days, 1 in 5 of its gaps, so it sets the 90th
// percentile and no Monday is ever reported late, at the price of seeing a silent
// Tuesday only on Thursday. Telling weekdays apart would need several weeks of samples per
// class of day (a 30-gap window holds 6 weekends of a daily connector), and a connector
// whose data matters by the weekday should say so explicitly: a `cron` deadline in the
// routing file ("0 7 * * 1-5"), which always wins over a learned expectation.

export const MIN_GAPS = 10;
export const MAX_GAPS = 30;
/** Success times kept per connector: enough for MAX_GAPS gaps. */
export const MAX_SAMPLES = MAX_GAPS + 1;
/** Gaps shorter than this are the same sync reported twice (a webhook and the API), not a schedule. */
const MIN_GAP_MS = 60_000;

export type Learned = { everyMs: number; graceMs: number; gaps: number } | { gaps: number };

export function learnExpectation(successTimes: readonly number[]): Learned {
  const times = [...new Set(successTimes)].sort((a, b) => a - b).slice(-MAX_SAMPLES);
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    if (gap >= MIN_GAP_MS) gaps.push(gap);
  }
  if (gaps.length < MIN_GAPS) return { gaps: gaps.length };
  const sorted = [...gaps].sort((a, b) => a - b);
  return { everyMs: percentile(sorted, 0.9), graceMs: percentile(sorted, 0.5), gaps: gaps.length };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Keeps the newest MAX_SAMPLES success times, each once, oldest first. */
export function addSamples(samples: readonly number[], more: readonly number[]): number[] {
  return [...new Set([...samples, ...more])].sort((a, b) => a - b).slice(-MAX_SAMPLES);
}
