import { Timestamp } from '@google-cloud/firestore';

// Firestore's documented storage sizes (cloud.google.com/firestore/docs/storage-size):
// a string is its UTF-8 bytes + 1; boolean and null 1; integer, double and timestamp 8;
// a map is the sum of its keys (as strings) and values; an array the sum of its values;
// a document is its name's size + the sum of its field names and values + 32, where the
// name counts each path segment as a string + 16. The 1 MiB limit applies to that total.
export const MAX_DOCUMENT_BYTES = 1_048_576;

export function stringSize(value: string): number {
  return Buffer.byteLength(value, 'utf8') + 1;
}

export function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number' || typeof value === 'bigint') return 8;
  if (typeof value === 'string') return stringSize(value);
  if (value instanceof Timestamp || value instanceof Date) return 8;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + valueSize(item), 0);
  if (typeof value === 'object') {
    let sum = 0;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === undefined) continue;
      sum += stringSize(key) + valueSize(item);
    }
    return sum;
  }
  return 8;
}

/** The stored size of a document at `path` (collection/id/...) with these fields. */
export function documentSize(path: string, data: Record<string, unknown>): number {
  const name = path.split('/').reduce((sum, segment) => sum + stringSize(segment), 16);
  return name + valueSize(data) + 32;
}

/**
 * Cuts a text to at most `maxBytes` UTF-8 bytes without splitting a character, marking the
 * cut with "…". Vendor texts (reasons, payloads) are cut here: the full message stays in
 * Pub/Sub and the dead-letter topic.
 */
export function cutText(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const marker = '…';
  let room = Math.max(0, maxBytes - Buffer.byteLength(marker, 'utf8'));
  let end = Math.min(text.length, room);
  while (end > 0 && Buffer.byteLength(text.slice(0, end), 'utf8') > room) end = Math.floor(end * 0.9);
  // Do not leave half a surrogate pair.
  if (end > 0 && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
  room = end;
  return `${text.slice(0, room)}${marker}`;
}

/** Every string in a JSON-like value cut to `maxBytes` (used for the normalised event). */
export function cutStrings<T>(value: T, maxBytes: number): T {
  if (typeof value === 'string') return cutText(value, maxBytes) as T;
  if (Array.isArray(value)) return value.map((item) => cutStrings(item, maxBytes)) as T;
  if (value && typeof value === 'object' && !(value instanceof Timestamp)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, cutStrings(v, maxBytes)])) as T;
  }
  return value;
}
