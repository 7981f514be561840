import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createLogger, LOG_LEVELS, logLevel, traceFields } from '../../../functions/shared/logger.js';
import { ConfigError } from '../../../functions/shared/settings.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('logger', () => {
  describe('LOG_LEVEL', () => {
    it('takes exactly the levels pino takes (its levels and silent), info by default', () => {
      const pinoTakes = (level: string) => {
        try {
          pino({ level });
          return true;
        } catch {
          return false;
        }
      };
      for (const level of LOG_LEVELS) {
        assert.ok(pinoTakes(level), `pino takes ${level}`);
        assert.equal(logLevel({ LOG_LEVEL: ` ${level} ` }), level);
      }
      assert.deepEqual(Object.keys(pino.levels.values).filter((level) => !(LOG_LEVELS as readonly string[]).includes(level)), [], 'every pino level is listed');
      assert.equal(logLevel({}), 'info');
      assert.equal(logLevel({ LOG_LEVEL: '  ' }), 'info');
    });

    for (const bad of ['verbose', 'INFO', 'warning', '10']) {
      it(`refuses ${bad}, naming the setting and the levels it takes`, () => {
        assert.throws(() => logLevel({ LOG_LEVEL: bad }), (error: unknown) => error instanceof ConfigError && error.variable === 'LOG_LEVEL' && /trace, debug, info, warn, error, fatal, silent/.test(error.message));
      });
    }
  });

  describe('traceFields', () => {
    const cases: Array<{ name: string; headers: Record<string, string>; project?: string; expected: Record<string, string> }> = [
      {
        name: 'W3C traceparent',
        headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
        project: 'p1',
        expected: { 'logging.googleapis.com/trace': `projects/p1/traces/${TRACE}`, 'logging.googleapis.com/spanId': '00f067aa0ba902b7' },
      },
      {
        name: "Google's X-Cloud-Trace-Context",
        headers: { 'x-cloud-trace-context': `${TRACE}/1;o=1` },
        project: 'p1',
        expected: { 'logging.googleapis.com/trace': `projects/p1/traces/${TRACE}`, 'logging.googleapis.com/spanId': '1' },
      },
      { name: 'no trace header', headers: {}, project: 'p1', expected: {} },
      { name: 'malformed traceparent', headers: { traceparent: 'garbage' }, project: 'p1', expected: {} },
      { name: 'no project to qualify the trace with', headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` }, expected: {} },
    ];
    for (const { name, headers, project, expected } of cases) {
      it(name, () => assert.deepEqual(traceFields(headers, project), expected));
    }
  });

  it('writes Cloud Logging JSON (severity, message) and redacts credential fields', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger(new Writable({ write(chunk: Buffer, _e, done) { lines.push(JSON.parse(chunk.toString())); done(); } }));
    log.warn({ token: 'abc', headers: { authorization: 'Bearer abc' }, config: { secret: 'abc' }, eventId: 'e1' }, 'refused');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.severity, 'WARNING');
    assert.equal(lines[0]!.message, 'refused');
    assert.equal(lines[0]!.eventId, 'e1');
    assert.doesNotMatch(JSON.stringify(lines[0]), /abc/);
  });

  it('loses no line to its asynchronous stdout writes when the process exits at once, through a slow reader', async () => {
    // The shared logger writes without blocking; pino flushes the rest on exit. A child
    // logs LINES lines and exits in the same tick while this process reads its pipe slowly.
    const LINES = 5000;
    const logger = fileURLToPath(new URL('../../../dist/shared/logger.js', import.meta.url));
    const script = `const { logger } = await import(${JSON.stringify(logger)}); for (let i = 0; i < ${LINES}; i++) logger.info({ i, pad: 'x'.repeat(200) }, 'line'); process.exit(0);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info' } });
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the pipe fill while the child is writing
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as { i: number });
    assert.deepEqual(lines.map((line) => line.i), Array.from({ length: LINES }, (_, i) => i));
  });
});
