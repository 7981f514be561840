import { RecordingServer } from './recording-server.js';

/**
 * A stand-in for a Slack incoming webhook: records each message and answers 200 `ok`, as
 * Slack does. Script its documented errors with `script()`, e.g.
 * `{ status: 410, body: 'channel_is_archived' }` or `{ status: 429, headers: { 'retry-after': '1' } }`.
 */
export function fakeSlack(): RecordingServer {
  return new RecordingServer('Slack', (request) =>
    request.method === 'POST' ? { status: 200, body: 'ok' } : { status: 405, body: 'invalid_method' },
  );
}
