import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixtureNames, type FixtureSource } from '../../support/webhook-fixtures.js';

// Every fixture says where it comes from (issue 9): a row of test/fixtures/SOURCES.md under
// its vendor's heading, naming it in the first column.
const sources = readFileSync(new URL('../../fixtures/SOURCES.md', import.meta.url), 'utf8');

function documented(vendor: FixtureSource): Set<string> {
  const section = sources.split(/^## /m).find((part) => part.startsWith(`${vendor[0]!.toUpperCase()}${vendor.slice(1)} `)) ?? '';
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.split(' | ', 1)[0]!;
    for (const match of firstCell.matchAll(/`([^`]+)`/g)) names.add(match[1]!);
  }
  return names;
}

describe('fixture provenance (test/fixtures/SOURCES.md)', () => {
  for (const vendor of ['fivetran', 'airbyte'] as const) {
    it(`names the origin of every ${vendor} fixture, and only of fixtures that exist`, () => {
      const rows = documented(vendor);
      const files = fixtureNames(vendor);
      assert.deepEqual(files.filter((name) => !rows.has(name)), [], 'fixtures without an origin');
      assert.deepEqual([...rows].filter((name) => !files.includes(name)), [], 'origins of fixtures that do not exist');
    });
  }
});
