import { createHmac, timingSafeEqual } from 'node:crypto';

export const FIVETRAN_SIGNATURE_HEADER = 'x-fivetran-signature-256';

/**
 * Signs a body exactly as Fivetran does: HMAC-SHA256 of the raw bytes keyed with the
 * webhook secret, hex-encoded, no prefix. Use it to build test requests:
 *
 *   const body = JSON.stringify(payload);
 *   fetch(url, { method: 'POST', body, headers: {
 *     'content-type': 'application/json',
 *     'X-Fivetran-Signature-256': signFivetranPayload(body, secret) } });
 */
export function signFivetranPayload(body: string | Uint8Array, secret: string | Uint8Array): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Checks a signature header against every accepted secret. The hex is decoded to bytes
 * (so upper and lower case are equal) and compared with timingSafeEqual on two 32-byte
 * digests: equal lengths by construction, so nothing throws and no length leaks.
 */
export function checkFivetranSignature(
  rawBody: Uint8Array,
  header: string | undefined,
  secrets: readonly Uint8Array[],
): SignatureCheck {
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
