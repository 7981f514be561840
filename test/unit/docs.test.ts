import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { program } from '../../functions/cli/main.js';
import { anchors, checkCommands, checkLinks, readDocs, type CommandVocabulary, type Doc } from '../support/markdown-docs.js';
import { cliCommands } from '../support/terraform-monitoring.js';

// The documentation is part of the product: a link that leads nowhere or a command that
// does not exist is a bug a newcomer meets first. README.md, the top-level *.md and docs/.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function vocabulary(): CommandVocabulary {
  const scripts = new Set(Object.keys((JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts));
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const root = program({ stdout: sink, stderr: sink, env: {} }, () => {});
  const globalOptions = new Set([...root.options.map((o) => o.long ?? ''), '--help', '--version']);
  return { scripts, cli: cliCommands(), globalOptions };
}

describe('documentation (README.md, docs/)', () => {
  const docs = readDocs(ROOT);

  it('has the front page and the reference in docs/', () => {
    const paths = new Set(docs.map((d) => d.path));
    for (const file of ['README.md', 'CHANGELOG.md', 'SECURITY.md', 'docs/deploy.md', 'docs/routing.md', 'docs/syncevent.md', 'docs/webhooks.md', 'docs/operations.md', 'docs/troubleshooting.md', 'docs/limits.md', 'docs/design.md', 'docs/benchmarks.md']) {
      assert.ok(paths.has(file), `${file} exists`);
    }
    const readme = docs.find((d) => d.path === 'README.md')!.text;
    assert.ok(readme.split('\n').length <= 250, `README.md is a front page of at most about 250 lines, not ${readme.split('\n').length}`);
    for (const doc of docs.filter((d) => d.path.startsWith('docs/'))) assert.ok(readme.includes(`(${doc.path})`), `README.md links ${doc.path} under "Where to go next"`);
  });

  it('every relative link names a file of the repository, and every anchor a heading in it', () => {
    assert.deepEqual(checkLinks(ROOT, docs), []);
  });

  it('every `npm run …` and `postload …` shown exists (package.json scripts, the CLI\'s commands and options)', () => {
    assert.deepEqual(checkCommands(docs, vocabulary()), []);
  });

  it('cites only files the repository contains and public documentation, never a path outside it', () => {
    const sources = ['test/fixtures/SOURCES.md', 'test/fixtures/dbt-cloud/SOURCES.md'].map((path) => ({ path, text: readFileSync(`${ROOT}${path}`, 'utf8') }));
    for (const doc of [...docs, ...sources]) {
      assert.doesNotMatch(doc.text, /\/work\/|\.\.\/shared\/|shared\/docs\/|wire-formats/, `${doc.path} cites a file the repository does not contain`);
    }
  });

  describe('the checks fail on broken docs', () => {
    const page = (text: string, path = 'docs/page.md'): Doc[] => [{ path, text }];

    it('a link to a missing file, a missing anchor, an anchor into a non-Markdown file', () => {
      const problems = checkLinks(ROOT, page('See [a](missing.md), [b](deploy.md#no-such-heading), [c](../package.json#scripts), [ok](deploy.md).\n'));
      assert.equal(problems.length, 3, problems.join('\n'));
      assert.match(problems[0]!, /docs\/missing\.md does not exist/);
      assert.match(problems[1]!, /no heading with the anchor #no-such-heading/);
      assert.match(problems[2]!, /not a Markdown file/);
    });

    it('links inside code are not links; a same-page anchor is checked against the page', () => {
      assert.deepEqual(checkLinks(ROOT, page('# Title\n\n`[x](nowhere.md)`\n\n```md\n[y](nowhere.md)\n```\n\n[t](#title)\n', 'README.md')), []);
      assert.equal(checkLinks(ROOT, page('# Title\n\n[t](#other)\n', 'README.md')).length, 1);
    });

    it('an unknown script, command or option, in a code block or a code span', () => {
      const problems = checkCommands(page('Run `npm run nope`.\n\n```sh\nnpx postload frobnicate\nnpx postload replay --dry-run \\\n  --nonsense\n```\n\nThen `postload send fivetran --bogus`.\n'), vocabulary());
      assert.equal(problems.length, 4, problems.join('\n'));
      assert.match(problems[0]!, /no script "nope"/);
      assert.match(problems[1]!, /no command "frobnicate"/);
      assert.match(problems[2]!, /"replay" has no option --nonsense/);
      assert.match(problems[3]!, /"send" has no option --bogus/);
    });

    it("a subcommand's options are its own and its command's: connect airbyte has no --account", () => {
      const problems = checkCommands(page('```sh\nnpx postload connect dbt-cloud --account 1 --job 2 --dry-run --ingest-url U\nnpx postload connect airbyte --workspace W --account\n```\n'), vocabulary());
      assert.deepEqual(problems.length, 1, problems.join('\n'));
      assert.match(problems[0]!, /"connect airbyte" has no option --account/);
    });

    it('real commands, global options and prose that merely names postload pass', () => {
      const text = '`npm start`, `npm test`, `npm run build`, `npx postload --help`, `postload replay --dry-run --project p`, the `postload-processor` service, `postload`\n\n```sh\ngcloud functions logs read postload-processor --region R   # postload --nonsense in a comment\n```\n';
      assert.deepEqual(checkCommands(page(text), vocabulary()), []);
    });
  });

  it('computes anchors as GitHub does', () => {
    const slugs = anchors('# The `postload` command\n## Why did a dbt job not start? `postload events`, `postload event ID`\n## Processing: dbt Cloud, Slack, audit trail\n## Notes\n## Notes\n');
    assert.deepEqual([...slugs], ['the-postload-command', 'why-did-a-dbt-job-not-start-postload-events-postload-event-id', 'processing-dbt-cloud-slack-audit-trail', 'notes', 'notes-1']);
  });
});
