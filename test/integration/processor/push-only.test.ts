import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { Writable } from 'node:stream';
import { acceptOnlyPushes } from '../../../functions/processor/push-only.js';
import { installBodyParsing, readBodiesWith } from '../../../functions/shared/body-parsing.js';
import { createLogger } from '../../../functions/shared/logger.js';

// The processor's front door through the real Functions Framework: a Pub/Sub push (or a
// CloudEvent) reaches the function; anything else gets a 400 that says where webhooks go,
// and the function never sees it (before, `{}` was recorded and alerted as an invalid SyncEvent).

describe('processor front door: Pub/Sub pushes only', () => {
  let server: Server;
  let url: string;
  const received: Array<CloudEvent<unknown>> = [];
  const logs: Array<Record<string, unknown>> = [];

  before(async () => {
    const name = `pushOnly${Math.random().toString(36).slice(2)}`;
    functions.cloudEvent(name, (event: CloudEvent<unknown>) => {
      received.push(event);
    });
    // As functions/index.ts wires the processor's process: the framework's parsers (an ingest test may have left its reader registered).
    installBodyParsing();
    readBodiesWith(undefined);
    acceptOnlyPushes(createLogger(new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) })));
    server = getTestServer(name);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
    logs.length = 0;
  });

  const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(`${url}${path}`, { method: 'POST', headers, body });

  for (const [what, body, headers] of [
    ['an empty JSON object', '{}', undefined],
    ['a Fivetran webhook sent to the wrong URL', JSON.stringify({ event: 'sync_end', connector_id: 'c', data: { status: 'SUCCESSFUL' } }), undefined],
    ['a message without its subscription', JSON.stringify({ message: { data: 'e30=', messageId: '1' } }), undefined],
    ['plain text', 'hello', { 'content-type': 'text/plain' }],
    ['a JSON array', '[]', undefined],
  ] as const) {
    it(`refuses ${what} with 400, naming where webhooks go; the function never runs`, async () => {
      const response = await post('/', body, headers);
      assert.equal(response.status, 400);
      const answer = (await response.json()) as { error: string; message: string };
      assert.equal(answer.error, 'not_a_pubsub_push');
      assert.match(answer.message, /Pub\/Sub push/);
      assert.match(answer.message, /\/fivetran, \/airbyte or \/dbt-cloud/);
      assert.equal(received.length, 0);
      assert.deepEqual(logs.map((l) => [l.severity, l.message, l.status]), [['WARNING', 'request refused: not a Pub/Sub push', 400]]);
    });
  }

  it('passes a Pub/Sub push on to the function as the CloudEvent the framework makes of it', async () => {
    const data = Buffer.from('{"id":"e1"}').toString('base64');
    const response = await post('/projects/p/topics/t', JSON.stringify({ message: { data, messageId: 'm-1', attributes: { eventId: 'e1' } }, subscription: 'projects/p/subscriptions/s' }));
    assert.ok(response.ok, `status ${response.status}`);
    assert.equal(received.length, 1);
    assert.equal((received[0]!.data as { message: { data: string } }).message.data, data);
  });

  it('passes a binary CloudEvent on (an Eventarc delivery)', async () => {
    const response = await post('/', JSON.stringify({ message: { data: 'e30=', messageId: 'm-2' }, subscription: 's' }), {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/p/topics/t',
      'ce-id': 'm-2',
    });
    assert.ok(response.ok, `status ${response.status}`);
    assert.equal(received.length, 1);
  });
});
