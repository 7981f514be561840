import type { CheckResult } from '../authenticate.js';
import { checkHmacSha256Hex, signHmacSha256Hex } from '../../shared/hmac-sha256.js';

/**
 * dbt Cloud signs with the plain `Authorization` header: the hex HMAC-SHA256 of the raw
 * body keyed with the webhook's secret (`hmac_secret`), no scheme, no timestamp
 * (https://docs.getdbt.com/docs/deploy/webhooks#validate-a-webhook).
 */
export const DBT_CLOUD_SIGNATURE_HEADER = 'authorization';

/**
 * Signs a body exactly as dbt Cloud does (its docs compute Python's lower-case
 * `hmac.new(secret, body, sha256).hexdigest()`). Use it to build test requests:
 *
 *   const body = JSON.stringify(payload);
 *   fetch(`${url}/dbt-cloud`, { method: 'POST', body, headers: {
 *     'content-type': 'application/json',
 *     authorization: signDbtCloudPayload(body, secret) } });
 */
export function signDbtCloudPayload(body: string | Uint8Array, secret: string | Uint8Array): string {
  return signHmacSha256Hex(body, secret);
}

/**
 * Checks the Authorization header against every accepted secret, in constant time over
 * the decoded digest. dbt Cloud sends lower-case hex; upper case decodes to the same
 * bytes and is accepted, as for Fivetran.
 */
export function checkDbtCloudSignature(rawBody: Uint8Array, header: string | undefined, secrets: readonly Uint8Array[]): CheckResult {
  return checkHmacSha256Hex(rawBody, header, secrets);
}
