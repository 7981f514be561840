import assert from 'node:assert/strict';
import fc from 'fast-check';
import { signFivetranPayload } from '../../../functions/ingest/fivetran/signature.js';
import type { FunctionProcess } from '../../../functions/local/function-process.js';
import { validator } from '../../../functions/shared/schemas.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { ingestOnEmulator } from '../../support/ingest-harness.js';
import { EmulatorPubSub } from '../../support/pubsub-emulator.js';
import { fixtureNames, fixtureText } from '../../support/webhook-fixtures.js';

const SECRET = 'hostile-fivetran-secret-0123456789ab';
const TOKEN = 'hostile-airbyte-token-0123456789abcd';
const isSyncEvent = validator<SyncEvent>('sync-event.v1');

// `npm run fuzz` (FUZZ=1) runs many more cases from a random seed, printed to replay with
// FUZZ_SEED; `npm test` runs a fixed seed and a bounded count.
const FUZZ = process.env.FUZZ === '1';
const RUNS = Number(process.env.FUZZ_RUNS ?? (FUZZ ? 1000 : 40));
const SEED = Number(process.env.FUZZ_SEED ?? (FUZZ ? Math.floor(Math.random() * 2 ** 31) : 20261129));

interface Sent {
  path: string;
  headers: Record<string, string>;
  body: string;
}

const signed = (body: string): Sent => ({ path: '/fivetran', headers: { 'content-type': 'application/json', 'x-fivetran-signature-256': signFivetranPayload(body, SECRET) }, body });
const tokened = (body: string): Sent => ({ path: `/airbyte?token=${TOKEN}`, headers: { 'content-type': 'application/json' }, body });

async function send(url: string, { path, headers, body }: Sent): Promise<{ status: number; id?: string }> {
  const response = await fetch(url + path, { method: 'POST', headers, body });
  // Every answer is postload's JSON, refusals included: an HTML page fails here.
  assert.match(response.headers.get('content-type') ?? '', /application\/json/, `${response.status} for ${path}`);
  const answer = (await response.json()) as { id?: string };
  return { status: response.status, ...(answer.id ? { id: answer.id } : {}) };
}

