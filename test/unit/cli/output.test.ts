import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Output } from '../../../functions/cli/output.js';

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
