import { coloursWanted, painter, type Colour, type Painter } from '../local/console-output.js';
import { outputWidth, renderTable } from './table.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
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

  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** The whole result as one JSON document (with --json). */
  data(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  error(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** A transient status on a terminal (overwritten by the next), nothing elsewhere. */
  progress(text: string): void {
    if (this.progressWanted) this.io.stderr.write(`\r\u001b[2K${this.paint('dim', text)}`);
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
