import { tableLayout, type TableOptions } from '../cli/table.js';
import type { RecordedRequest, Reply } from './recording-server.js';

// Short, coloured lines for what flows through the local stack: the functions' JSON log
// lines (Cloud Logging format) and the requests the dbt Cloud and Slack stand-ins receive.

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export interface Painter {
  (colour: Colour, text: string): string;
}

export function painter(enabled: boolean): Painter {
  return (colour, text) => (enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text);
}

/** Colours when writing to a terminal, unless NO_COLOR is set (FORCE_COLOR forces them). */
export function coloursWanted(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

interface LogEntry {
  severity?: string;
  message?: string;
  eventId?: string;
  source?: string;
  type?: string;
  connectorId?: string | null;
  status?: number | string;
  latencyMs?: number;
  messageId?: string;
  jobId?: string;
  runId?: number;
  actionId?: string;
  webhook?: string;
  routes?: string[];
  dbtJobs?: string[];
  error?: string;
  err?: unknown;
  [key: string]: unknown;
}

const FRAMEWORK_BANNER = /^(Serving function\.\.\.|Function: |Signature type: |URL: http)/;
/** A stack trace's frame, or the cause and brace lines Node prints around one. */
const STACK_LINE = /^\s+(at\s|\[cause\]|\{|\}|[\w$]+: )|^\s*\}$/;
/**
 * The first line of a stack the Functions Framework prints when the function throws. A
 * TransientError is how the processor asks Pub/Sub to redeliver: its own log line already
 * said so, in one line.
 */
const THROWN_TRANSIENT = /^TransientError: /;

export const short = (id: string | undefined): string => (id ? id.slice(0, 8) : '?');

function label(name: string, paint: Painter, colour: Colour): string {
  return paint(colour, name.padEnd(9));
}

export interface FormatOptions {
  /** LOG_LEVEL debug (or trace): stack traces are shown; otherwise a retry is one line and frames are left out. */
  debug?: boolean;
}

/** Whether the local stack runs at debug level (LOG_LEVEL, as the functions read it). */
export function debugWanted(env: Record<string, string | undefined> = process.env): boolean {
  return /^(debug|trace)$/i.test(env.LOG_LEVEL?.trim() ?? '');
}

/**
 * One line of a function's output as a readable line, or undefined for noise (the
 * framework's start-up banner; below debug level, the stack trace the framework prints when
 * the processor throws to be retried, whose one-line reason the processor logged already).
 * Other lines that are not JSON (a crash) are shown as they are, without their frames
 * unless at debug level.
 */
