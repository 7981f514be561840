/**
 * Exit codes a script can rely on (docs/operations.md, The postload command):
 * 0 done; 1 the answer is "no" (a check failed, a webhook was refused, an event failed,
 * a message could not be replayed); 2 the command line is wrong; 3 postload could not
 * even ask (credentials, project, a missing subscription, an unreachable service);
 * 4 --wait gave up before the processor finished; 5 the webhook was accepted, but
 * following it failed (do not send it again: `postload event ID` follows it later).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, environment: 3, timeout: 4, notFollowed: 5 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line (what went wrong, then how to fix it) with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly fix: string | undefined,
    readonly exitCode: ExitCode = EXIT.environment,
  ) {
    super(message);
  }
}

/**
 * By name, not instanceof: the commands are imported lazily, and a loader that gives a
 * lazily imported module its own copy of this file (tsx under mocha does) would make
 * instanceof miss.
 */
export function isCliError(error: unknown): error is CliError {
  return error instanceof Error && error.name === 'CliError' && typeof (error as CliError).exitCode === 'number';
}

/**
 * Turns a Google client error into one that names the fix. The codes are gRPC's
 * (5 NOT_FOUND, 7 PERMISSION_DENIED, 14 UNAVAILABLE, 16 UNAUTHENTICATED).
 */
export function explainGoogleError(error: unknown, what: string, project: string): CliError {
  if (isCliError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (/default credentials|Could not load the default credentials/i.test(message)) {
    return new CliError(`${what}: no Google Cloud credentials`, 'for the local stack, start it with `npm start` in this folder (postload finds it by itself); for a deployment, run `gcloud auth application-default login`');
  }
  if (/Unable to detect a Project Id/i.test(message)) {
    return new CliError(`${what}: no project`, 'for the local stack, start it with `npm start` in this folder (postload finds it by itself); for a deployment, pass --project PROJECT or set GOOGLE_CLOUD_PROJECT');
  }
  if (code === 5) return new CliError(`${what}: not found in project ${project} (${message})`, 'check --project and the name (`terraform output` prints them)');
  if (code === 7 || code === 16) {
    return new CliError(`${what}: permission denied in project ${project} (${message})`, 'check --project, and that your account has the role this needs (gcloud auth application-default login)');
  }
  if (code === 14 || code === 4) return new CliError(`${what}: the service did not answer (${message})`, 'check the network, or that the emulator in PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST runs');
  return new CliError(`${what}: ${message}`, undefined);
}
