import { hash } from 'node:crypto';

/**
 * A deterministic event id: 128 bits of SHA-256 over the parts that identify one
 * occurrence. The vendor re-sending the same event yields the same id, which is what
 * every consumer deduplicates on.
 */
export function eventId(parts: ReadonlyArray<string | number | null | undefined>): string {
  // Length-prefixing keeps ['ab', 'c'] and ['a', 'bc'] apart. One string hashed in one call
  // (crypto.hash) gives the same digest as updating part by part, without a Hash object.
  let input = '';
  for (const part of parts) {
    const text = part === null || part === undefined ? '' : String(part);
    input += `${Buffer.byteLength(text)}:${text}|`;
  }
  return hash('sha256', input, 'hex').slice(0, 32);
}
