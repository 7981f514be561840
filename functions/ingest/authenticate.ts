import { MissingSecretError, SecretUnavailableError, type Secret } from '../shared/secrets.js';
import type { CheckResult } from '../shared/hmac-sha256.js';
import { HttpError } from './http-error.js';

export type { CheckResult } from '../shared/hmac-sha256.js';

/**
 * Why a failed check is refused, said to the sender: it names the endpoint and the setting
 * the credentials were checked against, and the fix, never the secret. Asked only on a
 * refusal (a function, so that nothing is built for the requests that pass).
 */
export type Refusal = (result: Exclude<CheckResult, 'valid'>, req: Asked) => string;

/** What a refusal may look at: the request's headers and query. */
export type Asked = { get(name: string): string | undefined; query?: unknown };

/**
 * Runs `check` against every value the secret accepts. A mismatch re-reads Secret
 * Manager once (rate-limited inside Secret) so a version added seconds ago is honoured.
 * A missing or unreadable secret fails closed with 503: nothing is accepted without
 * authentication, and Fivetran keeps retrying until an operator sets the secret.
 * Returns undefined when the request was authenticated without waiting (the secret's values
 * at hand and a match: nearly every request, and no promise for it), else a promise.
 */
export function authenticate(
  endpoint: string,
  secret: Secret,
  check: (accepted: Buffer[]) => CheckResult,
  refusal: Refusal,
  req: Asked,
): Promise<void> | undefined {
  let ready: Buffer[] | undefined;
  try {
    ready = secret.valuesAtHand();
  } catch (error) {
    throw unavailable(secret, error, credentials(endpoint, secret));
  }
  const first = ready && check(ready);
  if (first === 'valid') return undefined;
  return authenticateAsync(endpoint, secret, check, refusal, req, first || undefined);
}

async function authenticateAsync(
  endpoint: string,
  secret: Secret,
  check: (accepted: Buffer[]) => CheckResult,
  refusal: Refusal,
  req: Asked,
  first?: CheckResult,
): Promise<void> {
  let result = first ?? check(await acceptedValues(endpoint, secret));
  if (result === 'mismatch' && (await refreshed(secret))) result = check(await acceptedValues(endpoint, secret));
  if (result !== 'valid') throw new HttpError(401, result === 'mismatch' ? 'unauthorized' : `${result}_credentials`, refusal(result, req));
}

async function acceptedValues(endpoint: string, secret: Secret): Promise<Buffer[]> {
  try {
    return await secret.acceptedValues();
  } catch (error) {
    throw unavailable(secret, error, credentials(endpoint, secret));
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

/** An endpoint's own words: which endpoint, and the setting it checks credentials against. */
function credentials(endpoint: string, secret: Secret): Unavailable {
  return {
    notConfigured: `the ${endpoint} endpoint cannot authenticate requests yet: ${secret.setting} is not set; retry later`,
    unreadable: `the ${endpoint} endpoint could not read ${secret.setting} to check the credentials; retry later`,
  };
}

/** A 503 for a secret that is not set (MissingSecretError) or cannot be read (SecretUnavailableError); anything else is rethrown. */
export function unavailable(secret: Secret, error: unknown, said: Unavailable): HttpError {
  const notConfigured = error instanceof MissingSecretError;
  if (!notConfigured && !(error instanceof SecretUnavailableError)) throw error;
  const failure = new HttpError(503, notConfigured ? 'not_configured' : 'secret_unavailable', notConfigured ? said.notConfigured : said.unreadable, {}, { 'retry-after': '60' });
  // The operator's instructions travel in the cause, which is logged, never answered.
  failure.cause = error;
  return failure;
}
