import { coloursWanted, painter, type Colour, type Painter } from '../local/console-output.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

/**
 * Where a command writes: results to stdout (a table, lines, or JSON with --json),
 * progress and errors to stderr. Colours and progress only on a terminal, as the local
 * stack's console does (NO_COLOR / FORCE_COLOR respected).
 */
export class Output {
  readonly paint: Painter;
  readonly progressWanted: boolean;

  constructor(
    private readonly io: Io,
    readonly json: boolean,
  ) {
    this.paint = painter(!json && coloursWanted(io.stdout as NodeJS.WriteStream, io.env));
    this.progressWanted = Boolean(io.stderr.isTTY) && !json;
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

  /** Aligned columns; widths ignore colour codes. */
  table(headers: string[], rows: string[][]): void {
    const visible = (s: string) => s.replace(/\u001b\[\d+m/g, '').length;
    const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
    const render = (cells: string[]) =>
      cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell)))).join('  ').trimEnd();
    this.line(this.paint('bold', render(headers)));
    for (const row of rows) this.line(render(row));
  }
}
