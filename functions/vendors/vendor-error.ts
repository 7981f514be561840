/** A vendor whose management API postload reads (freshness, reconciliation) or writes (`postload connect`). */
export type Vendor = 'fivetran' | 'airbyte' | 'dbt-cloud';

/**
 * How a vendor API call failed, for the caller to decide: the sweep skips the vendor for
 * the tick on any of them (never an alert caused by its own blindness); `rate-limited`
 * carries the wait the vendor asked for, which the next ticks honour.
 * - unavailable: network error, timeout, 5xx: may work on the next try;
 * - rate-limited: 429 (retryAfterMs from Retry-After when given);
 * - refused: 401/403/404 and other 4xx: the credentials, base URL or an id must be fixed;
 * - garbage: a 2xx whose body is not the documented shape.
 */
export type VendorFailure = 'unavailable' | 'rate-limited' | 'refused' | 'garbage';

export class VendorApiError extends Error {
  override readonly name = 'VendorApiError';
  constructor(
    readonly vendor: Vendor,
    readonly failure: VendorFailure,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
}

/** An item of a list answer that is not the documented shape: skipped (and logged) on its own. */
export interface SkippedItem {
  /** Its id when it has a readable one, else its position in the page. */
  item: string;
  problem: string;
}
