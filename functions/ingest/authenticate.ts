import { MissingSecretError, SecretUnavailableError, type Secret } from '../shared/secrets.js';
import { HttpError } from './http-error.js';

export type CheckResult = 'valid' | 'missing' | 'malformed' | 'mismatch';

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
    throw unavailable(endpoint, secret, error);
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
    throw unavailable(endpoint, secret, error);
  }
}

async function refreshed(secret: Secret): Promise<boolean> {
  try {
    return await secret.refreshIfStale();
  } catch {
    return false;
  }
}

function unavailable(endpoint: string, secret: Secret, error: unknown): HttpError {
  const notConfigured = error instanceof MissingSecretError;
  if (!notConfigured && !(error instanceof SecretUnavailableError)) throw error;
  const failure = new HttpError(
    503,
    notConfigured ? 'not_configured' : 'secret_unavailable',
    notConfigured
      ? `the ${endpoint} endpoint cannot authenticate requests yet: ${secret.setting} is not set; retry later`
      : `the ${endpoint} endpoint could not read ${secret.setting} to check the credentials; retry later`,
    {},
    { 'retry-after': '60' },
  );
  // The operator's instructions travel in the cause, which is logged, never answered.
  failure.cause = error;
  return failure;
}
