import type { FivetranWebhook } from '../../generated/fivetran-webhook.schema.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { ERROR_MESSAGE_LIMIT, clip, dateTimeOrNull, tail } from '../bounded-text.js';

type Data = NonNullable<FivetranWebhook['data']>;

/**
 * What Fivetran's dbt and transformation events say about the run. Their `data` has no
 * connector fields but its own shape (captured dbt_run_* payloads, see
 * test/fixtures/SOURCES.md): dbtJobId, dbtJobName, startTime, endTime,
 * startupDetails.type and result.stepResults[]. Everything below `data` is read
 * defensively: the inbound schema does not constrain it, so any shape must normalise.
 */
export interface FivetranRun {
  transformation: NonNullable<SyncEvent['transformation']>;
  startedAt: string | null;
  finishedAt: string | null;
  /** The failed steps' command output, bounded; null when none failed or none said why. */
  failure: string | null;
}

export function readRun(data: Data): FivetranRun {
  // transformation_* events' own shape is unconfirmed: they get the dbt fields when they carry them.
  return {
    transformation: {
      jobId: data.dbtJobId === undefined ? null : String(data.dbtJobId),
      jobName: data.dbtJobName ?? null,
      runId: null,
      cause: stringField(record(data.startupDetails), 'type') ?? null,
    },
    startedAt: dateTimeOrNull(data.startTime),
    finishedAt: dateTimeOrNull(data.endTime),
    failure: failedSteps(record(data.result)),
  };
}

/**
 * "step name: what it printed" for each failed step. The command's `error` when it has
 * one, else the end of its `output`: dbt prints the failing models last.
 */
function failedSteps(result: Record<string, unknown> | undefined): string | null {
  const steps = Array.isArray(result?.stepResults) ? result.stepResults : [];
  const lines: string[] = [];
  for (const value of steps.slice(0, 100)) {
    const step = record(value);
    const command = record(step?.commandResult);
    const exitCode = command?.exitCode;
    const failed = step?.success === false || (typeof exitCode === 'number' && exitCode !== 0);
    if (!failed) continue;
    const name = stringField(record(step?.step), 'name');
    const said = (stringField(command, 'error') ?? '').trim() || dbtSummary(stringField(command, 'output') ?? '');
    const text = tail(said, ERROR_MESSAGE_LIMIT);
    lines.push(name ? `${name}: ${text || 'failed'}` : text || 'a step failed');
  }
  if (lines.length > 0) return clip(lines.join('\n'));
  const description = stringField(result, 'description');
  return description ? clip(description) : null;
}

/**
 * dbt's console output ends with "Completed with N error(s) …" followed by each error:
 * keep that part (the whole output when it is missing), without the time stamps dbt puts
 * before every line.
 */
function dbtSummary(output: string): string {
  const recent = tail(output, 4 * ERROR_MESSAGE_LIMIT);
  const completed = recent.lastIndexOf('Completed with ');
  const part = completed < 0 ? recent : recent.slice(completed);
  return part.replace(/^\d\d:\d\d:\d\d(?:\.\d{1,6})? {1,4}/gm, '').trim();
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function stringField(value: Record<string, unknown> | undefined, key: string): string | undefined {
  const field = value && Object.hasOwn(value, key) ? value[key] : undefined;
  return typeof field === 'string' ? field : undefined;
}
