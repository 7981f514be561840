import type { Secret } from '../shared/secrets.js';
import { currentSigningKey } from '../shared/sync-event-signature.js';
import { unavailable } from './authenticate.js';

const SAID = {
  notConfigured: 'postload is not configured to publish events yet; retry later',
  unreadable: 'postload could not read its signing key; retry later',
};

/**
 * The key this request's SyncEvent is signed with, read only once the request is
 * authenticated. Nothing is published unsigned: a key that is not set or cannot be read is
 * a 503, so the sender retries (and the log names SYNC_EVENT_SIGNING_KEY). At hand (nearly
 * every request) it is returned at once, without a promise.
 */
export function signingKeyFor(secret: Secret): Buffer | Promise<Buffer> {
  let key: Buffer | Promise<Buffer>;
  try {
    key = currentSigningKey(secret);
  } catch (error) {
    throw unavailable(secret, error, SAID);
  }
  return Buffer.isBuffer(key) ? key : key.catch((error: unknown) => Promise.reject(unavailable(secret, error, SAID)));
}
