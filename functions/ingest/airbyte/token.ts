import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenCheck = 'valid' | 'missing' | 'mismatch';

/**
 * The tokens a request offers: `?token=` in the URL (Airbyte cannot sign or add headers)
 * and `Authorization: Bearer` (added by a proxy in front).
 */
export function offeredTokens(query: unknown, authorization: string | undefined): string[] {
  const tokens: string[] = [];
  const fromQuery = (query as Record<string, unknown> | undefined)?.token;
  for (const value of Array.isArray(fromQuery) ? fromQuery : [fromQuery]) {
    if (typeof value === 'string' && value !== '') tokens.push(value);
  }
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) tokens.push(bearer);
  return tokens;
}

/**
 * Compares offered tokens with the accepted ones in constant time. Both sides are hashed
 * to SHA-256 first so timingSafeEqual always sees equal lengths: neither the token's
 * length nor a matching prefix shows in the timing.
 */
export function checkToken(offered: readonly string[], accepted: readonly Uint8Array[]): TokenCheck {
  if (offered.length === 0) return 'missing';
  const acceptedDigests = accepted.filter((a) => a.length > 0).map(sha256);
  let valid = false;
  for (const token of offered) {
    const digest = sha256(Buffer.from(token, 'utf8'));
    for (const expected of acceptedDigests) valid = timingSafeEqual(digest, expected) || valid;
  }
  return valid ? 'valid' : 'mismatch';
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}