describe('hostile input against the Pub/Sub emulator (real function, real emulator)', function () {
  this.timeout(FUZZ ? 1_800_000 : 180_000);
  let pubsub: EmulatorPubSub;
  let subscription: string;
  let ingest: FunctionProcess;

  before(async function () {
    ({ pubsub, subscription, ingest } = await ingestOnEmulator(this, { FIVETRAN_WEBHOOK_SECRET: SECRET, AIRBYTE_WEBHOOK_TOKEN: TOKEN, PUBLISH_TIMEOUT_MS: '5000' }));
  });
  after(async () => ingest?.stop());

  /** Everything on the topic once `expected` messages arrived, plus anything that trails in. */
  async function published(expected: number) {
    const messages = await pubsub.pullAtLeast(subscription, expected, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    messages.push(...(await pubsub.pull(subscription)));
    return messages.map((m) => ({ ...m, event: JSON.parse(m.data) as SyncEvent }));
  }

  it('valid events sent concurrently with authenticated hostile ones: all 202, all published, each valid', async () => {
    const base = JSON.parse(fixtureText('fivetran', 'sync_end-failure')) as Record<string, unknown>;
    const hostile = [
      signed(JSON.stringify({ ...base, connector_id: '\ud800' })), // lone surrogate: invalid UTF-8 as an attribute
      signed(JSON.stringify({ ...base, connector_id: 'é'.repeat(2000) })), // over the 1,024-byte attribute limit
      signed(`${'['.repeat(5000)}${']'.repeat(5000)}`), // JSON.stringify would overflow the stack
      signed(JSON.stringify({ ...base, data: { status: 'FAILURE', reason: 'x'.repeat(900_000) } })), // copied into the event
      signed('{"event": "sync_end", "created": '), // not JSON
      tokened(JSON.stringify({ text: 'schema '.repeat(100_000) })), // quadratic for /\bschema\b.*\bpropagated\b/ unbounded
    ];
    const valid = [signed(fixtureText('fivetran', 'sync_end-successful')), tokened(fixtureText('airbyte', 'sync-failed')), signed(fixtureText('fivetran', 'sync_start'))];
    const answers = await Promise.all([...hostile, ...valid, ...valid.map((v) => ({ ...v }))].map((r) => send(ingest.url, r)));
    assert.deepEqual(answers.map((a) => a.status), answers.map(() => 202));
    const messages = await published(new Set(answers.map((a) => a.id)).size);
    for (const { event } of messages) assert.ok(isSyncEvent(event), JSON.stringify(isSyncEvent.errors));
    assert.deepEqual(new Set(messages.map((m) => m.event.id)), new Set(answers.map((a) => a.id)));
    const byId = new Map(messages.map((m) => [m.event.id, m]));
    const surrogate = byId.get(answers[0]!.id!)!;
    assert.equal(surrogate.attributes.connectorId, '\ufffd', 'the attribute made valid');
    assert.equal(surrogate.event.connector.id, '\ud800', 'the full value kept in the data');
    assert.ok(Buffer.byteLength(byId.get(answers[1]!.id!)!.attributes.connectorId!) <= 1024);
    assert.equal(byId.get(answers[2]!.id!)!.event.type, 'quarantined');
    assert.equal(byId.get(answers[4]!.id!)!.event.quarantine?.problems[0]?.code, 'invalid_json');
  });

  it('unauthenticated hostile requests are 4xx and publish nothing', async () => {
    const junk: Sent[] = [
      { path: '/fivetran', headers: { 'content-type': 'application/json' }, body: '['.repeat(5000) },
      { path: '/fivetran', headers: { 'content-type': 'application/json', 'x-fivetran-signature-256': 'f'.repeat(64) }, body: '{"connector_id":"\\ud800"}' },
      { path: `/airbyte?${Array.from({ length: 1000 }, (_, i) => `token=t${i}`).join('&')}`, headers: { 'content-type': 'application/json' }, body: '{}' },
      { path: `/airbyte?token=${TOKEN}&token=x`, headers: { 'content-type': 'application/json' }, body: '{}' },
      { path: `/${'/'.repeat(16_000)}`, headers: { 'content-type': 'application/json' }, body: '{}' },
    ];
    const answers = await Promise.all(junk.map((r) => send(ingest.url, r)));
    for (const { status } of answers) assert.ok(status >= 400 && status < 500, String(status));
    const marker = await send(ingest.url, signed(fixtureText('fivetran', 'sync_start')));
    assert.equal(marker.status, 202);
    const messages = await published(1);
    assert.deepEqual(messages.map((m) => m.event.id), [marker.id]);
  });

  it(`property: signed mutated payloads and unauthenticated junk (seed ${SEED}, ${RUNS} runs) never 5xx; every 202 is one valid message, a 4xx none`, async () => {
    console.log(`      fuzz seed ${SEED}, ${RUNS} runs (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} to replay)`);
    const fixtures = [
      ...fixtureNames('fivetran').map((name) => ({ source: 'fivetran' as const, text: fixtureText('fivetran', name) })),
      ...fixtureNames('airbyte').map((name) => ({ source: 'airbyte' as const, text: fixtureText('airbyte', name) })),
    ];
    const hostileValue = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 64 }),
      fc.constantFrom('\ud800', '\udfff', 'é'.repeat(700), '__proto__', 'constructor', ''),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 4 }),
      fc.integer({ min: 1, max: 200 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown),
    );
    const mutate = (text: string, path: string[], value: unknown) => {
      const doc = JSON.parse(text) as Record<string, unknown>;
      let node: Record<string, unknown> = doc;
      for (const key of path.slice(0, -1)) {
        if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
        node = node[key] as Record<string, unknown>;
      }
      node[path.at(-1)!] = value;
      return JSON.stringify(doc);
    };
    const keys = fc.constantFrom('event', 'created', 'connector_id', 'connector_name', 'sync_id', 'data', 'status', 'reason', 'text', 'blocks', 'connection', 'jobId', 'success', 'name', 'id');
    const signedMutation = fc
      .record({ fixture: fc.constantFrom(...fixtures), path: fc.array(keys, { minLength: 1, maxLength: 3 }), value: hostileValue, cut: fc.option(fc.nat(), { nil: undefined }) })
      .map(({ fixture, path, value, cut }) => {
        let body = mutate(fixture.text, path, value);
        if (cut !== undefined) body = body.slice(0, cut % (body.length + 1)); // truncated: no longer JSON
        return { request: fixture.source === 'fivetran' ? signed(body) : tokened(body), authentic: true };
      });
    const junk = fc
      .record({
        path: fc.oneof(fc.constantFrom('/fivetran', '/airbyte', '/airbyte?token=wrong', '/nowhere', '/fivetran/', '/%', '/fivetran%zz', '//fivetran'), fc.webPath().map((p) => p || '/')),
        body: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.json({ maxDepth: 4 })),
        signature: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: undefined }),
      })
      .map(({ path, body, signature }) => ({
        request: { path, body, headers: { 'content-type': 'application/json', ...(signature ? { 'x-fivetran-signature-256': signature } : {}) } },
        authentic: false,
      }));

    const outcomes: Array<{ status: number; id?: string; authentic: boolean }> = [];
    await fc.assert(
      fc.asyncProperty(fc.oneof(signedMutation, junk), async ({ request, authentic }) => {
        const answer = await send(ingest.url, request);
        assert.ok(answer.status < 500, `${answer.status} for ${request.path} ${request.body.slice(0, 200)}`);
        if (authentic) assert.equal(answer.status, 202, `authentic means accepted: ${request.body.slice(0, 200)}`);
        outcomes.push({ ...answer, authentic });
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const accepted = new Set(outcomes.filter((o) => o.status === 202).map((o) => o.id!));
    const messages = await published(accepted.size);
    for (const { event } of messages) assert.ok(isSyncEvent(event), JSON.stringify(isSyncEvent.errors));
    // Every 202 is on the topic; nothing else is (a re-sent identical body shares its id).
    assert.deepEqual(new Set(messages.map((m) => m.event.id)), accepted);
  });
});
