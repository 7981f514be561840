import { checkHmacSha256Hex, signHmacSha256Hex } from './hmac-sha256.js';
import { secretSetting, SHORT_SECRET_CHARS, type Secret, type SecretOptions } from './secrets.js';

// Every SyncEvent postload publishes carries, in a message attribute, an HMAC of the
// message data keyed with a secret only postload's publishers hold. The processor acts on
// nothing else: anyone else who can publish to the topic (a build, a script, a person with
// Pub/Sub rights) cannot make it start a dbt job or send a Slack message. Every publisher
// (ingest, the scheduled sweep, tools that republish) signs with signSyncEventData and the
// key from signingKeySetting; `postload replay` republishes the original attributes, so a
// replayed message keeps its signature.

/** The Pub/Sub message attribute holding postload's signature of the message data. */
export const SIGNATURE_ATTRIBUTE = 'postloadSignature';

/** The setting holding the signing key (a value, or an sm:// reference: every enabled version verifies). */
export const SIGNING_KEY_SETTING = 'SYNC_EVENT_SIGNING_KEY';

/** The scheme of the signature: HMAC-SHA256 over the message data, hex. A new scheme gets a new prefix. */
const SCHEME = 'v1=';

/**
 * How far Pub/Sub's clock (publish time) and this instance's (when the key was read) may
 * disagree: a mismatch counts as forged only when the key was read this long after the
 * message was published.
 */
export const CLOCK_SKEW_MS = 60_000;

/** The attribute value for a message's data: `v1=` and the hex HMAC-SHA256 of the data bytes. */
export function signSyncEventData(data: Uint8Array, key: Uint8Array): string {
  return SCHEME + signHmacSha256Hex(data, key);
}

/** The signing key setting, read from the environment like every secret (warned about when short). */
export function signingKeySetting(env: Record<string, string | undefined>, options: SecretOptions = {}): Secret {
  return secretSetting(env, 'SYNC_EVENT_SIGNING_KEY', { warnShorterThan: SHORT_SECRET_CHARS, ...options });
}

/**
 * The key to sign with: the newest enabled version. Returned at once when it is at hand
 * (nearly every message), else a promise. Throws (or rejects with) MissingSecretError or
 * SecretUnavailableError: a publisher then publishes nothing (fail closed).
 */
export function currentSigningKey(key: Secret): Buffer | Promise<Buffer> {
  const newest = key.valuesAtHand()?.[0];
  if (newest) return newest;
  return key.acceptedValues().then((values) => values[0]!);
}

export type SignatureProblem = 'unsigned' | 'malformed_signature' | 'wrong_signature';

export type SignatureVerdict =
  | { verdict: 'valid' }
  /** Not signed by postload: record it, alert, and never act on it. */
  | { verdict: 'refused'; problem: SignatureProblem; message: string }
  /** Perhaps signed with a key version added after this instance last read the key: deliver again later. */
  | { verdict: 'unsure'; message: string };

const PROBLEMS: Record<Exclude<ReturnType<typeof checkHmacSha256Hex>, 'valid' | 'mismatch'>, SignatureProblem> = {
  missing: 'unsigned',
  malformed: 'malformed_signature',
};

/**
 * Checks a message's signature against every accepted version of the key, in constant time
 * over the decoded digests. A mismatch asks Secret Manager again (at most every 30 s, see
 * Secret.refreshIfStale) so a version added moments ago verifies at once. A mismatch is
 * final only when the key was read after the message was published (plus CLOCK_SKEW_MS):
 * the version that signed it was enabled then, so it would be among the values. Otherwise
 * the verdict is `unsure` and the caller lets Pub/Sub deliver it again, when a fresher read
 * decides. A literal or pinned key is always final.
 *
 * Rejects with SecretUnavailableError when the key cannot be read: nothing is verified, so
 * nothing is acted on (the caller retries).
 */
export async function verifySyncEventSignature(
  data: Uint8Array,
  attributes: Readonly<Record<string, string>>,
  key: Secret,
  { publishedAtMs }: { publishedAtMs?: number | undefined } = {},
): Promise<SignatureVerdict> {
  const attribute = attributes[SIGNATURE_ATTRIBUTE];
  if (attribute === undefined || attribute.trim() === '') return refused('unsigned', `the message has no ${SIGNATURE_ATTRIBUTE} attribute`);
  if (!attribute.startsWith(SCHEME)) return refused('malformed_signature', `${SIGNATURE_ATTRIBUTE} is not a ${SCHEME}<64 hex digits> signature`);
  const check = (values: Buffer[]) => checkHmacSha256Hex(data, attribute.slice(SCHEME.length), values);

  let result = check(key.valuesAtHand() ?? (await key.acceptedValues()));
  if (result === 'mismatch' && (await key.refreshIfStale().catch(() => false))) result = check(await key.acceptedValues());
  if (result === 'valid') return { verdict: 'valid' };
  if (result !== 'mismatch') return refused(PROBLEMS[result], `${SIGNATURE_ATTRIBUTE} is not a ${SCHEME}<64 hex digits> signature`);
  const knownAsOf = key.knownAsOf() ?? Number.NEGATIVE_INFINITY;
  if (knownAsOf === Number.POSITIVE_INFINITY || (publishedAtMs !== undefined && knownAsOf > publishedAtMs + CLOCK_SKEW_MS)) {
    return refused('wrong_signature', `${SIGNATURE_ATTRIBUTE} does not match the data under any enabled version of ${key.setting}`);
  }
  return { verdict: 'unsure', message: `${SIGNATURE_ATTRIBUTE} matches no version of ${key.setting} read so far; the key may have a version newer than this instance's copy` };
}

function refused(problem: SignatureProblem, message: string): SignatureVerdict {
  return { verdict: 'refused', problem, message };
}
