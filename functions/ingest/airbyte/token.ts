import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

/**
 * The tokens a request offers: `?token=` in the URL (Airbyte cannot sign or add headers)
 * and `Authorization: Bearer` (added by a proxy in front). Every offered value counts,
 * empty or not a string included, so a request cannot smuggle many guesses past the
 * one-token rule.
 */
export function offeredTokens(query: unknown, authorization: string | undefined): unknown[] {
  const offered: unknown[] = [];
  const fromQuery = (query as Record<string, unknown> | undefined)?.token;
  if (fromQuery !== undefined) offered.push(...(Array.isArray(fromQuery) ? fromQuery : [fromQuery]));
  // Other schemes (Basic, say, from a proxy's own login) carry no token for postload.
  if (authorization !== undefined && /^Bearer\b/i.test(authorization)) {
    offered.push(authorization.match(/^Bearer[ \t]+(\S+)[ \t]*$/i)?.[1] ?? null);
  }
  return offered;
}

/**
 * Compares the one offered token with the accepted ones in constant time. Both sides are
 * hashed to SHA-256 first so timingSafeEqual always sees equal lengths: neither the
 * token's length nor a matching prefix shows in the timing. More than one token, or one
 * that is not a non-empty string, is malformed: accepting "any of them" would let one
 * request try a thousand guesses.
 */
export function checkToken(offered: readonly unknown[], accepted: readonly Uint8Array[]): TokenCheck {
  if (offered.length === 0 || (offered.length === 1 && offered[0] === '')) return 'missing';
  const [token] = offered;
  if (offered.length > 1 || typeof token !== 'string' || token === '') return 'malformed';
  const digest = sha256(Buffer.from(token, 'utf8'));
  let valid = false;
  for (const expected of accepted.filter((a) => a.length > 0).map(sha256)) valid = timingSafeEqual(digest, expected) || valid;
  return valid ? 'valid' : 'mismatch';
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}
