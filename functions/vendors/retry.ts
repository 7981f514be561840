import type { VendorCallOptions, VendorRequest } from './request.js';
import { VendorApiError } from './vendor-error.js';

/**
 * Retries for a caller a person waits on (`postload connect`), not for the sweep, whose
 * next tick is its retry. What is retried:
 * - a 429, after the Retry-After the vendor asked for (or the backoff when it gave none):
 *   the request was not carried out, so even a create may be sent again;
 * - a GET that was unavailable (network error, timeout, 5xx), after a backoff. A write that
 *   was unavailable is not sent again: it may have been carried out, and a second create
 *   would register a second webhook. Running `connect` again finds what the first did.
 * A wait longer than maxWaitMs, or than the deadline leaves, is not waited for: the error
 * goes to the caller as it is.
 */
export interface RetryPolicy {
  /** Requests per call at most (the first included). */
  attempts: number;
  /** The longest single wait, Retry-After included. */
  maxWaitMs: number;
  /** The first backoff; doubled for each retry. */
  backoffMs: number;
  /** How to wait (a fake clock in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Told before each wait, e.g. to say so on the terminal. */
  onWait?: (what: { label: string; waitMs: number; reason: string }) => void;
}

export const CONNECT_RETRY: RetryPolicy = { attempts: 4, maxWaitMs: 60_000, backoffMs: 1_000 };

type Once = (request: VendorRequest, options: VendorCallOptions) => Promise<{ status: number; json: unknown }>;

export async function withRetries(request: VendorRequest, options: VendorCallOptions, policy: RetryPolicy, once: Once): Promise<{ status: number; json: unknown }> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(request, options);
    } catch (error) {
      if (!(error instanceof VendorApiError) || attempt >= policy.attempts) throw error;
      const retriable = error.failure === 'rate-limited' || (error.failure === 'unavailable' && request.method === 'GET');
      if (!retriable) throw error;
      const waitMs = error.details.retryAfterMs ?? policy.backoffMs * 2 ** (attempt - 1);
      if (waitMs > policy.maxWaitMs || waitMs >= options.deadline.remainingMs()) throw error;
      policy.onWait?.({ label: request.label, waitMs, reason: error.failure === 'rate-limited' ? 'rate-limited (HTTP 429)' : 'unavailable' });
      await sleep(waitMs);
    }
  }
}
