import stringWidth from 'string-width';

// Tables and lines that fit the terminal: on a terminal of W columns nothing printed is
// wider than W (cells cut with an ellipsis, the widest columns first); piped, or with
// --wide, everything is printed whole for the next program to read. Widths are display
// columns (string-width: a CJK character or an emoji takes two, a colour code none).

// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/g;
const SGR_AT_START = /^\u001b\[[0-9;]*m/;
const ELLIPSIS = '…';
const GAP = '  ';
const segmenter = new Intl.Segmenter();

/** Display columns of a text, colour codes excluded. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/**
 * The text cut to at most `width` display columns, ending in "…" when cut. Colour codes
 * are kept (none is cut in half) and a reset is added after a cut inside a coloured part;
 * characters are never split (grapheme clusters).
 */
export function cutToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return '';
  const budget = width - 1;
  let out = '';
  let used = 0;
  let coloured = false;
  let rest = text;
  while (rest.length) {
    const code = SGR_AT_START.exec(rest);
    if (code) {
      out += code[0];
      coloured = code[0] !== '\u001b[0m' && code[0] !== '\u001b[m';
      rest = rest.slice(code[0].length);
      continue;
    }
    // The next grapheme, up to the next colour code.
    const next = rest.search(/\u001b\[/);
    const plain = next === -1 ? rest : rest.slice(0, Math.max(next, 1));
    const grapheme = segmenter.segment(plain)[Symbol.iterator]().next().value?.segment ?? plain[0]!;
    const w = stringWidth(grapheme);
    if (used + w > budget) break;
    out += grapheme;
    used += w;
    rest = rest.slice(grapheme.length);
  }
  return `${out}${ELLIPSIS}${coloured ? '\u001b[0m' : ''}`;
}

export interface TableOptions {
  /** The columns to fit in; undefined: no limit (piped, or --wide). */
  width?: number | undefined;
  /** Columns never cut (ids, times, statuses): the others give way first. */
  keep?: ReadonlySet<number>;
}

/**
 * Rows of aligned columns (two spaces apart; the last column unpadded), each line at most
 * `width` columns: when the whole table is wider, the widest cut-able columns are cut to a
 * common width, as little as needed, never below the header's width or a few characters.
 */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, options: TableOptions = {}): string[] {
  return tableLayout(headers, rows, options).lines;
}

/** The table's lines (header first) and the width each column got. */
export function tableLayout(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, { width, keep = new Set() }: TableOptions = {}): { lines: string[]; widths: number[] } {
  const natural = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const widths = width === undefined ? natural : fit(natural, headers, width, keep);
  const render = (cells: readonly string[]) =>
    headers
      .map((_, i) => {
        const cell = cutToWidth(cells[i] ?? '', widths[i]!);
        return i === headers.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[i]! - displayWidth(cell)));
      })
      .join(GAP)
      .trimEnd();
  return { lines: [render(headers), ...rows.map(render)], widths };
}

/** The column widths after the cut: a cap every cut-able column is brought down to. */
function fit(natural: number[], headers: readonly string[], width: number, keep: ReadonlySet<number>): number[] {
  const gaps = GAP.length * (natural.length - 1);
  const total = () => natural.reduce((a, b) => a + b, 0) + gaps;
  if (total() <= width) return natural;
  const floor = (i: number) => Math.min(natural[i]!, Math.max(displayWidth(headers[i] ?? ''), 6));
  const cuttable = natural.map((_, i) => i).filter((i) => !keep.has(i));
  const fixed = natural.reduce((sum, w, i) => sum + (keep.has(i) ? w : 0), 0) + gaps;
  // The largest cap that fits: sum over cut-able columns of max(floor, min(natural, cap)).
  const room = width - fixed;
  const used = (cap: number) => cuttable.reduce((sum, i) => sum + Math.max(floor(i), Math.min(natural[i]!, cap)), 0);
  let cap = Math.max(0, ...cuttable.map((i) => natural[i]!));
  while (cap > 0 && used(cap) > room) cap--;
  return natural.map((w, i) => (keep.has(i) ? w : Math.max(floor(i), Math.min(w, cap))));
}

/** The width output on this stream must fit: its columns on a terminal, none when piped or with --wide. */
export function outputWidth(stream: { isTTY?: boolean; columns?: number }, wide: boolean): number | undefined {
  if (wide || !stream.isTTY) return undefined;
  return stream.columns && stream.columns > 0 ? stream.columns : 80;
}

/** A line fitted to the width (undefined: whole). */
export function fitLine(line: string, width: number | undefined): string {
  return width === undefined ? line : cutToWidth(line, width);
}

/** The text with its colour codes removed. */
export function plain(text: string): string {
  return text.replace(SGR, '');
}
