import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// The package bin as a user runs it (`npx postload` runs bin/postload.js), on dist/ (npm run build first).

describe('postload bin', () => {
  it('runs from the package bin with --help on every command, exit 0; a bad argument exits 2', async () => {
    const exec = promisify(execFile);
    for (const command of [[], ['send'], ['replay'], ['events'], ['event'], ['check']]) {
      const { stdout } = await exec(process.execPath, ['bin/postload.js', ...command, '--help']);
      assert.match(stdout, /^Usage: postload/);
      assert.match(stdout, /Exit codes:/);
    }
    await assert.rejects(exec(process.execPath, ['bin/postload.js', 'send', 'mailchimp', '--url', 'http://x']), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /Allowed choices are fivetran, airbyte, dbt-cloud/);
      return true;
    });
  });

  it('in a clone not built yet, says to run npm run build (exit 3) instead of a module trace', async () => {
    const clone = mkdtempSync(join(tmpdir(), 'postload-bin-'));
    try {
      mkdirSync(join(clone, 'bin'));
      copyFileSync('bin/postload.js', join(clone, 'bin', 'postload.js'));
      writeFileSync(join(clone, 'package.json'), '{"type":"module"}');
      await assert.rejects(promisify(execFile)(process.execPath, [join(clone, 'bin', 'postload.js'), '--help']), (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 3);
        assert.match(error.stderr, /not built yet .*\n  fix: run `npm run build`/);
        return true;
      });
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
