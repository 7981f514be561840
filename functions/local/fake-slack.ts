import { mulberry32 } from './fake-dbt-cloud.js';
import { RecordingServer, type Reply } from './recording-server.js';

/**
 * A stand-in for a Slack incoming webhook: records each message and answers 200 `ok`, as
 * Slack does (api.slack.com/messaging/webhooks). Script its documented errors with
 * `script()`, e.g. `{ status: 410, body: 'channel_is_archived' }` or
 * `{ status: 429, headers: { 'retry-after': '1' } }`; for chaos tests, `chaos` answers a
 * seeded share of messages with one of `faults` (a message answered so is not delivered).
 */
export function fakeSlack(options: { chaos?: { seed: number; rate: number; faults: Reply[] } } = {}): RecordingServer {
  const random = mulberry32(options.chaos?.seed ?? 1);
  return new RecordingServer('Slack', (request) => {
    if (request.method !== 'POST') return { status: 405, body: 'invalid_method' };
    const chaos = options.chaos;
    if (chaos && random() < chaos.rate) return chaos.faults[Math.floor(random() * chaos.faults.length)]!;
    return { status: 200, body: 'ok' };
  });
}

/** The messages Slack accepted (answered 200 ok). */
export function deliveredMessages(server: RecordingServer): Array<{ text: string; blocks: unknown[] }> {
  return server.requests.flatMap((request, i) => (server.replies[i] && typeof server.replies[i] === 'object' && server.replies[i].status === 200 ? [request.json as { text: string; blocks: unknown[] }] : []));
}
