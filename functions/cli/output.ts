import { coloursWanted, painter, type Colour, type Painter } from '../local/console-output.js';
import { outputWidth, renderTable } from './table.js';

// --- text someone else wrote, made safe for a terminal -------------------------------------
//
// Connector names, error messages, quarantine problems and dbt Cloud's answers are the
// vendors' (or anyone's who can reach ingest or the topic). Printed raw, an ESC or OSC
// sequence in one can move the cursor, rewrite lines, plant a hyperlink or write the
// clipboard (OSC 52); C1 controls do the same on some terminals, and bidi controls reorder
// what is shown. terminalSafe() makes each of them a visible escape (\x1b, \u202e) before
// postload adds its own colours; every Output method also refuses any control sequence but
// postload's own colour codes, so a renderer that forgets cannot do harm. --json output is
// exact: the same values, with such characters written as JSON \u escapes.

/** C0 controls, DEL, C1 controls, and the bidi embedding/override/isolate and mark characters. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_CHAR = new RegExp(UNSAFE.source);
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(char: string): string {
  const code = char.charCodeAt(0);
  return NAMED[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/** `text` with every control character written as a visible escape (`\x1b`, `\n`, `\u202e`): for one value on one line. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** `value` with every string in it (in arrays and plain objects too) made terminalText: a view to print, never to store. */
export function terminalSafe<T>(value: T): T {
  if (typeof value === 'string') return terminalText(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => terminalSafe(item)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, terminalSafe(item)])) as T;
  }
  return value;
}

/** The painter's own colour codes: the only escape sequences a line may keep. */
const OWN_COLOUR = /\u001b\[(?:0|1|2|3[1-6])m/y;

/** A line as written: postload's colour codes kept, every other control character made visible; line breaks between lines kept. */
function guarded(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    OWN_COLOUR.lastIndex = i;
    const own = OWN_COLOUR.exec(text);
    if (own) {
      out += own[0];
      i += own[0].length - 1;
    } else {
      const char = text[i]!;
      out += char === '\n' || !UNSAFE_CHAR.test(char) ? char : visible(char);
    }
  }
  return out;
}

/** JSON with C1 controls, DEL and bidi controls as \u escapes too (JSON.stringify leaves them raw): the same values, safe on a terminal. */
function terminalJson(value: unknown): string {
  // C0 controls inside strings are escaped by JSON.stringify already; outside strings only its own line breaks occur.
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** How a command waits before trying again (connect); tests pass a clock that only records. Default: real time. */
  sleep?: (ms: number) => Promise<void>;
}

export interface OutputOptions {
  /** --json: one JSON document, no colours. */
  json?: boolean;
  /** --wide: tables whole even on a terminal. */
  wide?: boolean;
}

/**
 * Where a command writes: results to stdout (a table, lines, or JSON with --json),
 * progress and errors to stderr. Colours and progress only on a terminal, as the local
 * stack's console does (NO_COLOR / FORCE_COLOR respected); tables fit the terminal's width
 * (table.ts), whole when piped or with --wide.
 */
export class Output {
  readonly paint: Painter;
  readonly progressWanted: boolean;
  readonly json: boolean;
  /** The columns a table must fit in; undefined when piped or --wide. */
  readonly width: number | undefined;

  constructor(
    private readonly io: Io,
    { json = false, wide = false }: OutputOptions = {},
  ) {
    this.json = json;
    this.paint = painter(!json && coloursWanted(io.stdout as NodeJS.WriteStream, io.env));
    this.progressWanted = Boolean(io.stderr.isTTY) && !json;
    this.width = outputWidth(io.stdout, wide);
  }

  /** One or more lines of results; vendor text in it should have been through terminalSafe() (anything else is made visible here). */
  line(text = ''): void {
    this.io.stdout.write(`${guarded(text)}\n`);
  }

  /** The whole result as one JSON document (with --json): the values exactly as read. */
  data(value: unknown): void {
    this.io.stdout.write(`${terminalJson(value)}\n`);
  }

  error(text: string): void {
    this.io.stderr.write(`${guarded(text)}\n`);
  }

  /** A transient status on a terminal (overwritten by the next), nothing elsewhere. */
  progress(text: string): void {
    if (this.progressWanted) this.io.stderr.write(`\r\u001b[2K${this.paint('dim', terminalText(text))}`);
  }

  endProgress(): void {
    if (this.progressWanted) this.io.stderr.write('\r\u001b[2K');
  }

  colour(colour: Colour, text: string): string {
    return this.paint(colour, text);
  }

  /**
   * Aligned columns, the header in bold; on a terminal cut to its width (the columns in
   * `keep` never: ids, times, statuses), whole when piped or with --wide.
   */
  table(headers: string[], rows: string[][], keep: ReadonlySet<number> = new Set()): void {
    const [header, ...lines] = renderTable(headers, rows, { width: this.width, keep });
    this.line(this.paint('bold', header!));
    for (const line of lines) this.line(line);
  }
}
