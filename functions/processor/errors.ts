import { InvalidSyncEventError } from '../shared/sync-event.js';
import { MissingSecretError, SecretUnavailableError } from '../shared/secrets.js';

/** What an outbound call or a step was talking to when it failed. */
export type FailedSystem = 'dbt Cloud' | 'Cloud Run' | 'Airflow' | 'HTTP target' | 'Google auth' | 'Slack' | 'Firestore' | 'Secret Manager' | 'message' | 'postload';

interface FailureDetails {
  /** The system that failed. */
  system: FailedSystem;
  /** The HTTP status, when there was one. */
  status?: number;
  /** How long the other side asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * A failure that may go away: network trouble, a timeout, 429, 5xx, Firestore unavailable.
 * The function throws it, so Pub/Sub redelivers the message with backoff (and
 * dead-letters it after the subscription's maximum delivery attempts).
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  readonly kind = 'transient' as const;
  readonly system: FailedSystem;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: FailureDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.system = details.system;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * A failure that will never succeed however often it is retried: a message that is not a
 * SyncEvent, a dbt job that does not exist, a rejected token, an archived Slack channel.
 * It is recorded, logged at ERROR, alerted where Slack still works, and acknowledged.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly kind = 'permanent' as const;
  readonly system: FailedSystem;
  readonly status: number | undefined;

  constructor(message: string, details: FailureDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.system = details.system;
    this.status = details.status;
  }
}

export type FailureKind = 'transient' | 'permanent';

/** What an HTTP status means for a retry: success, try again, or give up. */
export function classifyHttpStatus(status: number): 'success' | FailureKind {
  if (status >= 200 && status < 300) return 'success';
  if (status === 429 || status === 408 || status >= 500) return 'transient';
  return 'permanent';
}

// gRPC codes a Firestore call can fail with that will never succeed on a retry.
const PERMANENT_GRPC_CODES = new Set([3 /* INVALID_ARGUMENT */]);

/**
 * Transient or permanent. Anything unrecognised counts as transient: redelivery (and in
 * the end the dead-letter topic) loses nothing, where acknowledging an unknown error would.
 */
export function classifyError(error: unknown): FailureKind {
  if (error instanceof PermanentError || error instanceof InvalidSyncEventError) return 'permanent';
  if (error instanceof MissingSecretError) return 'permanent';
  if (error instanceof TransientError || error instanceof SecretUnavailableError) return 'transient';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && PERMANENT_GRPC_CODES.has(code)) return 'permanent';
  return 'transient';
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
