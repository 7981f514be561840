import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FivetranWebhook } from '../../functions/generated/fivetran-webhook.schema.js';
import { normaliseFivetran } from '../../functions/ingest/fivetran/normalise.js';
import { validator } from '../../functions/shared/schemas.js';
import { attributesOf, type SyncEvent } from '../../functions/shared/sync-event.js';
import { readCodeFacts } from '../support/terraform-checks.js';
import { fixture } from '../support/webhook-fixtures.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The first ```json block after `marker` in the README. */
function jsonBlockAfter(marker: string): unknown {
  const start = README.indexOf(marker);
  assert.ok(start >= 0, `README has "${marker}"`);
  const block = /```json\n([\s\S]*?)\n```/.exec(README.slice(start));
  assert.ok(block, `a json block follows "${marker}"`);
  return JSON.parse(block[1]!);
}

describe('README', () => {
  it('shows the SyncEvent postload really publishes for its example, valid against the schema', () => {
    const shown = jsonBlockAfter('A failed Fivetran sync, as published:') as SyncEvent;
    const validate = validator<SyncEvent>('sync-event.v1');
    assert.ok(validate(shown), JSON.stringify(validate.errors));
    const actual = normaliseFivetran(fixture<FivetranWebhook>('fivetran', 'sync_end-failure_with_task'), new Date(shown.receivedAt));
    assert.deepEqual(shown, JSON.parse(JSON.stringify(actual)));
    assert.deepEqual(jsonBlockAfter('Its attributes'), attributesOf(actual));
  });

  it('documents every setting each function reads, in a settings table', () => {
    const { functions } = readCodeFacts(fileURLToPath(new URL('../../', import.meta.url)));
    for (const fn of functions) {
      for (const name of fn.settings) assert.match(README, new RegExp(`\\| \`${name}\` \\|`), `${fn.entryPoint} reads ${name}: not in a README settings table`);
    }
  });

  it('names the commands a new user needs', () => {
    for (const command of ['npm ci', 'npm test', 'npm start', 'npm run demo', 'terraform apply']) assert.ok(README.includes(command), command);
  });
});
