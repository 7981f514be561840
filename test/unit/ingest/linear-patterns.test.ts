import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkSync } from 'recheck';
import ts from 'typescript';

// Every regular expression the normalisers run on vendor text, found in their source, must be
// free of super-linear backtracking: issue 8 measured a quadratic classifier pattern blocking
// the event loop for 8.6 s on one 256 KB body. recheck (https://makenowjust-labs.github.io/recheck/)
// proves it per pattern, for exponential and polynomial blow-ups alike.
const FILES = [
  'functions/ingest/bounded-text.ts',
  'functions/ingest/airbyte/classify.ts',
  'functions/ingest/airbyte/normalise.ts',
  'functions/ingest/airbyte/slack-blocks.ts',
  'functions/ingest/fivetran/normalise.ts',
  'functions/ingest/fivetran/transformation.ts',
];

function regexLiterals(file: string): { source: string; flags: string }[] {
  const text = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
  assert.doesNotMatch(text, /new RegExp\(/, `${file} builds a pattern at run time: write it as a literal so it is checked here`);
  const found: { source: string; flags: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isRegularExpressionLiteral(node)) {
      const literal = node.text;
      const end = literal.lastIndexOf('/');
      found.push({ source: literal.slice(1, end), flags: literal.slice(end + 1) });
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return found;
}

describe('patterns run on vendor text', function () {
  this.timeout(120_000);

  it('finds the patterns it checks (the scan itself works)', () => {
    assert.ok(regexLiterals('functions/ingest/airbyte/slack-blocks.ts').length >= 3);
  });

  it('recheck flags the quadratic pattern issue 8 found (the checker itself works)', () => {
    assert.equal(checkSync('\\bschema\\b.*\\bpropagated\\b', 'i').status, 'vulnerable');
  });

  for (const file of FILES) {
    it(`${file}: every pattern is linear-time`, () => {
      for (const { source, flags } of regexLiterals(file)) {
        const diagnostics = checkSync(source, flags);
        assert.equal(diagnostics.status, 'safe', `/${source}/${flags}: ${JSON.stringify(diagnostics)}`);
      }
    });
  }
});
