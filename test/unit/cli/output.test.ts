import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Timestamp } from '@google-cloud/firestore';
import fc from 'fast-check';
import { toEventView } from '../../../functions/read-model/audit-trail.js';
import { renderEventTable, renderTimeline } from '../../../functions/cli/event-report.js';
import { Output, terminalSafe, terminalText } from '../../../functions/cli/output.js';
import { formatReplayLine } from '../../../functions/cli/replay.js';

function stream(isTTY: boolean) {
  const s = Object.assign(
    new Writable({
      write(chunk, _e, done) {
        s.text += String(chunk);
        done();
      },
    }),
    { text: '', isTTY },
  );
  return s;
}

describe('cli/output', () => {
  it('colours and progress only on a terminal; NO_COLOR and --json turn colours off', () => {
    const cases: Array<[boolean, Record<string, string>, boolean, boolean]> = [
      [true, {}, false, true],
      [false, {}, false, false],
      [true, { NO_COLOR: '1' }, false, false],
      [true, {}, true, false],
      [false, { FORCE_COLOR: '1' }, false, true],
    ];
    for (const [tty, env, json, coloured] of cases) {
      const stdout = stream(tty);
      const stderr = stream(tty);
      const out = new Output({ stdout, stderr, env }, { json });
      out.line(out.colour('green', 'ok'));
      out.progress('working…');
      assert.equal(stdout.text.includes('\u001b['), coloured, `tty=${tty} env=${JSON.stringify(env)} json=${json}`);
      assert.equal(stderr.text.includes('working'), tty && !json);
    }
  });

  it('aligns table columns by visible width, colour codes ignored', () => {
    const stdout = stream(true);
    const out = new Output({ stdout, stderr: stream(true), env: {} });
    out.table(['a', 'bb', 'c'], [[out.colour('red', 'xxx'), 'y', 'last'], ['z', 'yyyy', '']]);
    const plain = stdout.text.replace(/\u001b\[\d+m/g, '').split('\n');
    assert.deepEqual(plain.slice(0, 3), ['a    bb    c', 'xxx  y     last', 'z    yyyy']);
  });
});

describe('cli/output: vendor strings on a terminal (issue 25, finding 7)', () => {
  // What a hostile connector name or error message might carry.
  const HOSTILE = [
    '\u001b[2J\u001b[H', // clear the screen, cursor home
    '\u001b]52;c;ZXZpbA==\u0007', // OSC 52: write the clipboard
    '\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\', // OSC 8: a hidden hyperlink
    '\u009b31m', // C1 CSI
    'line\rover', // carriage return: rewrite the line
    'two\nlines',
    '\u202eevil\u202c', // right-to-left override
    '\u007f\u0000\u0008',
    '\u001b[31mred', // a colour sequence that is not postload's
  ];

  it('terminalText makes every control character a visible escape', () => {
    assert.equal(terminalText('\u001b]52;c;ZXZpbA==\u0007'), '\\x1b]52;c;ZXZpbA==\\x07');
    assert.equal(terminalText('a\nb\rc\td'), 'a\\nb\\rc\\td');
    assert.equal(terminalText('\u009b31m'), '\\x9b31m');
    assert.equal(terminalText('\u202eevil'), '\\u202eevil');
    assert.equal(terminalText('plain ✔ café 日本'), 'plain ✔ café 日本');
  });

  /** A terminal's output: postload's colour codes and line ends are the only controls it may hold. */
  function onlyOwnControls(text: string): void {
    const stripped = text.replace(/\u001b\[(?:0|1|2|3[1-6])m/g, '').replace(/\n/g, '');
    assert.doesNotMatch(stripped, /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(text));
  }

  const hostile = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: fc.oneof(fc.constantFrom('\u001b', '\u009b', '\u0007', '\n', '\u202e', '[', ']', ';'), fc.string({ minLength: 1, maxLength: 1 })) }));
  const at = (iso: string) => Timestamp.fromDate(new Date(iso));

  it('property: events, one event\'s story and replay lines print every vendor string visibly, with colours on', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, hostile, hostile, (name, error, problem, type, target) => {
        const doc = {
          eventId: 'e'.repeat(32), source: 'fivetran', type, vendorEvent: name, connectorId: name, connectorName: name, syncStatus: type, status: 'failed',
          occurredAt: at('2026-11-29T10:00:00Z'), receivedAt: at('2026-11-29T10:00:01Z'), firstDeliveredAt: at('2026-11-29T10:00:02Z'), processedAt: at('2026-11-29T10:00:03Z'),
          deliveries: 1, routes: [name], problems: [{ code: problem, message: problem, pointer: problem }],
          actions: { [`dbt-job-${target}`]: { kind: 'dbt', target, status: 'failed', attempts: 1, requests: 1, lastError: error, completedAt: at('2026-11-29T10:00:03Z'), errors: [{ at: '2026-11-29T10:00:03Z', attempt: 1, kind: 'permanent', message: error, status: 400 }], requestLog: [{ at: '2026-11-29T10:00:03Z', status: 400, error }] } },
        };
        const view = toEventView('e'.repeat(32), doc);
        const stdout = stream(true);
        const out = new Output({ stdout, stderr: stream(true), env: { FORCE_COLOR: '1' } });
        renderTimeline(view, out);
        renderEventTable([view, view], out);
        out.line(formatReplayLine({ messageId: name, eventId: 'e'.repeat(32), type, connector: name, deliveries: '5', lastError: error, outcome: 'failed', error }, out));
        out.error(`postload: ${error}`);
        assert.ok(stdout.text.includes('\u001b[3'), 'colours are on');
        onlyOwnControls(stdout.text);
      }),
      { seed: 25, numRuns: 300 },
    );
  });

  it('--json stays exact: the same values, with C1 and bidi controls as \\u escapes, nothing a terminal acts on', () => {
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 5 }), (strings) => {
        const value = { strings, nested: { name: strings.join('') } };
        const stdout = stream(true);
        new Output({ stdout, stderr: stream(true), env: {} }, { json: true }).data(value);
        assert.deepEqual(JSON.parse(stdout.text), value);
        onlyOwnControls(stdout.text);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('every Output method refuses escape sequences a renderer forgot to make visible: only postload\'s own colours pass', () => {
    const stdout = stream(true);
    const stderr = stream(true);
    const out = new Output({ stdout, stderr, env: { FORCE_COLOR: '1' } });
    out.line(`${out.colour('red', 'x')} ${HOSTILE[1]}`);
    out.table(['a'], [[HOSTILE[0]!]]);
    out.error(HOSTILE[2]!);
    out.progress(HOSTILE[3]!);
    onlyOwnControls(stdout.text);
    onlyOwnControls(stderr.text.replace(/\r\u001b\[2K/g, '')); // progress clears its line: postload's own
    assert.ok(stdout.text.includes('\u001b[31mx\u001b[0m'), 'its own colour kept');
    assert.ok(stdout.text.includes('\\x1b]52;c;ZXZpbA==\\x07'), 'the OSC 52 sequence shown, inert');
  });

  it('terminalSafe keeps dates and numbers, and makes every string of a view visible', () => {
    const date = new Date('2026-11-29T10:00:00Z');
    assert.deepEqual(terminalSafe({ at: date, n: 3, list: ['\u001b[2J', { deep: '\u0007' }], none: null }), { at: date, n: 3, list: ['\\x1b[2J', { deep: '\\x07' }], none: null });
  });
});
