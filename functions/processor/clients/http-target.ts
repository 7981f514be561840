import { cutHead } from '../../shared/text-cut.js';
import { standardWebhookHeaders } from '../../shared/standard-webhooks.js';
import { PermanentError } from '../errors.js';
import { sendOnce, withRetries, type AttemptRecord, type Deadline, type FetchLike, type RetryPolicy } from './http-retry.js';

// An HTTP target: one signed call per run (a BI tool's "refresh" API, a service of the
// team's own). Exactly once is the receiver's part, as for any webhook: every attempt of
// an action carries the same `Idempotency-Key` and the same Standard Webhooks `webhook-id`
// (the IETF draft draft-ietf-httpapi-idempotency-key-header; the Standard Webhooks spec,
// github.com/standard-webhooks/standard-webhooks: "the same id for retries"), with a fresh
// `webhook-timestamp` and signature, so a receiver that honours either carries a redelivered
// or retried call out once. 5xx, 408, 429 and network failures are retried within the
// invocation, waiting as long as a Retry-After asks; the next delivery retries the rest.

export interface HttpCall {
  /** For errors and logs instead of the URL (which may carry a key in its query). */
  label: string;
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, string>;
  body: string;
  /** The action's id: Idempotency-Key and webhook-id. */
  idempotencyKey: string;
  /** The HMAC key of the target's `whsec_…` signing secret. */
  signingKey: Uint8Array;
}

export interface HttpCallResult {
  status: number;
  /** The first 1 KB of the response body, for the audit record. */
  body: string;
}

export interface HttpTargetClientOptions {
  policy: RetryPolicy;
  fetch?: FetchLike;
  /** Unix seconds for webhook-timestamp (a fake clock in tests). */
  nowSeconds?: () => number;
}

export class HttpTargetClient {
  constructor(private readonly options: HttpTargetClientOptions) {}

  async call(call: HttpCall, { deadline, attempts }: { deadline: Deadline; attempts: AttemptRecord[] }): Promise<HttpCallResult> {
    const options = { system: 'HTTP target' as const, label: call.label, policy: this.options.policy, deadline, attempts, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) };
    const now = this.options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
    return withRetries(async () => {
      // A fresh timestamp and signature per attempt: a receiver refuses one older than 5 minutes.
      const signed = standardWebhookHeaders(call.signingKey, call.idempotencyKey, now(), call.body);
      const response = await sendOnce(
        {
          method: call.method,
          url: call.url,
          headers: { ...call.headers, 'content-type': 'application/json', accept: 'application/json', 'idempotency-key': call.idempotencyKey, ...signed },
          body: call.body,
        },
        options,
      );
      if (response.status >= 300) {
        const excerpt = cutHead(response.text.replace(/\s+/g, ' ').trim(), 300);
        throw new PermanentError(`${call.label} refused the call (HTTP ${response.status})${excerpt ? `: ${excerpt}` : ''}`, { system: 'HTTP target', status: response.status });
      }
      return { status: response.status, body: cutHead(response.text, 1000) };
    }, options);
  }
}
