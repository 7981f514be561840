import { defaultFetch, parseRetryAfter, type Deadline, type FetchLike } from '../processor/clients/http-retry.js';
import { cutHead } from '../shared/text-cut.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { VendorApiError, type Vendor } from './vendor-error.js';

export interface VendorRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Named in errors and logs instead of the URL (a URL may carry a token). */
  label: string;
}

export interface VendorCallOptions {
  vendor: Vendor;
  /** Each request is abandoned after this long (and never later than the deadline). */
  timeoutMs: number;
  deadline: Deadline;
  fetch?: FetchLike | undefined;
  /** Retries for callers that want them (connect); none by default (the sweep). See retry.ts. */
  retry?: RetryPolicy | undefined;
}

/**
 * One request, no retries: the sweep's next tick is the retry, so a vendor in trouble
 * sees one call per tick, never a storm. Answers the parsed JSON of a 2xx; throws a
 * VendorApiError saying what kind of failure it was (see vendor-error.ts).
 */
export async function requestJson(request: VendorRequest, options: VendorCallOptions): Promise<{ status: number; json: unknown }> {
  if (options.retry) return withRetries(request, options, options.retry, requestOnce);
  return requestOnce(request, options);
}

async function requestOnce(request: VendorRequest, options: VendorCallOptions): Promise<{ status: number; json: unknown }> {
  const { vendor } = options;
  const timeoutMs = Math.min(options.timeoutMs, options.deadline.remainingMs());
  if (timeoutMs <= 0) throw new VendorApiError(vendor, 'unavailable', `${request.label}: no time left in this run`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const response = await (options.fetch ?? defaultFetch)(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: controller.signal,
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    text = await response.text();
  } catch (error) {
    // Never the error's own message: node-fetch's names the URL.
    const reason = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : `network error (${(error as { code?: string }).code ?? (error as Error).name})`;
    throw new VendorApiError(vendor, 'unavailable', `${request.label}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    throw new VendorApiError(vendor, 'rate-limited', `${request.label}: HTTP 429${retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`}`, {
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status >= 500 || status === 408) throw new VendorApiError(vendor, 'unavailable', `${request.label}: HTTP ${status}${snippet(text)}`, { status });
  if (status < 200 || status >= 300) throw new VendorApiError(vendor, 'refused', `${request.label}: HTTP ${status}${snippet(text)}`, { status });
  try {
    return { status, json: text === '' ? undefined : JSON.parse(text) };
  } catch {
    throw new VendorApiError(vendor, 'garbage', `${request.label}: HTTP ${status} with a body that is not JSON${snippet(text)}`, { status });
  }
}

/** A short, single-line excerpt of a body for an error message (vendors' error bodies hold no secrets; ours are never echoed). */
function snippet(text: string): string {
  const line = cutHead(text.replace(/\s+/g, ' ').trim(), 200);
  return line ? `: ${line}` : '';
}

/** An ISO 8601 time as epoch milliseconds; null for null/absent, undefined when present but unreadable. */
export function instantOf(value: unknown): number | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