export function formatFunctionLine(target: 'ingestWebhook' | 'processSyncEvent' | 'runSweep', raw: string, paint: Painter, { debug = false }: FormatOptions = {}): string | undefined {
  const who = target === 'ingestWebhook' ? label('ingest', paint, 'cyan') : target === 'runSweep' ? label('sweep', paint, 'green') : label('processor', paint, 'magenta');
  let entry: LogEntry;
  try {
    entry = JSON.parse(raw) as LogEntry;
  } catch {
    if (FRAMEWORK_BANNER.test(raw.trim())) return undefined;
    if (!debug && (STACK_LINE.test(raw) || THROWN_TRANSIENT.test(raw))) return undefined;
    return `${who} ${paint('dim', raw)}`;
  }
  if (typeof entry !== 'object' || entry === null) return `${who} ${raw}`;
  const message = entry.message ?? '';
  const event = entry.eventId ? ` event ${paint('bold', short(entry.eventId))}` : '';
  const connector = entry.connectorId ? ` connector ${entry.connectorId}` : '';

  if (message === 'webhook published') {
    return `${who} ${paint('green', '▶ received')} ${entry.source} webhook → ${paint('green', 'published')} ${entry.type}${event}${connector} ${paint('dim', `(${entry.status}, ${entry.latencyMs} ms)`)}`;
  }
  if (message.startsWith('webhook refused: ')) {
    return `${who} ${paint('yellow', `✗ refused ${entry.status}`)} ${message.slice('webhook refused: '.length)}`;
  }
  if (message === 'run started' || message === 'run found already started') {
    const kind = entry.targetKind === 'dbt-cloud' ? 'dbt run' : 'run';
    const verb = message === 'run started' ? `${kind} started` : `${kind} found already started`;
    const target = entry.targetKind === 'dbt-cloud' ? `job ${entry.jobId}` : String(entry.target ?? entry.jobId);
    return `${who} ${paint('blue', `▶ ${verb}`)}: ${target} → run ${entry.runId}${event}`;
  }
  if (message === 'Slack message sent') {
    return `${who} ${paint('yellow', '▶ Slack message sent')} via ${entry.webhook}${event}`;
  }
  if (message === 'action already done by an earlier delivery; skipped') {
    return `${who} ${paint('dim', `↺ duplicate delivery: ${entry.actionId} already done, skipped`)}${event}`;
  }
  if (message === 'transient failure; throwing so that Pub/Sub redelivers') {
    return `${who} ${paint('yellow', '↻ not done yet, Pub/Sub will redeliver')}:${event} ${paint('dim', typeof entry.err === 'string' ? entry.err : '')}`.trimEnd();
  }
  const outcome = /^event (processed|failed)$/.exec(message);
  if (outcome) {
    const what = outcome[1] === 'processed' ? paint('green', '✔ audit written') : paint('red', '✔ audit written (failed actions)');
    const dbt = entry.dbtJobs?.length ? `, dbt jobs ${entry.dbtJobs.join(', ')}` : '';
    return `${who} ${what}:${event} ${entry.type ?? ''} ${outcome[1]} ${paint('dim', `(routes ${(entry.routes ?? []).join(', ') || 'none'}${dbt})`)}`;
  }
  if (message === 'freshness state changed') {
    const bad = entry.to === 'overdue' || entry.to === 'failing';
    return `${who} ${paint(bad ? 'red' : entry.to === 'late' ? 'yellow' : 'green', `◆ ${String(entry.connector)} ${String(entry.from ?? 'new')} → ${String(entry.to)}`)} ${paint('dim', `(${String(entry.expectation)}, ${String(entry.expectationSource)})`)}`;
  }
  if (message === 'sweep tick done') {
    const tasks = (entry.tasks ?? {}) as Record<string, Record<string, number>>;
    const f = tasks.freshness ?? {};
    // A quiet tick is not worth a line.
    if (!f.stateChanges && !f.messagesSent && !tasks.reconciliation?.recovered) return undefined;
    return `${who} ${paint('dim', `tick: ${f.candidates ?? 0} connector(s) looked at, ${f.stateChanges ?? 0} change(s), ${f.messagesSent ?? 0} message(s), ${tasks.reconciliation?.recovered ?? 0} recovered`)}`;
  }
  const severity = entry.severity ?? 'INFO';
  const colour: Colour | undefined = severity === 'ERROR' || severity === 'CRITICAL' ? 'red' : severity === 'WARNING' ? 'yellow' : undefined;
  const detail = entry.err ? ` ${paint('dim', typeof entry.err === 'string' ? entry.err : JSON.stringify(entry.err))}` : '';
  const text = `${message}${event}${detail}`;
  return `${who} ${colour ? paint(colour, text) : text}`;
}

/** A request a stand-in received, as one line: what dbt Cloud was asked to run, what Slack was sent. */
export function formatStandInRequest(name: 'dbt Cloud' | 'Slack' | 'Fivetran API' | 'Airbyte API', request: RecordedRequest, reply: Reply, paint: Painter): string {
  const status = reply === 'hang' ? 'no answer' : reply === 'drop' ? 'connection dropped' : String(reply.status);
  if (name === 'Slack') {
    const method = /^\/api\/([a-zA-Z.]+)/.exec(request.url)?.[1];
    const text = (request.json as { text?: string } | undefined)?.text ?? request.body;
    // The Web API (the Slack app): a post or an update says what; a read (the exactly-once lookup) is one dim line.
    if (method && method !== 'chat.postMessage' && method !== 'chat.update') return `${label('Slack', paint, 'yellow')} ${paint('dim', `◀ ${method} (${status})`)}`;
    const what = method === 'chat.update' ? '◀ message updated' : method ? '◀ app message posted' : request.url.startsWith('/actions/') ? '◀ answer to the button press' : '◀ message sent';
    return `${label('Slack', paint, 'yellow')} ${paint('yellow', what)}: ${firstLine(text)} ${paint('dim', `(${status})`)}`;
  }
  if (name === 'Fivetran API' || name === 'Airbyte API') {
    return `${label(name.replace(' API', ''), paint, 'cyan')} ${paint('dim', `◀ ${request.method} ${request.url.split('?')[0]} (${status})`)}`;
  }
  const body = request.json as { cause?: string } | undefined;
  const run = typeof reply === 'object' && typeof reply.body === 'object' ? (reply.body as { data?: { id?: number } }).data?.id : undefined;
  const what = body?.cause ? `cause "${body.cause}"` : '';
  return `${label('dbt Cloud', paint, 'blue')} ${paint('blue', `◀ ${request.method} ${request.url}`)} ${what} ${paint('dim', `(${status}${run ? `, run ${run}` : ''})`)}`;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 140 ? `${line.slice(0, 139)}…` : line;
}

/**
 * A table with a header row and a rule under it, fitted to `width` columns when given (the
 * terminal's, cli/table.ts), whole otherwise.
 */
export function table(header: string[], rows: string[][], options: TableOptions = {}): string {
  const { lines, widths } = tableLayout(header, rows, options);
  const [head, ...body] = lines;
  return [head, widths.map((w) => '─'.repeat(w)).join('  '), ...body].join('\n');
}
