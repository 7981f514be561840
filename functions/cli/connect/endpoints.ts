import { CliError, EXIT } from '../errors.js';

/** postload's webhook URLs, one per vendor path of the ingest function. */
export interface Endpoints {
  /** The ingest function's base URL (Terraform's `ingest_url`), without a trailing slash. */
  base: string;
  fivetran: string;
  /** Without its token: the token goes in `?token=` (Airbyte cannot sign). */
  airbyte: string;
  dbtCloud: string;
}

const VENDOR_PATHS = ['/fivetran', '/airbyte', '/dbt-cloud'];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The ingest function's URL as `terraform output -raw ingest_url` prints it, or any of the
 * vendor URLs it prints (…/fivetran, …/airbyte, …/dbt-cloud). It must be HTTPS, as every
 * vendor requires (Fivetran refuses anything else with a 400); plain http is accepted for
 * 127.0.0.1 and localhost only, where the local stack and its stand-ins run without TLS
 * and no vendor could reach it anyway.
 */
export function endpointsFrom(raw: string | undefined): Endpoints {
  const fix = 'pass --ingest-url "$(terraform output -raw ingest_url)", or set POSTLOAD_INGEST_URL to it';
  const value = raw?.trim();
  if (!value) throw new CliError('no ingest URL: connect registers the ingest function\'s URL with each vendor', fix, EXIT.usage);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`the ingest URL "${value.slice(0, 200)}" is not a URL`, fix, EXIT.usage);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new CliError(
      `the ingest URL ${url.origin} is not HTTPS: Fivetran, Airbyte and dbt Cloud deliver only to https:// URLs (plain http only for 127.0.0.1, the local stack)`,
      fix,
      EXIT.usage,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new CliError('the ingest URL must have no credentials, query or fragment (connect adds the Airbyte token itself)', fix, EXIT.usage);
  }
  let path = url.pathname.replace(/\/+$/, '');
  const vendorPath = VENDOR_PATHS.find((p) => path.endsWith(p));
  if (vendorPath) path = path.slice(0, -vendorPath.length);
  const base = `${url.origin}${path}`;
  return { base, fivetran: `${base}/fivetran`, airbyte: `${base}/airbyte`, dbtCloud: `${base}/dbt-cloud` };
}

/** A URL safe to print: another tool's URL (a Slack webhook's path is its secret) as its origin only, ours without the token. */
export function shownUrl(url: string | null, ours: string): string {
  if (!url) return '(none)';
  try {
    const parsed = new URL(url);
    if (pointsAt(url, ours)) return parsed.searchParams.has('token') ? `${ours}?token=…` : ours;
    return `${parsed.origin}/…`;
  } catch {
    return '(not a URL)';
  }
}

/** Whether `url` points at `ours`: same origin and path (a trailing slash and the query aside). */
export function pointsAt(url: string | null, ours: string): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}` === ours;
  } catch {
    return false;
  }
}
