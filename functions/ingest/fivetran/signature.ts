import type { CheckResult } from '../authenticate.js';
import { checkHmacSha256Hex, signHmacSha256Hex } from '../../shared/hmac-sha256.js';

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
  return signHmacSha256Hex(body, secret);
}

export type SignatureCheck = CheckResult;

/** Checks X-Fivetran-Signature-256 (hex in either case, sources disagree) against every accepted secret. */
export function checkFivetranSignature(rawBody: Uint8Array, header: string | undefined, secrets: readonly Uint8Array[]): SignatureCheck {
  return checkHmacSha256Hex(rawBody, header, secrets);
}
