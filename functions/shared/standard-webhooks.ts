import { createHmac, timingSafeEqual } from 'node:crypto';

// The Standard Webhooks signature scheme (github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md), which postload's HTTP targets are signed with:
// - headers `webhook-id` (the message id, the same on every retry), `webhook-timestamp`
//   (integer Unix seconds of this attempt) and `webhook-signature` (space-separated
//   `v1,<base64>` entries);
// - the signed content is `<webhook-id>.<webhook-timestamp>.<raw body>`, HMAC-SHA256;
// - the secret is `whsec_` followed by the base64 of 24 to 64 random bytes, and the HMAC key
//   is those bytes;
// - a receiver refuses a timestamp more than 5 minutes from its own clock (replay).
// The published test vector (secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id
// msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330, body {"test": 2432232314} →
// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=) is checked in the unit tests.

export const WEBHOOK_ID = 'webhook-id';
export const WEBHOOK_TIMESTAMP = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE = 'webhook-signature';
export const SECRET_PREFIX = 'whsec_';
export const TIMESTAMP_TOLERANCE_SECONDS = 300;
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key a `whsec_…` secret stands for, or why the secret is not one. */
export function signingKey(secret: string): Buffer | { problem: string } {
  const trimmed = secret.trim();
  if (!trimmed.startsWith(SECRET_PREFIX)) return { problem: `is not a Standard Webhooks secret: it must start with "${SECRET_PREFIX}" followed by base64` };
  const encoded = trimmed.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return { problem: `is not a Standard Webhooks secret: what follows "${SECRET_PREFIX}" is not base64` };
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    return { problem: `is not a Standard Webhooks secret: it must hold ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes, it holds ${key.length}` };
  }
  return key;
}

/** The `webhook-signature` value for one attempt: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function signStandardWebhook(key: Uint8Array, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The three headers of one attempt. */
export function standardWebhookHeaders(key: Uint8Array, id: string, timestampSeconds: number, body: string): Record<string, string> {
  return { [WEBHOOK_ID]: id, [WEBHOOK_TIMESTAMP]: String(timestampSeconds), [WEBHOOK_SIGNATURE]: signStandardWebhook(key, id, timestampSeconds, body) };
}

export type StandardWebhookVerdict = 'valid' | 'missing' | 'stale' | 'mismatch';

/**
 * A receiver's check: all three headers present, the timestamp within the tolerance, and one
 * of the `v1,` signatures equal to the expected one, compared in constant time over the
 * decoded 32-byte digests (every entry is compared, so the time taken says nothing).
 */
export function verifyStandardWebhook(
  key: Uint8Array,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = TIMESTAMP_TOLERANCE_SECONDS,
): StandardWebhookVerdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return 'stale';
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  let valid = false;
  for (const entry of signature.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value || !BASE64.test(value)) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length !== expected.length) continue;
    valid = timingSafeEqual(given, expected) || valid;
  }
  return valid ? 'valid' : 'mismatch';
}
