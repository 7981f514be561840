import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FivetranWebhook } from '../../functions/generated/fivetran-webhook.schema.js';
import { normaliseFivetran } from '../../functions/ingest/fivetran/normalise.js';
import { validator } from '../../functions/shared/schemas.js';
import { attributesOf, type SyncEvent } from '../../functions/shared/sync-event.js';
import { readCodeFacts } from '../support/terraform-checks.js';
import { fixture } from '../support/webhook-fixtures.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const README = read('README.md');
const SYNCEVENT = read('docs/syncevent.md');
const SETTINGS = read('docs/settings.md');

/** The first ```json block after `marker` in docs/syncevent.md. */
function jsonBlockAfter(marker: string): unknown {
  const start = SYNCEVENT.indexOf(marker);
  assert.ok(start >= 0, `docs/syncevent.md has "${marker}"`);
  const block = /```json\n([\s\S]*?)\n```/.exec(SYNCEVENT.slice(start));
  assert.ok(block, `a json block follows "${marker}"`);
  return JSON.parse(block[1]!);
}

describe('README and the facts the docs show', () => {
  it('shows the SyncEvent postload really publishes for its example, valid against the schema', () => {
    const shown = jsonBlockAfter('A failed Fivetran sync, as published:') as SyncEvent;
    const validate = validator<SyncEvent>('sync-event.v1');
    assert.ok(validate(shown), JSON.stringify(validate.errors));
    const actual = normaliseFivetran(fixture<FivetranWebhook>('fivetran', 'sync_end-failure_with_task'), new Date(shown.receivedAt));
    assert.deepEqual(shown, JSON.parse(JSON.stringify(actual)));
    assert.deepEqual(jsonBlockAfter('Its attributes'), attributesOf(actual));
  });

  it('documents every setting each function reads, in a table of docs/settings.md', () => {
    const { functions } = readCodeFacts(fileURLToPath(new URL('../../', import.meta.url)));
    for (const fn of functions) {
      for (const name of fn.settings) assert.match(SETTINGS, new RegExp(`\\| \`${name}\` \\|`), `${fn.entryPoint} reads ${name}: not in a table of docs/settings.md`);
    }
  });

  it('names on the front page the commands a new user needs', () => {
    for (const command of ['npm ci', 'npm test', 'npm start', 'npm run demo', 'terraform apply']) assert.ok(README.includes(command), command);
  });
});
