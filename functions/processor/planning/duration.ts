/** A duration postload cannot use, with the reason in words. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
}

const UNIT_MS = { W: 604_800_000, D: 86_400_000, H: 3_600_000, M: 60_000, S: 1000 } as const;

// ISO 8601 durations without years and months: their length depends on the calendar, and a
// freshness window must mean the same span every time it is evaluated.
const PATTERN = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d{1,3})?)S)?)?$/;

/** Longest window accepted: a year of days. Longer is a typo, not a freshness rule. */
export const MAX_WINDOW_MS = 366 * UNIT_MS.D;

/** Milliseconds of an ISO 8601 duration such as PT6H, P1D, P1DT12H or PT90M. */
export function parseDuration(text: string): number {
  const datePart = text.split('T')[0] ?? '';
  if (/^P.*\d+[YM]/.test(datePart)) {
    throw new DurationError(`"${text}" uses years or months, whose length depends on the calendar; write days or weeks (P30D, P4W)`);
  }
  const match = PATTERN.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) {
    throw new DurationError(`"${text}" is not an ISO 8601 duration such as PT6H, P1D or P1DT12H`);
  }
  const [, w, d, h, m, s] = match;
  const ms =
    Number(w ?? 0) * UNIT_MS.W +
    Number(d ?? 0) * UNIT_MS.D +
    Number(h ?? 0) * UNIT_MS.H +
    Number(m ?? 0) * UNIT_MS.M +
    Math.round(Number((s ?? '0').replace(',', '.')) * UNIT_MS.S);
  if (ms <= 0) throw new DurationError(`"${text}" is zero; a window must be longer than that`);
  if (ms > MAX_WINDOW_MS) throw new DurationError(`"${text}" is longer than 366 days`);
  return ms;
}
