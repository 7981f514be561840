import assert from 'node:assert/strict';
import fc from 'fast-check';
import sinon from 'sinon';
import { Secret, SecretUnavailableError } from '../../../functions/shared/secrets.js';
import {
  CLOCK_SKEW_MS,
  currentSigningKey,
  SIGNATURE_ATTRIBUTE,
  signSyncEventData,
  verifySyncEventSignature,
} from '../../../functions/shared/sync-event-signature.js';
import { secretManager } from '../../support/fake-secret-manager.js';

const KEY = 'sync-event-signing-key-0123456789abcdef';
const DATA = Buffer.from('{"schemaVersion":"1","id":"6e84f591dfdad48136bab0ac6e4c52b8","type":"sync.succeeded"}');
const REFERENCE = 'sm://projects/p1/secrets/postload-sync-event-signing-key';

const signed = (data: Uint8Array, key: string) => ({ [SIGNATURE_ATTRIBUTE]: signSyncEventData(data, Buffer.from(key)) });

describe('shared/sync-event-signature', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 10_000_000, toFake: ['Date'] });
  });
  afterEach(() => clock.restore());

  const literal = () => new Secret('SYNC_EVENT_SIGNING_KEY', KEY);

  it('signs the data bytes as v1= and the hex HMAC-SHA256 (the scheme a publisher outside this code can reproduce)', () => {
    // openssl: printf '%s' "$DATA" | openssl dgst -sha256 -hmac "$KEY"
    assert.equal(signSyncEventData(Buffer.from('abc'), Buffer.from('key')), 'v1=9c196e32dc0175f86f4b1cb89289d6619de6bee699e4c378e68309ed97a1a6ab');
  });

  it('accepts what it signed, and any data or key change is refused as a wrong signature', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.nat(), fc.string({ minLength: 1 }), async (data, flip, other) => {
        const attributes = signed(data, KEY);
        assert.deepEqual(await verifySyncEventSignature(data, attributes, literal()), { verdict: 'valid' });
        if (data.length > 0) {
          const changed = Uint8Array.from(data);
          changed[flip % data.length]! ^= 1 << (flip % 8);
          assert.equal((await verifySyncEventSignature(changed, attributes, literal())).verdict, 'refused');
        }
        if (other !== KEY) {
          const verdict = await verifySyncEventSignature(data, signed(data, other), literal());
          assert.equal(verdict.verdict === 'refused' && verdict.problem, 'wrong_signature');
        }
      }),
      { numRuns: 200 },
    );
  });

  const refusals: Array<[string, Record<string, string>, string]> = [
    ['no signature attribute', {}, 'unsigned'],
    ['an empty one', { [SIGNATURE_ATTRIBUTE]: '  ' }, 'unsigned'],
    ['another scheme', { [SIGNATURE_ATTRIBUTE]: `sha256=${'a'.repeat(64)}` }, 'malformed_signature'],
    ['too short', { [SIGNATURE_ATTRIBUTE]: `v1=${'a'.repeat(63)}` }, 'malformed_signature'],
    ['not hex', { [SIGNATURE_ATTRIBUTE]: `v1=${'g'.repeat(64)}` }, 'malformed_signature'],
    ['a signature of other data', signed(Buffer.from('other'), KEY), 'wrong_signature'],
  ];
  for (const [name, attributes, problem] of refusals) {
    it(`refuses a message with ${name} (${problem})`, async () => {
      const verdict = await verifySyncEventSignature(DATA, attributes, literal());
      assert.equal(verdict.verdict, 'refused');
      assert.equal(verdict.verdict === 'refused' && verdict.problem, problem);
    });
  }

  it('accepts upper-case hex, as the HMAC checks of the webhooks do', async () => {
    const attributes = { [SIGNATURE_ATTRIBUTE]: `v1=${signSyncEventData(DATA, Buffer.from(KEY)).slice(3).toUpperCase()}` };
    assert.deepEqual(await verifySyncEventSignature(DATA, attributes, literal()), { verdict: 'valid' });
  });

  describe('rotation: the newest enabled version signs, every enabled version verifies', () => {
    it('signs with the newest version and verifies messages signed with either', async () => {
      const sm = secretManager({ 1: 'old-key-0123456789abcdef0123456789', 2: 'new-key-0123456789abcdef0123456789' });
      const key = new Secret('SYNC_EVENT_SIGNING_KEY', REFERENCE, { client: async () => sm.client });
      assert.equal((await currentSigningKey(key)).toString(), 'new-key-0123456789abcdef0123456789');
      assert.ok(Buffer.isBuffer(currentSigningKey(key)), 'at hand once read: no promise on the hot path');
      for (const version of ['old-key-0123456789abcdef0123456789', 'new-key-0123456789abcdef0123456789']) {
        assert.deepEqual(await verifySyncEventSignature(DATA, signed(DATA, version), key, { publishedAtMs: Date.now() }), { verdict: 'valid' }, version);
      }
    });

    it('verifies at once a message signed with a version added after this instance read the key (one forced re-read)', async () => {
      const sm = secretManager({ 1: 'old-key-0123456789abcdef0123456789' });
      const key = new Secret('SYNC_EVENT_SIGNING_KEY', REFERENCE, { client: async () => sm.client });
      await key.acceptedValues();
      clock.tick(31_000); // past the forced re-read's rate limit
      sm.set(2, 'new-key-0123456789abcdef0123456789');
      assert.deepEqual(await verifySyncEventSignature(DATA, signed(DATA, 'new-key-0123456789abcdef0123456789'), key, { publishedAtMs: Date.now() }), { verdict: 'valid' });
    });

    it('is unsure, not refusing, when it cannot have read the key version that signed it (re-read rate-limited, key older than the message)', async () => {
      const sm = secretManager({ 1: 'old-key-0123456789abcdef0123456789' });
      const key = new Secret('SYNC_EVENT_SIGNING_KEY', REFERENCE, { client: async () => sm.client });
      await key.acceptedValues();
      clock.tick(5_000);
      sm.set(2, 'new-key-0123456789abcdef0123456789');
      const verdict = await verifySyncEventSignature(DATA, signed(DATA, 'new-key-0123456789abcdef0123456789'), key, { publishedAtMs: Date.now() });
      assert.equal(verdict.verdict, 'unsure');
      // Delivered again after the re-read interval, it verifies.
      clock.tick(30_000);
      assert.deepEqual(await verifySyncEventSignature(DATA, signed(DATA, 'new-key-0123456789abcdef0123456789'), key, { publishedAtMs: Date.now() - 35_000 }), { verdict: 'valid' });
    });

    it('refuses a wrong signature for good once the key was read after the message was published', async () => {
      const sm = secretManager({ 1: 'old-key-0123456789abcdef0123456789' });
      const key = new Secret('SYNC_EVENT_SIGNING_KEY', REFERENCE, { client: async () => sm.client });
      const publishedAtMs = Date.now();
      clock.tick(CLOCK_SKEW_MS + 1_000);
      const verdict = await verifySyncEventSignature(DATA, signed(DATA, 'forged-key'), key, { publishedAtMs });
      assert.equal(verdict.verdict === 'refused' && verdict.problem, 'wrong_signature');
      // Without a publish time it cannot tell, and says so.
      assert.equal((await verifySyncEventSignature(DATA, signed(DATA, 'forged-key'), key)).verdict, 'unsure');
    });

    it('refuses an unsigned message at once, whatever the key', async () => {
      const sm = secretManager({ 1: 'old-key-0123456789abcdef0123456789' });
      const key = new Secret('SYNC_EVENT_SIGNING_KEY', REFERENCE, { client: async () => sm.client });
      const verdict = await verifySyncEventSignature(DATA, {}, key);
      assert.equal(verdict.verdict === 'refused' && verdict.problem, 'unsigned');
      sinon.assert.notCalled(sm.list);
    });

    it('fails closed when the key cannot be read: nothing verifies, signing throws', async () => {
      const failing = { listSecretVersions: sinon.stub().rejects(Object.assign(new Error('UNAVAILABLE'), { code: 14 })), accessSecretVersion: sinon.stub() };
      const key = new Secret('SYNC_EVENT_SIGNING_KEY', REFERENCE, { client: async () => failing as never, attempts: 1 });
      await assert.rejects(verifySyncEventSignature(DATA, signed(DATA, KEY), key), SecretUnavailableError);
      await assert.rejects(Promise.resolve(currentSigningKey(key)), SecretUnavailableError);
    });
  });
});
