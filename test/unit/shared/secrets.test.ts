import assert from 'node:assert/strict';
import sinon from 'sinon';
import { MissingSecretError, Secret, SecretRevokedError, SecretUnavailableError } from '../../../functions/shared/secrets.js';
import { secretManager } from '../../support/fake-secret-manager.js';

const SECRET = 'projects/p1/secrets/fivetran-webhook-secret';

const text = (values: Buffer[]) => values.map((v) => v.toString());

describe('Secret', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
  });
  afterEach(() => clock.restore());

  it('uses a literal value as is, without Secret Manager', async () => {
    const sm = secretManager({});
    const secret = new Secret('AIRBYTE_WEBHOOK_TOKEN', 'plain-token', { client: async () => sm.client });
    assert.deepEqual(text(await secret.acceptedValues()), ['plain-token']);
    assert.equal(await secret.currentValue(), 'plain-token');
    sinon.assert.notCalled(sm.list);
  });

  for (const raw of [undefined, '', '   ']) {
    it(`fails closed when the setting is ${JSON.stringify(raw)}, naming the variable to set`, async () => {
      const secret = new Secret('FIVETRAN_WEBHOOK_SECRET', raw);
      assert.equal(secret.configured, false);
      await assert.rejects(secret.acceptedValues(), (error: Error) => error instanceof MissingSecretError && /FIVETRAN_WEBHOOK_SECRET is not set/.test(error.message));
    });
  }

  it('rejects a malformed reference at start-up', () => {
    assert.throws(() => new Secret('X', 'sm://projects/p1/nothing'), /not a Secret Manager reference/);
    assert.throws(() => new Secret('X', 'sm://short-name'), /GOOGLE_CLOUD_PROJECT/);
  });

  it('accepts every enabled version of an unversioned reference, newest first', async () => {
    const sm = secretManager({ 1: 'old', 2: 'new' });
    const secret = new Secret('S', `sm://${SECRET}`, { client: async () => sm.client });
    assert.deepEqual(text(await secret.acceptedValues()), ['new', 'old']);
    assert.equal(await secret.currentValue(), 'new');
  });

  it('resolves a short reference in GOOGLE_CLOUD_PROJECT', async () => {
    const sm = secretManager({ 3: 'v3' });
    const secret = new Secret('S', 'sm://fivetran-webhook-secret', { projectId: 'p1', client: async () => sm.client });
    assert.deepEqual(text(await secret.acceptedValues()), ['v3']);
    assert.equal(sm.list.firstCall.args[0].parent, SECRET);
  });

  it('reads only the pinned version of a versioned reference', async () => {
    const sm = secretManager({ 1: 'old', 2: 'new' });
    const secret = new Secret('S', `sm://${SECRET}/versions/1`, { client: async () => sm.client });
    assert.deepEqual(text(await secret.acceptedValues()), ['old']);
    sinon.assert.notCalled(sm.list);
    assert.equal(sm.access.firstCall.args[0].name, `${SECRET}/versions/1`);
  });

  it('drops the trailing newline that `echo | gcloud secrets versions add` stores', async () => {
    const sm = secretManager({ 1: 'token\n', 2: 'other\r\n' });
    const secret = new Secret('S', `sm://${SECRET}`, { client: async () => sm.client });
    assert.deepEqual(text(await secret.acceptedValues()), ['other', 'token']);
  });

  it('caches values for the TTL, refreshing in the background from half of it', async () => {
    const sm = secretManager({ 1: 'a' });
    const secret = new Secret('S', `sm://${SECRET}`, { ttlMs: 60_000, client: async () => sm.client });
    await secret.acceptedValues();
    clock.tick(29_000);
    await secret.acceptedValues();
    sinon.assert.calledOnce(sm.list);
    clock.tick(2_000);
    await secret.acceptedValues();
    await Promise.resolve();
    sinon.assert.calledTwice(sm.list);
  });

  it('shares one Secret Manager round trip between concurrent cold requests', async () => {
    const sm = secretManager({ 1: 'a' });
    const secret = new Secret('S', `sm://${SECRET}`, { client: async () => sm.client });
    await Promise.all([secret.acceptedValues(), secret.acceptedValues(), secret.acceptedValues()]);
    sinon.assert.calledOnce(sm.list);
  });

  describe('rotation', () => {
    it('follows add-version, then disable-old, with both accepted in between', async () => {
      const sm = secretManager({ 1: 'old' });
      const secret = new Secret('S', `sm://${SECRET}`, { ttlMs: 300_000, minRefreshMs: 30_000, client: async () => sm.client });
      assert.deepEqual(text(await secret.acceptedValues()), ['old']);

      sm.set(2, 'new');
      clock.tick(31_000);
      // A request signed with the new value fails against the cache; the handler asks for a refresh.
      assert.equal(await secret.refreshIfStale(), true);
      assert.deepEqual(text(await secret.acceptedValues()), ['new', 'old']);

      sm.disable(1);
      clock.tick(300_001);
      assert.deepEqual(text(await secret.acceptedValues()), ['new']);
    });

    it('refreshes at most once per minRefreshMs, however many requests fail', async () => {
      const sm = secretManager({ 1: 'old' });
      const secret = new Secret('S', `sm://${SECRET}`, { minRefreshMs: 30_000, client: async () => sm.client });
      await secret.acceptedValues();
      for (let i = 0; i < 5; i++) assert.equal(await secret.refreshIfStale(), false);
      sinon.assert.calledOnce(sm.list);
      clock.tick(30_000);
      assert.equal(await secret.refreshIfStale(), false, 'refreshed, but nothing changed');
      sinon.assert.calledTwice(sm.list);
    });

    it('never refreshes a literal value', async () => {
      assert.equal(await new Secret('S', 'literal').refreshIfStale(), false);
    });
  });

  describe('Secret Manager failures', () => {
    it('without a cached value: SecretUnavailableError naming the setting', async () => {
      const sm = secretManager({ 1: 'a' });
      sm.list.rejects(Object.assign(new Error('UNAVAILABLE: connect failed'), { code: 14 }));
      const secret = new Secret('FIVETRAN_WEBHOOK_SECRET', `sm://${SECRET}`, { client: async () => sm.client });
      await assert.rejects(secret.acceptedValues(), (error: Error) => error instanceof SecretUnavailableError && /FIVETRAN_WEBHOOK_SECRET/.test(error.message));
    });

    it('with a cached value: keeps serving it through the outage', async () => {
      const sm = secretManager({ 1: 'a' });
      const secret = new Secret('S', `sm://${SECRET}`, { ttlMs: 1000, client: async () => sm.client });
      await secret.acceptedValues();
      sm.list.rejects(new Error('UNAVAILABLE'));
      clock.tick(5000);
      assert.deepEqual(text(await secret.acceptedValues()), ['a']);
    });

    it('a secret with no enabled version is unavailable, not empty', async () => {
      const sm = secretManager({}, []);
      const secret = new Secret('S', `sm://${SECRET}`, { client: async () => sm.client });
      await assert.rejects(secret.acceptedValues(), (error: Error) => error instanceof SecretUnavailableError && /no enabled version/.test(error.message));
    });
  });

  describe('lifecycle under revocation and outage (fake clock and timers)', () => {
    let timers: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock.restore();
      timers = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
      clock = timers;
    });

    const TTL = 300_000;
    const options = (sm: ReturnType<typeof secretManager>) => ({ ttlMs: TTL, maxStaleMs: 3_600_000, callTimeoutMs: 2_000, attempts: 2, client: async () => sm.client });
    const grpcError = (code: number, message: string) => Object.assign(new Error(message), { code });
    /** Settles `promise`, advancing fake time as far as `limitMs`; fails if it needs more. */
    async function within<T>(promise: Promise<T>, limitMs: number): Promise<T> {
      let settled = false;
      const tracked = promise.finally(() => { settled = true; });
      tracked.catch(() => undefined);
      for (let waited = 0; !settled && waited <= limitMs; waited += 100) await timers.tickAsync(100);
      assert.ok(settled, `still waiting after ${limitMs} ms`);
      return tracked;
    }

    for (const [name, code] of [['PERMISSION_DENIED', 7], ['NOT_FOUND', 5], ['FAILED_PRECONDITION', 9]] as const) {
      it(`${name} revokes the cached values within the TTL, and they stay revoked (checked after 24 h)`, async () => {
        const sm = secretManager({ 1: 'leaked' });
        const secret = new Secret('S', `sm://${SECRET}`, options(sm));
        assert.deepEqual(text(await secret.acceptedValues()), ['leaked']);
        sm.list.rejects(grpcError(code, `${name}: revoked`));
        await timers.tickAsync(TTL / 2); // a request past half the TTL refreshes in the background
        assert.deepEqual(text(await secret.acceptedValues()), ['leaked'], 'still within the TTL, served without waiting');
        await timers.tickAsync(0);
        await assert.rejects(secret.acceptedValues(), SecretRevokedError, 'revoked as soon as Secret Manager said so');
        await timers.tickAsync(24 * 3_600_000);
        await assert.rejects(within(secret.acceptedValues(), 10_000), SecretRevokedError);
      });
    }

    it('disabling the last enabled version revokes, even for an instance that was idle past the TTL', async () => {
      const sm = secretManager({ 1: 'leaked' });
      const secret = new Secret('S', `sm://${SECRET}`, options(sm));
      await secret.acceptedValues();
      sm.disable(1);
      await timers.tickAsync(TTL);
      await assert.rejects(within(secret.acceptedValues(), 10_000), (error: Error) => error instanceof SecretRevokedError && /no enabled version/.test(error.message));
    });

    it('an outage keeps the last good values: one bounded wait, then no request waits; until the staleness limit', async () => {
      const sm = secretManager({ 1: 'good' });
      const secret = new Secret('S', `sm://${SECRET}`, options(sm));
      await secret.acceptedValues();
      sm.list.callsFake(() => new Promise(() => undefined)); // Secret Manager hangs
      await timers.tickAsync(TTL);
      // Nothing known yet about an outage: the first request waits, at most attempts × callTimeoutMs.
      assert.deepEqual(text(await within(secret.acceptedValues(), 4_000)), ['good']);
      const calls = sm.list.callCount;
      // Now the outage is known: answered at once (no fake time passes), Secret Manager asked only per backoff.
      for (let i = 0; i < 20; i++) assert.deepEqual(text(await secret.acceptedValues()), ['good']);
      assert.ok(sm.list.callCount <= calls + 2, `backoff bounds the retries: ${sm.list.callCount - calls}`);
      for (const call of sm.list.getCalls()) assert.deepEqual(call.args[1], { timeout: 2_000, retry: null }, 'explicit deadline, library retries off (the real library is exercised in secret-manager-client.test.ts)');
      await timers.tickAsync(3_600_000);
      await assert.rejects(within(secret.acceptedValues(), 10_000), (error: Error) => error instanceof SecretUnavailableError && !(error instanceof SecretRevokedError));
    });

    it('an outage with nothing cached fails within the bounded wait; the next request after recovery succeeds', async () => {
      const sm = secretManager({ 1: 'good' });
      sm.list.rejects(grpcError(14, 'UNAVAILABLE'));
      const secret = new Secret('S', `sm://${SECRET}`, options(sm));
      await assert.rejects(within(secret.acceptedValues(), 4_000), SecretUnavailableError);
      sinon.assert.callCount(sm.list, 2);
      sm.list.resetBehavior();
      sm.list.callsFake(async ({ parent }: { parent: string }) => [[{ name: `${parent}/versions/1` }]]);
      await timers.tickAsync(1_000); // the backoff after one failed refresh
      assert.deepEqual(text(await within(secret.acceptedValues(), 4_000)), ['good']);
    });

    it('recovers after an outage: new values replace the stale ones', async () => {
      const sm = secretManager({ 1: 'old' });
      const secret = new Secret('S', `sm://${SECRET}`, options(sm));
      await secret.acceptedValues();
      sm.list.rejects(grpcError(14, 'UNAVAILABLE'));
      await timers.tickAsync(TTL);
      assert.deepEqual(text(await within(secret.acceptedValues(), 4_000)), ['old']);
      sm.set(2, 'new');
      sm.list.resetBehavior();
      sm.list.callsFake(async ({ parent }: { parent: string }) => [[{ name: `${parent}/versions/2` }, { name: `${parent}/versions/1` }]]);
      await timers.tickAsync(60_000);
      await secret.acceptedValues(); // starts the background refresh
      await timers.tickAsync(0);
      assert.deepEqual(text(await secret.acceptedValues()), ['new', 'old']);
    });

    it('trims a setting before classifying it: " sm://..." is a reference, not a literal', async () => {
      const sm = secretManager({ 1: 'real' });
      const secret = new Secret('S', `  sm://${SECRET}\n`, options(sm));
      assert.deepEqual(text(await secret.acceptedValues()), ['real']);
      assert.deepEqual(text(await new Secret('S', '  literal \n').acceptedValues()), ['literal']);
    });
  });
});
