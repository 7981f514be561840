import assert from 'node:assert/strict';
import { registrationsBody } from '../../../functions/status/registrations.js';

// The Webhooks view's HTML from what `postload connect --check` found (its browser test:
// test/integration/status/registrations.test.ts).
describe('status page: the Webhooks view', () => {
  const now = new Date('2026-12-08T01:00:00Z');
  const checkedAt = new Date('2026-12-08T00:58:00Z');

  it('puts differences first, each with its fix as code, and counts them', () => {
    const body = registrationsBody(
      {
        checkedAt,
        findings: [
          { vendor: 'fivetran', subject: 'account webhook wh_1', ok: true, details: ['active'] },
          { vendor: 'dbt-cloud', subject: 'account 70 webhook wsu_1', ok: false, details: ['inactive (dbt Cloud: <b>5 failures</b>)'], fix: 'postload connect dbt-cloud --account 70' },
        ],
        skipped: ['Airbyte: not checked (AIRBYTE_API_CLIENT_ID / AIRBYTE_API_CLIENT_SECRET not set)'],
      },
      now,
    ).value;
    assert.match(body, /1 difference from what postload expects\./);
    assert.ok(body.indexOf('dbt Cloud') < body.indexOf('Fivetran'), 'the difference comes first');
    assert.match(body, /<span class="badge bad">differs<\/span>/);
    assert.match(body, /<code>postload connect dbt-cloud --account 70<\/code>/);
    assert.ok(body.includes('&lt;b&gt;5 failures&lt;/b&gt;') && !body.includes('<b>'), 'vendor text escaped');
    assert.match(body, /<li>Airbyte: not checked/);
    assert.match(body, /Checked <time datetime="2026-12-08T00:58:00Z"[^>]*>2 min ago<\/time>/);
  });

  it('says why nothing was checked, and what to do', () => {
    const body = registrationsBody({ checkedAt, notChecked: 'no vendor API credentials are set, so there is nothing to check', fix: 'set FIVETRAN_API_KEY + FIVETRAN_API_SECRET' }, now).value;
    assert.match(body, /role="status">Not checked: no vendor API credentials are set/);
    assert.match(body, /Fix: <code>set FIVETRAN_API_KEY \+ FIVETRAN_API_SECRET<\/code>/);
    assert.doesNotMatch(body, /<table/);
    assert.match(registrationsBody(undefined, now).value, /Not checked: this page was started without the vendors' check/);
  });
});
