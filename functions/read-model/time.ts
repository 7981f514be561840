const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "24h", "30m", "7d", "90s" (that long before `now`) or an ISO date → the moment; undefined when it is neither. */
export function momentOf(value: string, now = Date.now()): Date | undefined {
  const match = /^(\d{1,6})\s*([smhd])$/.exec(value.trim());
  if (match) return new Date(now - Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
