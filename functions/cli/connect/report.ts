/** The vendors `postload connect` registers postload with. */
export type ConnectVendor = 'fivetran' | 'airbyte' | 'dbt-cloud';

export const VENDOR_NAMES: Record<ConnectVendor, string> = { fivetran: 'Fivetran', airbyte: 'Airbyte', 'dbt-cloud': 'dbt Cloud' };

/**
 * One thing connect did, or (dry run) would do:
 * - create / update / delete: a webhook (Airbyte: a workspace's notification slots);
 * - add-version: a new Secret Manager version (its value is never shown);
 * - keep: already as postload expects, left alone.
 */
export interface Change {
  verb: 'create' | 'update' | 'delete' | 'add-version' | 'keep';
  /** What it is about: "account webhook wh_…", "notification success", "projects/P/secrets/S". */
  subject: string;
  detail: string;
}

export interface ConnectReport {
  vendor: ConnectVendor;
  /** Where: "account", "group G", "workspace W", "account A". */
  target: string;
  /** postload's URL for this vendor (without a token). */
  url: string;
  dryRun: boolean;
  changes: Change[];
  /** Things worth knowing that change nothing (another webhook also pointing here, …). */
  notes: string[];
}

/** One compared registration of `connect --check`. */
export interface Finding {
  vendor: ConnectVendor;
  /** The registration, or what is missing: "account webhook wh_…", "workspace W", "account A". */
  subject: string;
  ok: boolean;
  /** What matches, or each difference from what postload expects. */
  details: string[];
  /** For a difference: the command that puts it right. */
  fix?: string;
}

/** `events` with `wanted` added, in the order: what was there, then what was missing. */
export function withAll(events: readonly string[], wanted: readonly string[]): string[] {
  return [...new Set([...events, ...wanted])];
}

export function missingFrom(events: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((e) => !events.includes(e));
}
