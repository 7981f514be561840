import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { debugWanted, formatFunctionLine, painter } from '../../../functions/local/console-output.js';
import { TransientError } from '../../../functions/processor/errors.js';
import { createLogger } from '../../../functions/shared/logger.js';

// The local console (npm start, the demo) shows a processor retry as one line; the stack
// trace the Functions Framework prints for the thrown error shows only at debug level.

/** What the processor process prints when a delivery is left for Pub/Sub to redeliver: its log line, then the framework's stack. */
function retryOutput(): string[] {
  const lines: string[] = [];
  const log = createLogger(new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString().trimEnd()), done()) }));
  const error = new TransientError('event 6e84f591dfdad48136bab0ac6e4c52b8 is not done yet: slack (held by another delivery)', { system: 'postload' });
  log.child({ eventId: '6e84f591dfdad48136bab0ac6e4c52b8' }).warn({ err: error.message }, 'transient failure; throwing so that Pub/Sub redelivers');
  // The framework: console.error(err.stack), a line per frame once split.
  return [...lines, ...error.stack!.split('\n')];
}

describe('local console output', () => {
  const paint = painter(false);

  it('a retry is one line naming the event and the reason; the thrown stack is left out', () => {
    const raw = retryOutput();
    assert.ok(raw.length > 3, 'a stack with frames');
    const shown = raw.map((line) => formatFunctionLine('processSyncEvent', line, paint)).filter((line) => line !== undefined);
    assert.deepEqual(shown, ['processor ↻ not done yet, Pub/Sub will redeliver: event 6e84f591 event 6e84f591dfdad48136bab0ac6e4c52b8 is not done yet: slack (held by another delivery)']);
  });

  it('at debug level the stack is shown too', () => {
    const raw = retryOutput();
    const shown = raw.map((line) => formatFunctionLine('processSyncEvent', line, paint, { debug: true })).filter((line) => line !== undefined);
    assert.equal(shown.length, raw.length);
    assert.ok(shown.some((line) => /^processor\s+\s+at /.test(line)));
  });

  it('a crash that is not a retry keeps its first line, without frames below debug', () => {
    const stack = new RangeError('Maximum call stack size exceeded').stack!.split('\n');
    const shown = stack.map((line) => formatFunctionLine('ingestWebhook', line, paint)).filter((line) => line !== undefined);
    assert.deepEqual(shown, ['ingest    RangeError: Maximum call stack size exceeded']);
  });

  it('debug level is LOG_LEVEL debug or trace', () => {
    assert.equal(debugWanted({ LOG_LEVEL: 'debug' }), true);
    assert.equal(debugWanted({ LOG_LEVEL: 'TRACE' }), true);
    assert.equal(debugWanted({ LOG_LEVEL: 'info' }), false);
    assert.equal(debugWanted({}), false);
  });
});
