import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
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

  it('--json prints only JSON: the functions\' log lines stay out of it; check reports a short webhook secret itself', async () => {
    const env = {
      PATH: process.env.PATH,
      METADATA_SERVER_DETECTION: 'none',
      ROUTING_CONFIG: '{"version": 1, "routes": [], "slack": {"notify": []}}',
      // Short enough for the ingest loader to log a warning (to stdout, in a function).
      FIVETRAN_WEBHOOK_SECRET: 'short',
      AIRBYTE_WEBHOOK_TOKEN: 'a'.repeat(40),
      DBT_CLOUD_WEBHOOK_SECRET: 'b'.repeat(40),
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/check-test',
      SYNC_EVENT_SIGNING_KEY: 'c'.repeat(40),
    };
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/postload.js', 'check', '--json'], { env });
    const report = JSON.parse(stdout) as { ok: boolean; results: Array<{ check: string; ok: boolean; detail: string }> };
    assert.equal(report.ok, true, stdout);
    assert.match(report.results.find((r) => r.check === 'secret FIVETRAN_WEBHOOK_SECRET')!.detail, /^readable \(1 value accepted\); it is shorter than 32 characters/);
    assert.equal(report.results.find((r) => r.check === 'secret AIRBYTE_WEBHOOK_TOKEN')!.detail, 'readable (1 value accepted)');
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

  it('a reader that stops early (postload … | head) ends it quietly, not with an EPIPE trace', async () => {
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, ['bin/postload.js', 'send', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      // Read the first chunk, then close the pipe, as `head -1` does.
      child.stdout.once('data', (chunk: Buffer) => {
        out += chunk.toString();
        child.stdout.destroy();
      });
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.once('exit', (exitCode) => resolve({ stdout: out, stderr: err, code: exitCode }));
    });
    assert.match(stdout, /^Usage: postload send/);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled 'error' event/);
    assert.equal(code, 0);
  });
});
