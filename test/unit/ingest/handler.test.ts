import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import sinon from 'sinon';
import { loadIngestConfig, type IngestConfig } from '../../../functions/ingest/config.js';
import { signFivetranPayload } from '../../../functions/ingest/fivetran/signature.js';
import { createIngestHandler } from '../../../functions/ingest/handler.js';
import { PublishError, type OutboundMessage, type SyncEventPublisher } from '../../../functions/ingest/publisher.js';
import { createLogger } from '../../../functions/shared/logger.js';
import { installBodyParsing, readBodiesWith } from '../../../functions/shared/body-parsing.js';
import { createBodyReader } from '../../../functions/ingest/read-request.js';
import { Secret, type SecretManagerLike } from '../../../functions/shared/secrets.js';
import { messageBytes, type SyncEvent } from '../../../functions/shared/sync-event.js';
import { verifySyncEventSignature } from '../../../functions/shared/sync-event-signature.js';
import { fixtureText } from '../../support/webhook-fixtures.js';
import { TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

const FIVETRAN_SECRET = 'fivetran-secret-value-0123456789';
const AIRBYTE_TOKEN = 'airbyte-token-value-abcdef';
const MAX_BODY = 4096;

let serial = 0;

/** The ingest handler served over real HTTP by the Functions Framework, with a stub publisher. */
async function serve(overrides: Partial<IngestConfig> = {}, publish?: sinon.SinonStub) {
  const logs: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const publisher = { publish: publish ?? sinon.stub().resolves('message-1') } satisfies SyncEventPublisher;
  const config: IngestConfig = {
    projectId: 'postload-test',
    topic: 'sync-events',
    maxBodyBytes: MAX_BODY,
    publishTimeoutMs: 1000,
    fivetranSecret: new Secret('FIVETRAN_WEBHOOK_SECRET', FIVETRAN_SECRET),
    airbyteToken: new Secret('AIRBYTE_WEBHOOK_TOKEN', AIRBYTE_TOKEN),
    dbtCloudSecret: new Secret('DBT_CLOUD_WEBHOOK_SECRET', undefined),
    signingKey: new Secret('SYNC_EVENT_SIGNING_KEY', TEST_SIGNING_KEY),
    sourceRanges: {},
    trustedProxyHops: 0,
    staleAfterMs: 48 * 3_600_000,
    slack: loadIngestConfig({}).slack,
    ...overrides,
  };
  const name = `ingestUnderTest${serial++}`;
  // Wired as functions/ingest/index.ts does: the accepted-webhook line unredacted, the rest redacted.
  functions.http(name, createIngestHandler({ config, publisher, logger: createLogger(sink), acceptedLogger: createLogger(sink, { redact: false }) }));
  installBodyParsing();
  readBodiesWith(createBodyReader(config));
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, publisher, logs, raw, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

type Served = Awaited<ReturnType<typeof serve>>;

const fivetranBody = fixtureText('fivetran', 'sync_end-successful');
const airbyteBody = fixtureText('airbyte', 'sync-failed');
const json = { 'content-type': 'application/json' };
const signed = (body: string, secret = FIVETRAN_SECRET) => ({ ...json, 'x-fivetran-signature-256': signFivetranPayload(body, secret) });

interface Case {
  name: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  status: number;
  error?: string;
  /** For a 202 of a quarantined body: the problem codes expected, in order. */
  quarantined?: string[];
  /** Checks on the JSON body beyond the error code. */
  check?: (body: Record<string, unknown>, response: Response) => void;
}

const cases: Case[] = [
  { name: 'signed Fivetran sync_end', path: '/fivetran', headers: signed(fivetranBody), body: fivetranBody, status: 202 },
  { name: 'signed with upper-case hex', path: '/fivetran', headers: { ...json, 'x-fivetran-signature-256': signFivetranPayload(fivetranBody, FIVETRAN_SECRET).toUpperCase() }, body: fivetranBody, status: 202 },
  { name: 'Fivetran test_event (no sync_id, group_id)', path: '/fivetran', headers: signed(fixtureText('fivetran', 'test_event')), body: fixtureText('fivetran', 'test_event'), status: 202 },
  { name: 'trailing slash on the path', path: '/fivetran/', headers: signed(fivetranBody), body: fivetranBody, status: 202 },
  { name: 'content type with charset', path: '/fivetran', headers: { ...signed(fivetranBody), 'content-type': 'application/json; charset=utf-8' }, body: fivetranBody, status: 202 },
  { name: 'Airbyte with ?token=', path: `/airbyte?token=${AIRBYTE_TOKEN}`, headers: json, body: airbyteBody, status: 202 },
  { name: 'Airbyte with Authorization: Bearer', path: '/airbyte', headers: { ...json, authorization: `Bearer ${AIRBYTE_TOKEN}` }, body: airbyteBody, status: 202 },
  { name: 'Airbyte text-only test message', path: `/airbyte?token=${AIRBYTE_TOKEN}`, headers: json, body: fixtureText('airbyte', 'test-text-only'), status: 202 },

  { name: 'missing signature', path: '/fivetran', headers: json, body: fivetranBody, status: 401, error: 'missing_credentials', check: (b) => assert.match(String(b.message), /X-Fivetran-Signature-256/) },
  { name: 'malformed signature', path: '/fivetran', headers: { ...json, 'x-fivetran-signature-256': 'deadbeef' }, body: fivetranBody, status: 401, error: 'malformed_credentials' },
  { name: 'signature with the wrong secret', path: '/fivetran', headers: signed(fivetranBody, 'wrong'), body: fivetranBody, status: 401, error: 'unauthorized' },
  { name: 'tampered body', path: '/fivetran', headers: signed(fivetranBody), body: fivetranBody.replace('SUCCESSFUL', 'FAILURE'), status: 401, error: 'unauthorized' },
  { name: 'Airbyte without a token', path: '/airbyte', headers: json, body: airbyteBody, status: 401, error: 'missing_credentials', check: (b) => assert.match(String(b.message), /token/) },
  { name: 'Airbyte with a wrong token', path: '/airbyte?token=guess', headers: json, body: airbyteBody, status: 401, error: 'unauthorized' },

  { name: 'unparseable JSON (signed, so it gets past authentication): quarantined', path: '/fivetran', headers: signed('{"event":'), body: '{"event":', status: 202, quarantined: ['invalid_json'] },
  { name: 'unparseable JSON from Airbyte: quarantined', path: `/airbyte?token=${AIRBYTE_TOKEN}`, headers: json, body: '{"text": nope}', status: 202, quarantined: ['invalid_json'] },
  {
    name: 'Fivetran field with the wrong type: quarantined, naming the field',
    path: '/fivetran',
    headers: signed('{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_id":"c","data":{"status":1}}'),
    body: '{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_id":"c","data":{"status":1}}',
    status: 202,
    quarantined: ['schema_violation'],
    check: (b) => assert.deepEqual(b.problems, [{ code: 'schema_violation', message: '/data/status must be string', pointer: '/data/status' }]),
  },
  {
    name: 'Airbyte jobId that is not an integer: quarantined',
    path: `/airbyte?token=${AIRBYTE_TOKEN}`,
    headers: json,
    body: JSON.stringify({ text: 'x', data: { connection: { id: 'c' }, jobId: 'twelve' } }),
    status: 202,
    quarantined: ['schema_violation'],
  },
  {
    name: 'nested deeper than postload structures: quarantined before anything recurses',
    path: `/airbyte?token=${AIRBYTE_TOKEN}`,
    headers: json,
    body: '['.repeat(1000) + ']'.repeat(1000),
    status: 202,
    quarantined: ['too_deep'],
  },
  {
    name: 'many violations: at most ten problems',
    path: `/airbyte?token=${AIRBYTE_TOKEN}`,
    headers: json,
    body: JSON.stringify({ text: 1, blocks: 2, data: { connection: { id: 3 }, jobId: 'x', success: 'y', bytesEmitted: -1, recordsEmitted: 'z', startedAt: 5, finishedAt: 6, errorMessage: 7, errorType: 8, errorOrigin: 9 } }),
    status: 202,
    check: (b) => assert.equal((b.problems as unknown[]).length, 10),
  },
  { name: 'unparseable JSON without a signature is still 401', path: '/fivetran', headers: json, body: '{"event":', status: 401, error: 'missing_credentials' },
  { name: 'two tokens, one of them right', path: `/airbyte?token=guess&token=${AIRBYTE_TOKEN}`, headers: json, body: airbyteBody, status: 401, error: 'malformed_credentials' },
  { name: 'query token and bearer together', path: `/airbyte?token=${AIRBYTE_TOKEN}`, headers: { ...json, authorization: `Bearer ${AIRBYTE_TOKEN}` }, body: airbyteBody, status: 401, error: 'malformed_credentials' },
  { name: 'unknown path', path: '/stitch', headers: json, body: '{}', status: 404, error: 'unknown_path' },
  { name: 'root path', path: '/', headers: json, body: '{}', status: 404, error: 'unknown_path' },
  { name: 'GET on a webhook path', path: '/fivetran', method: 'GET', status: 405, error: 'method_not_allowed', check: (_b, r) => assert.equal(r.headers.get('allow'), 'POST') },
  { name: 'body over the limit', path: '/fivetran', headers: json, body: JSON.stringify({ pad: 'x'.repeat(MAX_BODY) }), status: 413, error: 'payload_too_large' },
  { name: 'text/plain body', path: '/fivetran', headers: { 'content-type': 'text/plain' }, body: fivetranBody, status: 415, error: 'unsupported_media_type' },
  { name: 'form body', path: `/airbyte?token=${AIRBYTE_TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'text=hi', status: 415, error: 'unsupported_media_type' },
  { name: 'no content type', path: '/fivetran', headers: {}, body: fivetranBody, status: 415, error: 'unsupported_media_type' },
  { name: 'gzip body', path: '/fivetran', headers: { ...signed(fivetranBody), 'content-encoding': 'gzip' }, body: fivetranBody, status: 415, error: 'unsupported_encoding' },
  { name: 'Content-Encoding: compress', path: '/fivetran', headers: { ...signed(fivetranBody), 'content-encoding': 'compress' }, body: fivetranBody, status: 415, error: 'unsupported_encoding' },
  { name: 'charset=latin1', path: '/fivetran', headers: { ...signed(fivetranBody), 'content-type': 'application/json; charset=latin1' }, body: fivetranBody, status: 415, error: 'unsupported_charset' },
  {
    name: 'a path of 16,000 slashes is answered with a bounded echo',
    path: `/x${'/'.repeat(16_000)}y`,
    headers: json,
    body: '{}',
    status: 404,
    error: 'unknown_path',
    check: (b) => assert.ok(String(b.message).length < 200, String(b.message).length.toString()),
  },
];

describe('ingestWebhook over HTTP (stub publisher)', () => {
  let served: Served;
  before(async () => {
    served = await serve();
  });
  after(() => served.close());
  beforeEach(() => {
    (served.publisher.publish as sinon.SinonStub).resetHistory();
    served.logs.length = 0;
  });

  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const response = await fetch(served.base + c.path, { method: c.method ?? 'POST', headers: c.headers ?? {}, ...(c.body === undefined ? {} : { body: c.body }) });
      assert.equal(response.status, c.status);
      // Every answer, refusals included, is JSON with its exact length declared.
      assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
      const text = await response.text();
      assert.equal(Number(response.headers.get('content-length')), Buffer.byteLength(text));
      const body = JSON.parse(text) as Record<string, unknown>;
      const publish = served.publisher.publish as sinon.SinonStub;
      if (c.status === 202) {
        sinon.assert.calledOnce(publish);
        const { event } = publish.firstCall.args[0] as OutboundMessage;
        if (event.type === 'quarantined') {
          assert.deepEqual(body, { id: event.id, type: 'quarantined', quarantined: true, message: body.message, problems: event.quarantine!.problems });
          if (c.quarantined) assert.deepEqual(event.quarantine!.problems.map((p) => p.code), c.quarantined);
          assert.equal(served.logs.at(-1)?.severity, 'WARNING');
        } else {
          assert.equal(c.quarantined, undefined, 'expected a quarantined event');
          assert.deepEqual(body, { id: event.id, type: event.type });
          assert.equal(served.logs.at(-1)?.severity, 'INFO');
        }
      } else {
        sinon.assert.notCalled(publish);
        assert.equal(body.error, c.error);
        assert.equal(typeof body.message, 'string');
        const line = served.logs.find((l) => l.error === c.error);
        assert.ok(line, `a log line names ${c.error}: ${JSON.stringify(served.logs)}`);
        assert.equal(line.severity, 'WARNING');
        assert.equal(line.status, c.status);
      }
      c.check?.(body, response);
      // The refusal never echoes a credential, and neither does the log.
      const everything = JSON.stringify(body) + served.raw.join('');
      assert.doesNotMatch(everything, new RegExp(`${FIVETRAN_SECRET}|${AIRBYTE_TOKEN}`));
    });
  }
});

describe('ingestWebhook log lines', () => {
  it('carry the event id, source, type, connector and the trace of the request', async () => {
    // The fixture's event happened long ago: no stale age here, so the line has only the usual fields.
    const served = await serve({ staleAfterMs: Number.POSITIVE_INFINITY });
    try {
      const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const response = await fetch(`${served.base}/fivetran`, { method: 'POST', headers: { ...signed(fivetranBody), traceparent: `00-${trace}-00f067aa0ba902b7-01` }, body: fivetranBody });
      const { id } = (await response.json()) as { id: string };
      const line = served.logs.find((l) => l.message === 'webhook published');
      assert.ok(line);
      assert.equal(line.eventId, id);
      assert.equal(line.source, 'fivetran');
      assert.equal(line.type, 'sync.succeeded');
      assert.equal(line.connectorId, 'assimilate_seem');
      assert.equal(line['logging.googleapis.com/trace'], `projects/postload-test/traces/${trace}`);
      // This line skips redaction (shared/logger.ts fixedFieldsLogger), which is safe only while
      // it carries nothing but these fields, computed by the handler.
      assert.deepEqual(Object.keys(line).sort(), [
        'connectorId', 'eventId', 'latencyMs', 'logging.googleapis.com/spanId', 'logging.googleapis.com/trace',
        'message', 'messageId', 'path', 'severity', 'source', 'status', 'time', 'type',
      ]);
    } finally {
      await served.close();
    }
  });
});

describe('ingestWebhook when it cannot store or authenticate (503, never 2xx)', () => {
  it('answers 503 with Retry-After when publishing fails, and logs the event id', async () => {
    const served = await serve({}, sinon.stub().rejects(new PublishError('Pub/Sub did not confirm within 1000 ms')));
    try {
      const response = await fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(fivetranBody), body: fivetranBody });
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '10');
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(body.error, 'publish_failed');
      const line = served.logs.find((l) => l.severity === 'ERROR');
      assert.equal(line?.eventId, body.id);
    } finally {
      await served.close();
    }
  });

  it('answers 500 (the sender retries) on an unexpected error, without leaking it', async () => {
    const served = await serve({}, sinon.stub().rejects(new TypeError('boom at /srv/secret/path')));
    try {
      const response = await fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(fivetranBody), body: fivetranBody });
      assert.equal(response.status, 500);
      assert.doesNotMatch(await response.text(), /boom|\/srv/);
    } finally {
      await served.close();
    }
  });

  for (const [source, setting] of [['fivetran', 'FIVETRAN_WEBHOOK_SECRET'], ['airbyte', 'AIRBYTE_WEBHOOK_TOKEN']] as const) {
    it(`fails closed with 503 when ${setting} is not set, telling the operator (in the log) what to set`, async () => {
      const served = await serve({ fivetranSecret: new Secret('FIVETRAN_WEBHOOK_SECRET', undefined), airbyteToken: new Secret('AIRBYTE_WEBHOOK_TOKEN', '') });
      try {
        const headers = source === 'fivetran' ? signed(fivetranBody, '') : json;
        const response = await fetch(`${served.base}/${source}?token=`, { method: 'POST', headers, body: source === 'fivetran' ? fivetranBody : airbyteBody });
        assert.equal(response.status, 503);
        assert.equal(((await response.json()) as { error: string }).error, 'not_configured');
        sinon.assert.notCalled(served.publisher.publish as sinon.SinonStub);
        const line = served.logs.find((l) => l.severity === 'ERROR');
        assert.match(String(line?.cause), new RegExp(`${setting} is not set`));
      } finally {
        await served.close();
      }
    });
  }

  it('answers 503 when Secret Manager cannot be read', async () => {
    const client = { listSecretVersions: sinon.stub().rejects(new Error('UNAVAILABLE')), accessSecretVersion: sinon.stub() } as unknown as SecretManagerLike;
    const served = await serve({ fivetranSecret: new Secret('FIVETRAN_WEBHOOK_SECRET', 'sm://projects/p/secrets/s', { client: async () => client }) });
    try {
      const response = await fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(fivetranBody), body: fivetranBody });
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { error: string }).error, 'secret_unavailable');
    } finally {
      await served.close();
    }
  });
});

describe('ingestWebhook marks stale events (issue 25, finding 4)', () => {
  const sent = (created: Date) => JSON.stringify({ ...(JSON.parse(fivetranBody) as Record<string, unknown>), created: created.toISOString() });

  it('an event received more than the stale age after it happened is published marked stale (field and attribute) and logged so; a fresh one is not', async () => {
    const served = await serve({ staleAfterMs: 48 * 3_600_000 });
    try {
      const old = sent(new Date(Date.now() - 49 * 3_600_000));
      const fresh = sent(new Date(Date.now() - 47 * 3_600_000));
      for (const body of [old, fresh]) assert.equal((await fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(body), body })).status, 202, 'accepted either way: the sender proved who it is');
      const [stale, recent] = (served.publisher.publish as sinon.SinonStub).getCalls().map((call) => call.args[0] as OutboundMessage);
      assert.equal(stale!.event.stale, true);
      assert.equal(stale!.attributes.stale, 'true');
      assert.equal(recent!.event.stale, undefined);
      assert.equal(recent!.attributes.stale, '');
      // The signature covers the mark: nobody can unmark it without the key.
      assert.deepEqual(await verifySyncEventSignature(stale!.data, stale!.attributes, new Secret('SYNC_EVENT_SIGNING_KEY', TEST_SIGNING_KEY)), { verdict: 'valid' });
      const lines = served.logs.filter((l) => l.message === 'webhook published');
      assert.deepEqual(lines.map((l) => l.stale), [true, undefined]);
    } finally {
      await served.close();
    }
  });
});

describe('ingestWebhook signs every SyncEvent it publishes (issue 25, finding 3)', () => {
  it('publishes the event with a postloadSignature attribute that verifies against the data with the signing key', async () => {
    const served = await serve();
    try {
      for (const [path, headers, body] of [['/fivetran', signed(fivetranBody), fivetranBody], [`/airbyte?token=${AIRBYTE_TOKEN}`, json, airbyteBody], ['/fivetran', signed('{"event":'), '{"event":']] as const) {
        assert.equal((await fetch(`${served.base}${path}`, { method: 'POST', headers, body })).status, 202, path);
      }
      const published = (served.publisher.publish as sinon.SinonStub).getCalls().map((call) => call.args[0] as OutboundMessage);
      assert.equal(published.length, 3);
      for (const message of published) {
        assert.deepEqual(await verifySyncEventSignature(message.data, message.attributes, new Secret('SYNC_EVENT_SIGNING_KEY', TEST_SIGNING_KEY)), { verdict: 'valid' }, message.event.type);
        assert.equal(message.bytes, messageBytes(message.data, message.attributes), 'the size Pub/Sub counts includes the signature');
      }
    } finally {
      await served.close();
    }
  });

  it('publishes nothing unsigned: no signing key is a 503 (the sender retries) naming SYNC_EVENT_SIGNING_KEY in the log', async () => {
    const served = await serve({ signingKey: new Secret('SYNC_EVENT_SIGNING_KEY', undefined) });
    try {
      const response = await fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(fivetranBody), body: fivetranBody });
      assert.equal(response.status, 503);
      const answer = (await response.json()) as { error: string; message: string };
      assert.equal(answer.error, 'not_configured');
      assert.doesNotMatch(answer.message, /SYNC_EVENT_SIGNING_KEY/, 'the setting is for the operator, in the log');
      sinon.assert.notCalled(served.publisher.publish as sinon.SinonStub);
      assert.match(String(served.logs.find((l) => l.severity === 'ERROR')?.cause), /SYNC_EVENT_SIGNING_KEY is not set/);
    } finally {
      await served.close();
    }
  });

  it('reads the signing key only for an authenticated request: a forged one is 401 and costs no Secret Manager call', async () => {
    const client = { listSecretVersions: sinon.stub().rejects(new Error('UNAVAILABLE')), accessSecretVersion: sinon.stub() } as unknown as SecretManagerLike;
    const served = await serve({ signingKey: new Secret('SYNC_EVENT_SIGNING_KEY', 'sm://projects/p/secrets/k', { client: async () => client, attempts: 1 }) });
    try {
      assert.equal((await fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(fivetranBody, 'wrong'), body: fivetranBody })).status, 401);
      sinon.assert.notCalled(client.listSecretVersions as sinon.SinonStub);
      const response = await fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(fivetranBody), body: fivetranBody });
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { error: string }).error, 'secret_unavailable');
      sinon.assert.notCalled(served.publisher.publish as sinon.SinonStub);
    } finally {
      await served.close();
    }
  });
});

describe('ingestWebhook during a secret rotation', () => {
  it('accepts the old and the new secret while both versions are enabled, with no failed delivery', async () => {
    const versions: Record<string, string> = { 1: 'old-secret' };
    const client = {
      listSecretVersions: sinon.stub().callsFake(async ({ parent }: { parent: string }) => [Object.keys(versions).map((n) => ({ name: `${parent}/versions/${n}` }))]),
      accessSecretVersion: sinon.stub().callsFake(async ({ name }: { name: string }) => [{ payload: { data: Buffer.from(versions[name.split('/').pop()!]!) } }]),
    } as unknown as SecretManagerLike;
    let now = 0;
    const served = await serve({
      fivetranSecret: new Secret('FIVETRAN_WEBHOOK_SECRET', 'sm://projects/p/secrets/s', { client: async () => client, ttlMs: 300_000, minRefreshMs: 30_000, now: () => now }),
    });
    const post = (secret: string) => fetch(`${served.base}/fivetran`, { method: 'POST', headers: signed(fivetranBody, secret), body: fivetranBody }).then((r) => r.status);
    try {
      assert.equal(await post('old-secret'), 202);
      versions[2] = 'new-secret'; // operator adds a version; the cache still holds only v1
      now += 30_000;
      assert.equal(await post('new-secret'), 202, 'a failed check re-reads Secret Manager');
      assert.equal(await post('old-secret'), 202, 'the old version stays valid until disabled');
      delete versions[1]; // operator disables v1: it stays accepted until the cache expires
      assert.equal(await post('old-secret'), 202);
      now += 300_000;
      assert.equal(await post('old-secret'), 401);
      assert.equal(await post('new-secret'), 202);
    } finally {
      await served.close();
    }
  });
});

describe('ingestWebhook: each refusal names the endpoint and the setting it checked', () => {
  let served: Served;
  before(async () => {
    served = await serve({ dbtCloudSecret: new Secret('DBT_CLOUD_WEBHOOK_SECRET', 'dbt-cloud-secret-value-0123456789') });
  });
  after(() => served.close());

  const refusals: Array<[string, string, Record<string, string>, string, RegExp]> = [
    ['a Fivetran webhook sent to /airbyte', '/airbyte', signed(fivetranBody), fivetranBody, /^the \/airbyte endpoint needs the token of AIRBYTE_WEBHOOK_TOKEN: .* \(it carries X-Fivetran-Signature-256: Fivetran webhooks go to \/fivetran\)$/],
    ['an Airbyte webhook sent to /fivetran', `/fivetran?token=${AIRBYTE_TOKEN}`, json, airbyteBody, /^the \/fivetran endpoint needs X-Fivetran-Signature-256, the HMAC-SHA256 of the body with FIVETRAN_WEBHOOK_SECRET: .* \(it carries \?token=, as Airbyte sends: Airbyte webhooks go to \/airbyte\)$/],
    ['a dbt Cloud webhook sent to /airbyte', '/airbyte', { ...json, authorization: 'a'.repeat(64) }, '{}', /\(its Authorization is a bare HMAC, as dbt Cloud signs: dbt Cloud webhooks go to \/dbt-cloud\)$/],
    ['a wrong Airbyte token', '/airbyte?token=guess', json, airbyteBody, /^the \/airbyte endpoint: the token does not match AIRBYTE_WEBHOOK_TOKEN/],
    ['a wrong Fivetran signature', '/fivetran', signed(fivetranBody, 'wrong'), fivetranBody, /^the \/fivetran endpoint: X-Fivetran-Signature-256 does not match the body signed with FIVETRAN_WEBHOOK_SECRET/],
    ['a wrong dbt Cloud signature', '/dbt-cloud', { ...json, authorization: 'a'.repeat(64) }, '{}', /^the \/dbt-cloud endpoint: Authorization does not match the body signed with DBT_CLOUD_WEBHOOK_SECRET/],
  ];
  for (const [what, path, headers, body, message] of refusals) {
    it(`${what}: 401, saying so`, async () => {
      const response = await fetch(`${served.base}${path}`, { method: 'POST', headers, body });
      assert.equal(response.status, 401);
      assert.match(String(((await response.json()) as { message: unknown }).message), message);
    });
  }

  it('an endpoint whose secret is not set: 503, naming the setting', async () => {
    const unset = await serve();
    try {
      const response = await fetch(`${unset.base}/dbt-cloud`, { method: 'POST', headers: { ...json, authorization: 'a'.repeat(64) }, body: '{}' });
      assert.equal(response.status, 503);
      assert.match(String(((await response.json()) as { message: unknown }).message), /^the \/dbt-cloud endpoint cannot authenticate requests yet: DBT_CLOUD_WEBHOOK_SECRET is not set; retry later$/);
    } finally {
      await unset.close();
    }
  });
});
