import type { Deadline } from './clients/http-retry.js';

/**
 * One deadline per invocation, started when the invocation starts. `total` bounds every
 * Firestore, Secret Manager and outbound call; `outbound` ends `reserveMs` earlier, so
 * that after the last dbt Cloud or Slack call there is still time to record its outcome.
 */
export interface InvocationDeadline {
  total: Deadline;
  outbound: Deadline;
}

export function startDeadline(budgetMs: number, reserveMs: number, now: () => number = () => performance.now()): InvocationDeadline {
  const end = now() + budgetMs;
  return {
    total: { remainingMs: () => Math.max(0, end - now()) },
    outbound: { remainingMs: () => Math.max(0, end - reserveMs - now()) },
  };
}
