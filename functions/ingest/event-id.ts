import { createHash } from 'node:crypto';

/**
 * A deterministic event id: 128 bits of SHA-256 over the parts that identify one
 * occurrence. The vendor re-sending the same event yields the same id, which is what
 * every consumer deduplicates on.
 */
export function eventId(parts: ReadonlyArray<string | number | null | undefined>): string {
  const hash = createHash('sha256');
  // Length-prefixing keeps ['ab', 'c'] and ['a', 'bc'] apart.
  for (const part of parts) {
    const text = part === null || part === undefined ? '' : String(part);
    hash.update(`${Buffer.byteLength(text)}:${text}|`);
  }
  return hash.digest('hex').slice(0, 32);
}
