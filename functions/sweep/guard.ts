import type { Deadline } from '../processor/clients/http-retry.js';
import { describeError, TransientError } from '../processor/errors.js';

/** Firestore answers a failed precondition (another sweep wrote first) with these codes. */
export const CONFLICT_CODES = new Set([6 /* ALREADY_EXISTS */, 9 /* FAILED_PRECONDITION */, 10 /* ABORTED */]);

export function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'number' && CONFLICT_CODES.has(code);
}

/**
 * A Firestore call within `timeoutMs` and the tick's deadline: past either it fails as a
 * TransientError (the tick then fails and Pub/Sub delivers it again; nothing it left is
 * half-done, see sweep.ts). A conflict is passed through as it is, for the caller to re-read.
 */
export async function guarded<T>(what: string, timeoutMs: number, deadline: Deadline, operation: () => Promise<T>): Promise<T> {
  const ms = Math.min(timeoutMs, deadline.remainingMs());
  if (ms <= 0) throw new TransientError(`no time left to ${what}`, { system: 'Firestore' });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`Firestore did not ${what} within ${ms} ms`, { system: 'Firestore' })), ms);
  });
  try {
    return await Promise.race([operation(), timeout]);
  } catch (error) {
    if (error instanceof TransientError || isConflict(error)) throw error;
    throw new TransientError(`Firestore could not ${what}: ${describeError(error)}`, { system: 'Firestore', cause: error });
  } finally {
    clearTimeout(timer);
  }
}
