import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deploySource, loadTerraform, type DeploySource } from '../../support/terraform-checks.js';

// Builds a copy of exactly what terraform/source.tf uploads, the way Cloud Build does
// (`npm ci`, then `npm run gcp-build`): the allow-list must hold everything the build
// needs, and the trimmed package.json must install the build's tools and nothing else.
// npm reads the packages from its local cache where it can (--prefer-offline).

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TEST_TOOLING = ['mocha', 'sinon', 'fast-check', 'autocannon', 'tsx', '@cdktf/provider-google', '@cdktf/hcl2json'];

describe('the deployed source (a copy of exactly the archive, built as Cloud Build does)', function () {
  this.timeout(300_000);

  let source: DeploySource;
  let copy: string;

  before(async () => {
    const { config, problems } = await loadTerraform(join(ROOT, 'terraform'));
    assert.deepEqual(problems, []);
    const evaluated = deploySource(config, ROOT);
    assert.deepEqual(evaluated.problems, []);
    source = evaluated.source!;
    copy = mkdtempSync(join(tmpdir(), 'postload-deploy-'));
    for (const file of source.files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(ROOT, file), join(copy, file));
    }
    writeFileSync(join(copy, 'package.json'), JSON.stringify(source.packageJson, null, 2));
  });

  after(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('installs with npm ci and builds with npm run gcp-build', async () => {
    await run(npm, ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
    await run(npm, ['run', 'gcp-build'], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
    // The entry module Cloud Functions loads (package.json's main, the bundle) and every
    // handler module it imports on demand.
    const main = source.packageJson.main as string;
    const entry = join(copy, main);
    assert.ok(existsSync(entry), `${main} is built`);
    const handlers = [...readFileSync(entry, 'utf8').matchAll(/import\(\s*["'](\.\/[^"']+)["']\s*\)/g)].map((m) => m[1]!);
    assert.ok(handlers.length >= 2, `${main} loads each function's handler`);
    for (const handler of handlers) assert.ok(existsSync(join(dirname(entry), handler)), `${handler} is built beside ${main}`);
    for (const tool of TEST_TOOLING) {
      assert.ok(!existsSync(join(copy, 'node_modules', tool)), `the deploy build installs no ${tool}`);
    }
    // The figure docs/design.md quotes (not asserted: sizes are for reading, not for failing).
    console.log(`      deploy build install: ${(directorySize(join(copy, 'node_modules')) / 1024 / 1024).toFixed(0)} MiB in node_modules`);
  });

  // After the build the buildpack keeps only `dependencies` for the runtime image: every
  // package the built code imports must be one of them.
  it('runs on dependencies alone: every package dist/ imports resolves after pruning the devDependencies', async () => {
    assert.ok(existsSync(join(copy, source.packageJson.main as string)), 'built by the previous test');
    await run(npm, ['prune', '--omit=dev', '--no-audit', '--no-fund'], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
    const specifiers = new Set<string>();
    for (const name of readdirSync(join(copy, 'dist'), { recursive: true, encoding: 'utf8' })) {
      // dist/build/ holds the build steps, which run before the prune, never at run time.
      if (!name.endsWith('.js') || name.startsWith('build/')) continue;
      const code = readFileSync(join(copy, 'dist', name), 'utf8');
      // Import and export statements start a line in tsc's and esbuild's output (esbuild's span
      // lines, up to the semicolon); a string that happens to contain "from '" (an Airbyte
      // template, say) is not an import.
      for (const m of code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*["']([^"'.][^"']*)["']|\bimport\(\s*["']([^"'.][^"']*)["']\)/gm)) {
        const specifier = (m[1] ?? m[2])!;
        if (!specifier.startsWith('node:')) specifiers.add(specifier);
      }
    }
    assert.ok(specifiers.has('@google-cloud/functions-framework'), `found the imports (${[...specifiers].join(', ')})`);
    // import.meta.resolve from inside the copy resolves as the deployed code would.
    const probe = join(copy, 'resolve-imports.mjs');
    writeFileSync(probe, `for (const s of ${JSON.stringify([...specifiers])}) { try { import.meta.resolve(s); } catch { console.log(s); } }\n`);
    const { stdout } = await run(process.execPath, [probe], { cwd: copy });
    assert.deepEqual(stdout.split('\n').filter(Boolean), [], 'packages the built code imports but dependencies do not provide');
  });
});

function directorySize(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const stats = statSync(join(dir, name), { throwIfNoEntry: false });
    if (stats?.isFile()) total += stats.size;
  }
  return total;
}
