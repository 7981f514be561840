import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import sinon from 'sinon';
import { loadIngestConfig, type IngestConfig } from '../../../functions/ingest/config.js';
import { signFivetranPayload } from '../../../functions/ingest/fivetran/signature.js';
import { createIngestHandler } from '../../../functions/ingest/handler.js';
import { createBodyReader } from '../../../functions/ingest/read-request.js';
import { SourceRanges } from '../../../functions/ingest/source-ranges.js';
import { installBodyParsing, readBodiesWith } from '../../../functions/shared/body-parsing.js';
import { createLogger, logger } from '../../../functions/shared/logger.js';
import { Secret } from '../../../functions/shared/secrets.js';
import { postStreamed } from '../../support/raw-post.js';
import { TEST_SIGNING_KEY } from '../../support/sync-event-fixtures.js';

const SECRET = 'front-door-secret-0123456789abcdef';
const MAX_BODY = 64 * 1024;
const MiB = 1024 * 1024;

/** The ingest function in this process, through the real Functions Framework, so its memory is ours to measure. */
async function serve(overrides: Partial<IngestConfig> = {}) {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const publish = sinon.stub().resolves('message-1');
  const config: IngestConfig = {
    projectId: 'postload-test',
    topic: 'sync-events',
    maxBodyBytes: MAX_BODY,
    publishTimeoutMs: 1000,
    fivetranSecret: new Secret('FIVETRAN_WEBHOOK_SECRET', SECRET),
    airbyteToken: new Secret('AIRBYTE_WEBHOOK_TOKEN', 'front-door-token-0123456789abcdef'),
    dbtCloudSecret: new Secret('DBT_CLOUD_WEBHOOK_SECRET', 'front-door-dbt-cloud-secret-0123456789'),
    signingKey: new Secret('SYNC_EVENT_SIGNING_KEY', TEST_SIGNING_KEY),
    sourceRanges: {},
    trustedProxyHops: 0,
    staleAfterMs: 48 * 3_600_000,
    slack: loadIngestConfig({}).slack,
    ...overrides,
  };
  const name = `frontDoor${Math.random().toString(36).slice(2)}`;
  functions.http(name, createIngestHandler({ config, publisher: { publish }, logger: createLogger(sink) }));
  installBodyParsing();
  readBodiesWith(createBodyReader(config));
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, publish, logs, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** gzip of `inflatedBytes` zeros, built as a stream: the test never holds the inflated body. */
async function gzipBomb(inflatedBytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (part: Buffer) => parts.push(part));
  const zeros = Buffer.alloc(MiB);
  for (let written = 0; written < inflatedBytes; written += zeros.length) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  await new Promise((resolve) => gzip.end(resolve));
  return Buffer.concat(parts);
}

