import { createHash } from 'node:crypto';

/**
 * How much of each string a normaliser sees. Classification looks for words and ids near
 * the start of a notice; a regular expression such as /\bschema\b.*\bpropagated\b/ is
 * quadratic in the text it scans (8.6 s for 256 KB), so no classifier may see more.
 */
export const CLASSIFY_PREFIX_CHARS = 16 * 1024;

/**
 * A copy of a parsed payload with every string cut to CLASSIFY_PREFIX_CHARS, for the
 * normalisers to read. The event keeps the full payload; only what is derived from
 * it (type, summary, error message, an id hashed from text) is derived from the prefix,
 * which ends with a digest of what was cut, so two texts that differ only past the
 * prefix still give different ids. The payload's depth is already bounded
 * (json-depth.ts), so recursing here is safe; the copy is linear.
 */
export function boundedView(value: unknown): unknown {
  if (typeof value === 'string') return value.length > CLASSIFY_PREFIX_CHARS ? cut(value) : value;
  if (Array.isArray(value)) return value.map(boundedView);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // defineProperty, so a key named __proto__ stays a plain key, as JSON.parse made it.
    Object.defineProperty(copy, key, { value: boundedView(item), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function cut(value: string): string {
  const rest = value.slice(CLASSIFY_PREFIX_CHARS);
  const digest = createHash('sha256').update(rest).digest('hex').slice(0, 16);
  return `${value.slice(0, CLASSIFY_PREFIX_CHARS)}… [${rest.length} more characters, sha256 ${digest}]`;
}
