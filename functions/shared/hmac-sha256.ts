import { createHmac, timingSafeEqual } from 'node:crypto';

/** What checking a credential against the accepted secrets came to. */
export type CheckResult = 'valid' | 'missing' | 'malformed' | 'mismatch';

/** HMAC-SHA256 of the raw bytes keyed with the secret, hex-encoded, no prefix (Fivetran and dbt Cloud alike). */
export function signHmacSha256Hex(body: string | Uint8Array, secret: string | Uint8Array): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Checks a hex HMAC-SHA256 header against every accepted secret. The hex is decoded to
 * bytes (so upper and lower case are equal) and compared with timingSafeEqual on two
 * 32-byte digests: equal lengths by construction, so nothing throws and no length leaks.
 */
export function checkHmacSha256Hex(rawBody: Uint8Array, header: string | undefined, secrets: readonly Uint8Array[]): CheckResult {
  if (header === undefined || header.trim() === '') return 'missing';
  const hex = header.trim();
  if (!HEX_SHA256.test(hex)) return 'malformed';
  const given = Buffer.from(hex, 'hex');
  let valid = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    valid = timingSafeEqual(expected, given) || valid;
  }
  return valid ? 'valid' : 'mismatch';
}
