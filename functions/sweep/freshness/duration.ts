import { DurationError, parseDuration } from '../../processor/planning/duration.js';

export { DurationError } from '../../processor/planning/duration.js';

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
const SHORT = /^(?:\d+[wdhms])+$/;

/**
 * A freshness duration: the short form the routing file and the CLI use ("30m", "1h",
 * "1h30m", "2d", "1w") or an ISO 8601 duration as joins' `within` takes ("PT1H", "P1D").
 * Never zero, never more than 366 days (the joins' limit: longer is a typo).
 */
export function parseFreshnessDuration(text: string): number {
  const value = text.trim();
  if (value.startsWith('P')) return parseDuration(value);
  if (!SHORT.test(value)) throw new DurationError(`"${text}" is not a duration such as 30m, 1h, 1h30m, 2d or PT1H`);
  let ms = 0;
  const seen = new Set<string>();
  for (const [, amount, unit] of value.matchAll(/(\d+)([wdhms])/g)) {
    if (seen.has(unit!)) throw new DurationError(`"${text}" names ${unit} twice`);
    seen.add(unit!);
    ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  if (ms <= 0) throw new DurationError(`"${text}" is zero; a duration must be longer than that`);
  if (ms > 366 * UNIT_MS.d) throw new DurationError(`"${text}" is longer than 366 days`);
  return ms;
}

/** A span for people: "45m", "3h 20m", "2d 4h" (the two largest units). */
export function formatSpan(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [
    [Math.floor(total / 86_400), 'd'],
    [Math.floor((total % 86_400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'm'],
    [total % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}
