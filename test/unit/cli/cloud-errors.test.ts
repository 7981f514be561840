import assert from 'node:assert/strict';
import { runCli } from '../../support/run-cli.js';

// Against Google Cloud without usable credentials or project, every command stops at once
// with exit 3 and the fix, instead of the client libraries' uncaught stack trace.

describe('cli: errors that name the fix', () => {
  const saved = { ...process.env };
  before(() => {
    for (const name of ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT']) delete process.env[name];
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/postload-test-credentials.json';
    process.env.METADATA_SERVER_DETECTION = 'none';
  });
  after(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it('no local stack and no project: the fix names the local stack first, then --project', async () => {
    const run = await runCli(['events'], {});
    assert.equal(run.code, 3);
    assert.match(run.stderr, /no local stack is running and no Google Cloud project is given.*\n  fix: for the local stack, start it with `npm start` in this folder \(postload finds it by itself\); for a deployment, pass --project PROJECT or set GOOGLE_CLOUD_PROJECT/);
  });

  for (const args of [['events'], ['event', 'abc'], ['replay'], ['replay', '--dry-run']]) {
    it(`no credentials: postload ${args.join(' ')} says how to log in`, async () => {
      const run = await runCli([...args, '--project', 'postload-test'], {});
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /no Google Cloud credentials .*\n  fix: for the local stack, start it with `npm start` .*; for a deployment, run `gcloud auth application-default login`/);
      assert.equal(run.stdout, '');
    });
  }
});
