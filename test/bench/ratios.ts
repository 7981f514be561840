/** The ingest function's figures in one bench run (medians over alternated rounds). */
export interface Figures {
  requestsPerSecond: number;
  p99Ms: number;
  first202Ms: number;
  listenMs: number;
  firstRequestMs: number;
  coldStartCpuMs: number;
  cpuMsPerRequest: number;
  rssIdleBytes: number;
  rssPeakBytes: number;
}

/** Issue 14's goals, as postload / bare handler. */
export const GOALS = { throughput: 0.9, p99: 1.2, coldStart: 1.1, peakMemory: 1.1 } as const;

export interface Ratio {
  ratio: number;
  met?: boolean;
}

export function compare(postload: Figures, bare: Figures): Record<'throughput' | 'cpuPerRequest' | 'p99' | 'coldStart' | 'coldStartCpu' | 'peakMemory' | 'idleMemory', Ratio> {
  const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
  const throughput = ratio(postload.requestsPerSecond, bare.requestsPerSecond);
  const p99 = ratio(postload.p99Ms, bare.p99Ms);
  const coldStart = ratio(postload.first202Ms, bare.first202Ms);
  const peakMemory = ratio(postload.rssPeakBytes, bare.rssPeakBytes);
  return {
    throughput: { ratio: throughput, met: throughput >= GOALS.throughput },
    p99: { ratio: p99, met: p99 <= GOALS.p99 },
    coldStart: { ratio: coldStart, met: coldStart <= GOALS.coldStart },
    peakMemory: { ratio: peakMemory, met: peakMemory <= GOALS.peakMemory },
    // No goals of their own: the CPU figures say how far wall-clock ratios are the function's doing.
    cpuPerRequest: { ratio: ratio(postload.cpuMsPerRequest, bare.cpuMsPerRequest) },
    coldStartCpu: { ratio: ratio(postload.coldStartCpuMs, bare.coldStartCpuMs) },
    idleMemory: { ratio: ratio(postload.rssIdleBytes, bare.rssIdleBytes) },
  };
}

/** The median (the mean of the middle two of an even count): robust to a round disturbed by other work. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
