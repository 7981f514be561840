import { pino, type Logger } from 'pino';
import { ConfigError, optionalString } from './settings.js';

// Cloud Logging reads `severity` and `message` from JSON lines on stdout. A few lines of
// formatter do this; @google-cloud/pino-logging-gcp-config would too, but it pulls in
// @google-cloud/logging and adds ~270 ms to the ingest function's cold start.
const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** Field names that may carry a credential: never printed, whatever logs them. */
export const REDACTED_PATHS = [
  'token',
  'secret',
  'authorization',
  'headers.authorization',
  'headers["x-fivetran-signature-256"]',
  '*.token',
  '*.secret',
  '*.authorization',
];

/** The values LOG_LEVEL takes: pino's levels, and silent. Terraform's log_level allows the same (a test holds them together). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL, default info; anything else stops start-up naming the setting (pino itself would throw a bare "unknown level"). */
export function logLevel(env: Record<string, string | undefined> = process.env): LogLevel {
  const value = optionalString(env, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  return value as LogLevel;
}

export function createLogger(destination?: pino.DestinationStream, { redact = true }: { redact?: boolean } = {}): Logger {
  return pino(
    {
      level: logLevel(),
      messageKey: 'message',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
      },
      ...(redact ? { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } } : {}),
    },
    destination,
  );
}

/** What the asynchronous stdout buffer may hold before lines are dropped instead of memory growing without bound. */
const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Lines are written in batches of this many bytes, or LOG_FLUSH_MS after they were logged.
 * Just under sonic-boom's 16 KiB largest write (it refuses a minLength at or above it): in
 * the bench's CPU profile the writes' main-thread time fell about elevenfold from 4 KiB
 * batches to 15 KiB ones (350 → 31 ms over 20,000 requests, some 16 µs per request).
 */
const LOG_BATCH_BYTES = 15 * 1024;
const LOG_FLUSH_MS = 100;

/**
 * The functions' logger writes stdout asynchronously and in batches: a slow reader (the
 * logging agent, a full pipe) never stalls request handling, as a synchronous write() would,
 * and under load one write() carries some thirty lines instead of one each (each write to a pipe
 * wakes its reader: it was the largest single cost per request in the bench's CPU profile).
 * A line waits at most LOG_FLUSH_MS. Whatever is still buffered is written when the process
 * exits (pino.destination with sync: false registers that), and the Functions Framework
 * exits through process.exit on SIGTERM; a SIGKILL loses at most the last LOG_FLUSH_MS.
 */
const stdout = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS, maxLength: LOG_BUFFER_MAX_BYTES });
export const logger = createLogger(stdout);

/**
 * The same output without redaction, for the one line logged for every accepted webhook,
 * whose fields are strings and numbers the handler computed itself. Redaction's wildcard
 * paths (`*.token`: every field searched, the objects on the way copied) cost about 6 µs a line,
 * twice the rest of it. Anything that can hold outside data (a request, a config, an error,
 * a payload's problems) goes through `logger`.
 */
export const fixedFieldsLogger = createLogger(stdout, { redact: false });

/**
 * Log fields that tie a line to the request's trace in Cloud Trace, from
 * `traceparent` (W3C) or `X-Cloud-Trace-Context` (Google's load balancer).
 */
export function traceFields(
  headers: Record<string, string | string[] | undefined>,
  projectId: string | undefined,
): Record<string, string> {
  const traceparent = first(headers['traceparent']);
  const cloudTrace = first(headers['x-cloud-trace-context']);
  let traceId: string | undefined;
  let spanId: string | undefined;
  const w3c = traceparent?.match(/^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/i);
  if (w3c) {
    [, traceId, spanId] = w3c;
  } else {
    const google = cloudTrace?.match(/^([\da-f]{32})(?:\/(\d+))?/i);
    if (google) [, traceId, spanId] = google;
  }
  if (!traceId || !projectId) return {};
  const fields: Record<string, string> = {
    'logging.googleapis.com/trace': `projects/${projectId}/traces/${traceId}`,
  };
  if (spanId) fields['logging.googleapis.com/spanId'] = spanId;
  return fields;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
