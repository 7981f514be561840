import { MissingSecretError, SecretUnavailableError, type Secret } from '../shared/secrets.js';
import type { CheckResult } from '../shared/hmac-sha256.js';
import { HttpError } from './http-error.js';

export type { CheckResult } from '../shared/hmac-sha256.js';

/** Why each failed check is refused: said to the sender, so it names the fix, never the secret. */
export type Refusals = Record<Exclude<CheckResult, 'valid'>, string>;

/**
 * Runs `check` against every value the secret accepts. A mismatch re-reads Secret
 * Manager once (rate-limited inside Secret) so a version added seconds ago is honoured.
 * A missing or unreadable secret fails closed with 503: nothing is accepted without
 * authentication, and Fivetran keeps retrying until an operator sets the secret.
 * Returns undefined when the request was authenticated without waiting (the secret's values
 * at hand and a match: nearly every request, and no promise for it), else a promise.
 */
export function authenticate(secret: Secret, check: (accepted: Buffer[]) => CheckResult, refusals: Refusals): Promise<void> | undefined {
  let ready: Buffer[] | undefined;
  try {
    ready = secret.valuesAtHand();
  } catch (error) {
    throw unavailable(secret, error);
  }
  const first = ready && check(ready);
  if (first === 'valid') return undefined;
  return authenticateAsync(secret, check, refusals, first || undefined);
}

async function authenticateAsync(secret: Secret, check: (accepted: Buffer[]) => CheckResult, refusals: Refusals, first?: CheckResult): Promise<void> {
  let result = first ?? check(await acceptedValues(secret));
  if (result === 'mismatch' && (await refreshed(secret))) result = check(await acceptedValues(secret));
  if (result !== 'valid') throw new HttpError(401, result === 'mismatch' ? 'unauthorized' : `${result}_credentials`, refusals[result]);
}

async function acceptedValues(secret: Secret): Promise<Buffer[]> {
  try {
    return await secret.acceptedValues();
  } catch (error) {
    throw unavailable(secret, error);
  }
}

async function refreshed(secret: Secret): Promise<boolean> {
  try {
    return await secret.refreshIfStale();
  } catch {
    return false;
  }
}

/** What a sender is told when a secret is missing or unreadable: it retries; the log says what to set. */
export interface Unavailable {
  notConfigured: string;
  unreadable: string;
}

const CREDENTIALS: Unavailable = {
  notConfigured: 'this endpoint is not configured to authenticate requests yet; retry later',
  unreadable: 'credentials could not be read; retry later',
};

/** A 503 for a secret that is not set (MissingSecretError) or cannot be read (SecretUnavailableError); anything else is rethrown. */
export function unavailable(secret: Secret, error: unknown, said: Unavailable = CREDENTIALS): HttpError {
  const notConfigured = error instanceof MissingSecretError;
  if (!notConfigured && !(error instanceof SecretUnavailableError)) throw error;
  const failure = new HttpError(503, notConfigured ? 'not_configured' : 'secret_unavailable', notConfigured ? said.notConfigured : said.unreadable, {}, { 'retry-after': '60' });
  // The operator's instructions travel in the cause, which is logged, never answered.
  failure.cause = error;
  return failure;
}
