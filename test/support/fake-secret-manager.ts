import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { SecretManagerLike } from '../../functions/shared/secrets.js';

/** A stubbed Secret Manager client holding versions by number; `enabled` lists those enabled. */
export function secretManager(versions: Record<number, string>, enabled = Object.keys(versions).map(Number)) {
  const list = sinon.stub().callsFake(async ({ parent, filter }: { parent: string; filter: string }) => {
    assert.equal(filter, 'state:ENABLED');
    return [enabled.map((n) => ({ name: `${parent}/versions/${n}`, state: 'ENABLED' }))];
  });
  const access = sinon.stub().callsFake(async ({ name }: { name: string }) => {
    const number = Number(name.split('/').pop());
    const value = versions[number];
    if (value === undefined) throw Object.assign(new Error(`NOT_FOUND: ${name}`), { code: 5 });
    return [{ name, payload: { data: Buffer.from(value) } }];
  });
  const client = { listSecretVersions: list, accessSecretVersion: access } as unknown as SecretManagerLike;
  return { client, list, access, set: (n: number, v: string) => { versions[n] = v; enabled.push(n); }, disable: (n: number) => enabled.splice(enabled.indexOf(n), 1) };
}

