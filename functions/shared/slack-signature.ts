import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CheckResult } from './hmac-sha256.js';

// How Slack signs the requests it sends an app (interactivity callbacks among them),
// https://api.slack.com/authentication/verifying-requests-from-slack: the basestring
// `v0:<X-Slack-Request-Timestamp>:<raw body>` is HMAC-SHA256'd with the app's signing
// secret, and X-Slack-Signature is `v0=` + the hex digest. The timestamp is Unix seconds;
// Slack's guidance is to refuse a request more than five minutes from the local clock, so a
// captured request cannot be replayed later.

export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';
/** Older (or further in the future) than this, a signed request is refused as a replay. */
export const SLACK_MAX_AGE_SECONDS = 5 * 60;

const VERSION = 'v0';
const SIGNATURE = /^v0=[0-9a-f]{64}$/i;
const TIMESTAMP = /^\d{1,12}$/;

/** The two headers Slack sends with a request signed at `timestampSeconds`. */
export function signSlackRequest(rawBody: string | Uint8Array, secret: string | Uint8Array, timestampSeconds: number): Record<string, string> {
  const timestamp = String(Math.floor(timestampSeconds));
  return { [SLACK_TIMESTAMP_HEADER]: timestamp, [SLACK_SIGNATURE_HEADER]: `${VERSION}=${digest(timestamp, rawBody, secret).toString('hex')}` };
}

/**
 * Checks a request's Slack signature over its exact bytes against every accepted secret
 * (all enabled versions, for rotation). `stale`: the timestamp is more than five minutes
 * from `nowMs`, signed or not (checked first: a replay costs no HMAC). Constant time: the
 * hex is decoded and two 32-byte digests are compared with timingSafeEqual, every secret
 * tried whatever matched.
 */
export function checkSlackSignature(
  rawBody: Uint8Array,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  secrets: readonly Uint8Array[],
  nowMs: number,
): CheckResult | 'stale' {
  const signature = signatureHeader?.trim();
  const timestamp = timestampHeader?.trim();
  if (!signature || !timestamp) return 'missing';
  if (!SIGNATURE.test(signature) || !TIMESTAMP.test(timestamp)) return 'malformed';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_MAX_AGE_SECONDS) return 'stale';
  const given = Buffer.from(signature.slice(VERSION.length + 1), 'hex');
  let valid = false;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    valid = timingSafeEqual(digest(timestamp, rawBody, secret), given) || valid;
  }
  return valid ? 'valid' : 'mismatch';
}

function digest(timestamp: string, rawBody: string | Uint8Array, secret: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${VERSION}:${timestamp}:`).update(rawBody).digest();
}
