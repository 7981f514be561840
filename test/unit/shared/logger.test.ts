import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, traceFields } from '../../../functions/shared/logger.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('logger', () => {
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
    log.warn({ token: 'abc', headers: { authorization: 'Bearer abc' }, eventId: 'e1' }, 'refused');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.severity, 'WARNING');
    assert.equal(lines[0]!.message, 'refused');
    assert.equal(lines[0]!.eventId, 'e1');
    assert.doesNotMatch(JSON.stringify(lines[0]), /abc/);
  });
});
