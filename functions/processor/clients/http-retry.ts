import nodeFetch from 'node-fetch';
import pRetry from 'p-retry';
import { cutHead } from '../../shared/text-cut.js';
import { classifyHttpStatus, TransientError, type FailedSystem } from '../errors.js';

/** The outbound retry policy shared by dbt Cloud and Slack calls. */
export interface RetryPolicy {
  /** Each HTTP request is abandoned after this long. */
  callTimeoutMs: number;
  /** Wait before the first retry; doubled each retry, times a random factor of 1 to 2 (jitter). */
  minDelayMs: number;
  /** No single backoff wait is longer than this. */
  maxDelayMs: number;
  /** Requests per call at most, the first included (429s with Retry-After do not count). */
  maxAttempts: number;
}

/**
 * The time left for outbound work in this invocation. Every retry loop and every request
 * timeout is cut to it, so the function returns (or throws) before its own timeout.
 */
export interface Deadline {
  remainingMs(): number;
}

export function deadlineIn(budgetMs: number, now: () => number = () => performance.now()): Deadline {
  const end = now() + budgetMs;
  return { remainingMs: () => Math.max(0, end - now()) };
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

/** The one fetch call this module makes; node-fetch in production, a stub in unit tests. */
export type FetchLike = (
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export const defaultFetch: FetchLike = (url, init) => nodeFetch(url, init);

/** One request's outcome, kept for the audit record. Never holds a URL or a credential. */
export interface AttemptRecord {
  at: string;
  status?: number;
  error?: string;
}

/** A failed request that may succeed if tried again. */
export class RetryableRequestError extends TransientError {}

export interface CallOptions {
  system: FailedSystem;
  /** How the call is named in errors and logs, e.g. "dbt Cloud job 42". Never the URL: it may hold a secret. */
  label: string;
  policy: RetryPolicy;
  deadline: Deadline;
  fetch?: FetchLike;
  /** Every request's outcome is pushed here as it happens. */
  attempts?: AttemptRecord[];
}

/**
 * One HTTP request with a timeout. Answers with the response for 2xx and for statuses that
 * retrying will not change (4xx but 408/429); throws RetryableRequestError for 408, 429,
 * 5xx, network errors and timeouts.
 */
export async function sendOnce(request: HttpRequest, options: CallOptions): Promise<HttpResponse> {
  const fetch = options.fetch ?? defaultFetch;
  const timeoutMs = Math.min(options.policy.callTimeoutMs, options.deadline.remainingMs());
  const at = new Date().toISOString();
  if (timeoutMs <= 0) {
    throw new RetryableRequestError(`${options.label}: no time left in the outbound budget`, { system: options.system });
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    });
    const text = await response.text();
    options.attempts?.push({ at, status: response.status });
    if (classifyHttpStatus(response.status) === 'transient') {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      throw new RetryableRequestError(`${options.label}: HTTP ${response.status}${snippet(text)}`, {
        system: options.system,
        status: response.status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (error instanceof RetryableRequestError) throw error;
    // node-fetch's messages name the URL, which for Slack is the secret: keep only the reason.
    const reason = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : networkReason(error);
    options.attempts?.push({ at, error: reason });
    throw new RetryableRequestError(`${options.label}: ${reason}`, { system: options.system });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `operation` until it succeeds, retrying RetryableRequestErrors with exponential
 * backoff and jitter, waiting at least as long as a Retry-After asks, within the policy's
 * attempts and the deadline. Other errors end it at once. When the retries run out the
 * last RetryableRequestError (a TransientError) is thrown.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: Pick<CallOptions, 'policy' | 'deadline' | 'label' | 'system'>,
): Promise<T> {
  const { policy, deadline } = options;
  return pRetry(operation, {
    retries: Math.max(0, policy.maxAttempts - 1),
    factor: 2,
    minTimeout: policy.minDelayMs,
    maxTimeout: policy.maxDelayMs,
    randomize: true,
    maxRetryTime: deadline.remainingMs(),
    shouldRetry: ({ error }) => error instanceof RetryableRequestError,
    // A Retry-After wait replaces the backoff: it is honoured exactly and costs no attempt.
    shouldConsumeRetry: ({ error }) => !(error instanceof RetryableRequestError && error.retryAfterMs !== undefined),
    onFailedAttempt: async ({ error }) => {
      if (!(error instanceof RetryableRequestError) || error.retryAfterMs === undefined) return;
      if (error.retryAfterMs >= deadline.remainingMs()) {
        throw new RetryableRequestError(
          `${error.message}; asked to wait ${Math.ceil(error.retryAfterMs / 1000)} s, more than the outbound budget left`,
          { system: error.system, ...(error.status === undefined ? {} : { status: error.status }), retryAfterMs: error.retryAfterMs },
        );
      }
      await sleep(error.retryAfterMs);
    },
  });
}

/**
 * Waits for `work` (a Secret Manager read, say) no longer than the deadline allows; past
 * it, the caller moves on with a TransientError (the read itself cannot be cancelled, but
 * nothing waits for it and its result is dropped).
 */
export async function withinDeadline<T>(work: Promise<T>, deadline: Deadline, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`could not ${what} within the invocation's deadline`, { system: 'Secret Manager' })), deadline.remainingMs());
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** sendOnce inside withRetries: the usual way to make an outbound call. */
export function send(request: HttpRequest, options: CallOptions): Promise<HttpResponse> {
  return withRetries(() => sendOnce(request, options), options);
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function networkReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return `network error (${code})`;
  return `network error (${(error as Error | null)?.name ?? 'unknown'})`;
}

function snippet(text: string): string {
  const line = cutHead(text.replace(/\s+/g, ' ').trim(), 200);
  return line ? ` ${line}` : '';
}