/** The most this process's buffers grew over `work`, sampled while it runs. */
async function peakBufferGrowth(work: () => Promise<unknown>): Promise<number> {
  const baseline = process.memoryUsage();
  let peak = 0;
  const sample = setInterval(() => {
    const now = process.memoryUsage();
    peak = Math.max(peak, now.arrayBuffers - baseline.arrayBuffers, now.heapUsed - baseline.heapUsed);
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(sample);
  }
  const after = process.memoryUsage();
  return Math.max(peak, after.arrayBuffers - baseline.arrayBuffers, after.heapUsed - baseline.heapUsed);
}

const signedJson = (body: string | Buffer) => ({ 'content-type': 'application/json', 'x-fivetran-signature-256': signFivetranPayload(body, SECRET) });

describe('the front door over real HTTP (Functions Framework in this process)', function () {
  this.timeout(60_000);
  let served: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    served = await serve();
  });
  after(() => served.close());

  it('refuses a gzip bomb with 415 JSON, never inflating it', async () => {
    const bomb = await gzipBomb(200 * MiB);
    const growth = await peakBufferGrowth(async () => {
      const answer = await postStreamed(`${served.url}/fivetran`, { ...signedJson(bomb), 'content-encoding': 'gzip' }, bomb, bomb.length);
      assert.equal(answer.status, 415);
      assert.equal(JSON.parse(answer.body).error, 'unsupported_encoding');
    });
    assert.ok(growth < 32 * MiB, `buffers grew ${(growth / MiB).toFixed(1)} MiB for a ${(bomb.length / 1024).toFixed(0)} KiB bomb`);
    sinon.assert.notCalled(served.publish);
  });

  for (const declareLength of [true, false]) {
    it(`refuses a body over the limit ${declareLength ? 'with' : 'without'} Content-Length: 413 JSON naming the limit, body not buffered`, async () => {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const growth = await peakBufferGrowth(async () => {
        const answer = await postStreamed(`${served.url}/fivetran`, signedJson('x'), chunk, 64 * MiB, { declareLength });
        assert.equal(answer.status, 413);
        assert.match(answer.headers['content-type'] as string, /application\/json/);
        const body = JSON.parse(answer.body) as { error: string; limitBytes: number };
        assert.deepEqual([body.error, body.limitBytes], ['payload_too_large', MAX_BODY]);
      });
      assert.ok(growth < 32 * MiB, `buffers grew ${(growth / MiB).toFixed(1)} MiB for a 64 MiB body`);
      assert.ok(served.logs.some((l) => l.error === 'payload_too_large' && l.status === 413), 'a log line for the refusal');
    });
  }

  it('keeps memory bounded under many concurrent large bodies (20 × 16 MiB, streamed)', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x5b); // '[' — the shape of the [{},{},…] body that used to be parsed whole
    const growth = await peakBufferGrowth(async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => postStreamed(`${served.url}/fivetran`, signedJson('x'), chunk, 16 * MiB, { declareLength: i % 2 === 0 })),
      );
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([413]));
    });
    assert.ok(growth < 48 * MiB, `buffers grew ${(growth / MiB).toFixed(1)} MiB for 320 MiB sent`);
    sinon.assert.notCalled(served.publish);
  });

  it('answers a bad gzip stream, deflate, and an unknown encoding as JSON, never HTML', async () => {
    for (const encoding of ['gzip', 'deflate', 'br', 'compress', 'x-unknown']) {
      const response = await fetch(`${served.url}/fivetran`, { method: 'POST', headers: { ...signedJson('not gzip'), 'content-encoding': encoding }, body: 'not gzip' });
      assert.equal(response.status, 415, encoding);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(((await response.json()) as { error: string }).error, 'unsupported_encoding');
    }
  });

  it('a path Express cannot decode is answered as JSON, never its HTML page', async () => {
    for (const path of ['/%', '/fivetran%zz', '/%E0%A4%A']) {
      const answer = await postStreamed(`${served.url}${path}`, signedJson('{}'), Buffer.from('{}'), 2);
      assert.equal(answer.status, 400, path);
      assert.match(answer.headers['content-type'] as string, /application\/json/);
      assert.equal(JSON.parse(answer.body).error, 'bad_request');
    }
  });

  it('no log line keeps a query string: an Airbyte token in a refused URL is never written, before or in the handler (issue 25, finding 1)', async () => {
    const token = 'airbyte-token-in-the-url-0123456789';
    const warn = sinon.spy(logger, 'warn');
    const error = sinon.spy(logger, 'error');
    try {
      const refusals: Array<[string, number, string]> = [
        [`/%?token=${token}`, 400, 'refused before the function ran'],
        [`/fivetran%zz?token=${token}`, 400, 'refused before the function ran'],
        [`/airbyte?token=${token}-wrong`, 401, 'unauthorized'],
        [`/nowhere?token=${token}`, 404, 'unknown_path'],
        [`/airbyte?token=${token}&token=${token}`, 401, 'malformed_credentials'],
      ];
      for (const [path, status] of refusals) {
        const answer = await postStreamed(`${served.url}${path}`, { 'content-type': 'application/json' }, Buffer.from('{}'), 2);
        assert.equal(answer.status, status, path);
        assert.ok(!answer.body.includes(token), `the answer to ${path} does not echo the token`);
      }
      const written = [...served.logs.map((l) => JSON.stringify(l)), ...[...warn.getCalls(), ...error.getCalls()].map((c) => JSON.stringify(c.args))];
      assert.ok(written.length >= refusals.length, 'every refusal was logged');
      for (const line of written) assert.ok(!line.includes(token) && !/"path":"[^"]*\?/.test(line), line);
      assert.ok(warn.getCalls().some((c) => (c.args[0] as { path?: string }).path === '/%'), 'the path is kept');
    } finally {
      warn.restore();
      error.restore();
    }
  });

  it('a 403 from the source ranges comes before the body is read (even an oversized one)', async () => {
    const restricted = await serve({ sourceRanges: { fivetran: SourceRanges.parse('FIVETRAN_SOURCE_RANGES', '203.0.113.0/24') } });
    try {
      const answer = await postStreamed(`${restricted.url}/fivetran`, { ...signedJson('x'), 'x-forwarded-for': '203.0.113.9, 198.51.100.1' }, Buffer.alloc(64 * 1024), 64 * MiB);
      assert.equal(answer.status, 403);
      assert.equal(JSON.parse(answer.body).error, 'forbidden_address');
      const line = restricted.logs.find((l) => l.error === 'forbidden_address');
      assert.deepEqual([line?.source, line?.clientAddress], ['fivetran', '198.51.100.1'], 'the log names the source and the address');
      sinon.assert.notCalled(restricted.publish);
      // From inside the range, the same endpoint works.
      const body = JSON.stringify({ event: 'sync_start', created: '2026-05-22T00:06:08.638Z', connector_id: 'c', connector_type: 't', connector_name: 'n', destination_group_id: 'd', sync_id: 's' });
      const inside = await fetch(`${restricted.url}/fivetran`, { method: 'POST', headers: { ...signedJson(body), 'x-forwarded-for': '198.51.100.1, 203.0.113.9' }, body });
      assert.equal(inside.status, 202);
      // Airbyte has no ranges set: unchanged.
      const airbyte = await fetch(`${restricted.url}/airbyte`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.1' }, body: '{}' });
      assert.equal(airbyte.status, 401);
    } finally {
      await restricted.close();
    }
  });
});
