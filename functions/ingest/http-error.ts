/**
 * A request postload will not accept, with the status and JSON body to answer.
 * `code` is stable for clients and log queries; `message` says what to fix.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
    /** Logged with the refusal, never answered (say, the client address a 403 refused). */
    readonly logFields: Record<string, unknown> = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.details };
  }
}
