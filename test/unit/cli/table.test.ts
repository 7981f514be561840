import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cutToWidth, displayWidth, fitLine, outputWidth, plain, renderTable } from '../../../functions/cli/table.js';
import { painter } from '../../../functions/local/console-output.js';

// Tables fit the terminal: on W columns no line is wider than W; piped (or --wide) nothing
// is cut. Widths are display columns: colour codes count for none, CJK and emoji for two.

const paint = painter(true);

describe('cli/table: output that fits the terminal', () => {
  it('cuts a cell to the width with an ellipsis, keeping colour codes whole and closing them', () => {
    assert.equal(cutToWidth('abcdef', 4), 'abc…');
    assert.equal(cutToWidth('abc', 3), 'abc');
    const red = cutToWidth(paint('red', 'abcdef'), 4);
    assert.equal(plain(red), 'abc…');
    assert.ok(red.endsWith('\u001b[0m'), 'the colour is reset after a cut');
    assert.equal(displayWidth(red), 4);
    // Two columns per CJK character; a character is never split.
    assert.equal(cutToWidth('売上データ', 5), '売上…');
    assert.equal(displayWidth('売上データ'), 10);
  });

  it('property: a cut is never wider than asked, and a text that fits is unchanged', () => {
    const text = fc.array(fc.oneof(fc.constantFrom('a', 'é', '売', '👍🏽', ' ', '…'), fc.constantFrom('red', 'green', 'bold').map((c) => paint(c as 'red', 'x'))), { maxLength: 40 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 60 }), (t, width) => {
        const cut = cutToWidth(t, width);
        assert.ok(displayWidth(cut) <= width, `${JSON.stringify(t)} cut to ${width}: ${displayWidth(cut)}`);
        if (displayWidth(t) <= width) assert.equal(cut, t);
        else assert.ok(plain(cut).endsWith('…'));
      }),
      { seed: 32, numRuns: 300 },
    );
  });

  it('a table wider than the terminal: every line fits, the kept columns are whole, the widest others give way first', () => {
    const headers = ['event', 'type', 'connector', 'last error'];
    const rows = [
      ['e44cfe98', 'sync.failed', 'a connector with a very long name indeed (abcdef)', 'Database Error in model stg_invoices: column "discount_code" does not exist'],
      ['0123abcd', 'sync.succeeded', 'short', ''],
    ];
    const lines = renderTable(headers, rows, { width: 80, keep: new Set([0, 1]) });
    for (const line of lines) assert.ok(displayWidth(line) <= 80, `${displayWidth(line)}: ${line}`);
    assert.ok(lines[1]!.startsWith('e44cfe98  sync.failed     '));
    assert.match(lines[1]!, /…/);
    assert.ok(lines[2]!.includes('short'), 'a short cell is not cut');
  });

  it('property: for any cells and any width, no line is wider than the width (down to what the kept columns need)', () => {
    const cell = fc.string({ maxLength: 60 }).map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ''));
    fc.assert(
      fc.property(fc.array(fc.tuple(cell, cell, cell), { minLength: 1, maxLength: 6 }), fc.integer({ min: 40, max: 200 }), (rows, width) => {
        const lines = renderTable(['id', 'name', 'error'], rows, { width, keep: new Set([0]) });
        const kept = Math.max(2, ...rows.map((r) => displayWidth(r[0])));
        for (const line of lines) assert.ok(displayWidth(line) <= Math.max(width, kept + 2 + 6 + 2 + 6), `${displayWidth(line)} > ${width}`);
      }),
      { seed: 32, numRuns: 200 },
    );
  });

  it('with no width (piped or --wide) nothing is cut; a terminal gives its columns', () => {
    const long = 'x'.repeat(500);
    assert.ok(renderTable(['a'], [[long]]).at(-1)!.includes(long));
    assert.equal(outputWidth({ isTTY: true, columns: 120 }, false), 120);
    assert.equal(outputWidth({ isTTY: true, columns: 120 }, true), undefined);
    assert.equal(outputWidth({ isTTY: false, columns: 120 }, false), undefined);
    assert.equal(fitLine(long, undefined), long);
    assert.equal(displayWidth(fitLine(long, 120)), 120);
  });
});
