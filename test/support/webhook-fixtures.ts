import { readdirSync, readFileSync } from 'node:fs';

const ROOT = new URL('../fixtures/', import.meta.url);

export type FixtureSource = 'fivetran' | 'airbyte' | 'dbt-cloud';

/** A captured or documented vendor payload from test/fixtures/<source>/<name>.json, as raw text. */
export function fixtureText(source: FixtureSource, name: string): string {
  return readFileSync(new URL(`${source}/${name}.json`, ROOT), 'utf8').trim();
}

export function fixture<T = Record<string, unknown>>(source: FixtureSource, name: string): T {
  return JSON.parse(fixtureText(source, name)) as T;
}

export function fixtureNames(source: FixtureSource): string[] {
  return readdirSync(new URL(`${source}/`, ROOT))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}
