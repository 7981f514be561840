import { MissingSecretError, SecretUnavailableError } from '../../shared/secrets.js';
import { VendorApiError } from '../../vendors/vendor-error.js';
import { CliError, EXIT, isCliError } from '../errors.js';
import { VENDOR_NAMES, type ConnectVendor } from './report.js';
import { CREDENTIALS } from './vendor-clients.js';

/**
 * A vendor API failure as the one line connect prints, with its exit code:
 * - 401/403: the credentials are refused → 3 (connect could not ask);
 * - 429 beyond the retries, unreachable, 5xx, an answer not of the documented shape → 3;
 * - another 4xx on a change (a 400: the vendor refused it) → 1 (the answer is no).
 * The message is the client's own: it names the call, never a credential or a token.
 */
export function explainVendorError(error: unknown, vendor: ConnectVendor): unknown {
  if (isCliError(error)) return error;
  const name = VENDOR_NAMES[vendor];
  const settings = CREDENTIALS[vendor].settings.join(' and ');
  if (error instanceof MissingSecretError || error instanceof SecretUnavailableError) {
    return new CliError(`${name} API credentials: ${error.message}`, `check ${settings}`, EXIT.environment);
  }
  if (!(error instanceof VendorApiError)) return error;
  const status = error.details.status;
  if (error.failure === 'refused' && (status === 401 || status === 403)) {
    return new CliError(`${name} refused the API credentials: ${error.message}`, `check ${settings} (and, for ${name}, that they may manage webhooks)`, EXIT.environment);
  }
  if (error.failure === 'rate-limited') return new CliError(`${name} is rate-limiting this account: ${error.message}`, 'run connect again later; nothing after this call was changed', EXIT.environment);
  if (error.failure === 'unavailable') return new CliError(`${name} did not answer: ${error.message}`, `check the network and ${name}'s status page, then run connect again: it finds whatever this run already registered`, EXIT.environment);
  if (error.failure === 'garbage') return new CliError(`${name} answered something postload does not understand: ${error.message}`, 'please report it with the call named above', EXIT.environment);
  return new CliError(`${name} refused: ${error.message}`, undefined, EXIT.failed);
}
