import assert from 'node:assert/strict';
import { renderRunFailure } from '../../../../functions/sweep/runs/messages.js';
import type { FollowedRun } from '../../../../functions/processor/store/followed-run.js';

// The sweep's alert for a followed run (Cloud Run, Airflow) that did not succeed: everything a
// vendor or a target controls is text, never markup, and is escaped exactly once.

const CONSOLE = 'https://console.cloud.google.com';

function failedRun(href = `${CONSOLE}/composer/run`): FollowedRun {
  return {
    schemaVersion: 1,
    target: { kind: 'airflow', id: 'nightly' },
    label: 'Airflow DAG nightly',
    actionId: 'airflow-nightly',
    route: 'orders',
    fingerprint: 'f',
    state: 'ended',
    runId: 'manual__a&b<c>',
    href,
    triggeredAt: '2026-12-08T01:00:00.000Z',
    outcome: { status: 'failed', startedAt: null, finishedAt: null, durationSeconds: 12, errorMessage: 'row <!channel> & <https://evil.example|Re-authenticate>', targetStatus: 'failed', observedBy: 'sweep', recordedAt: '2026-12-08T01:01:00.000Z' },
    origin: { eventId: 'e'.repeat(32), source: 'fivetran', type: 'sync.succeeded', connectorId: 'c1', connectorName: '<!here> orders', syncId: 's1', occurredAt: '2026-12-08T00:59:00.000Z' },
    covers: [],
    logged: false,
    webhook: 'SLACK_WEBHOOK_URL',
    alert: null,
    checks: 3,
    lastCheckedAt: '2026-12-08T01:01:00.000Z',
    lastError: null,
    nextCheckAt: null,
    createdAt: '2026-12-08T01:00:00.000Z',
  };
}

const blockTexts = (message: ReturnType<typeof renderRunFailure>) => JSON.stringify(message.blocks);

describe('sweep/runs/messages: the failed-run alert', () => {
  it('links the run on an allowed origin with its id escaped once (a & shows as &amp;, not &amp;amp;)', () => {
    const text = blockTexts(renderRunFailure(failedRun(), [CONSOLE]));
    assert.ok(text.includes(`<${CONSOLE}/composer/run|run manual__a&amp;b&lt;c&gt;>`), text);
    assert.ok(!text.includes('&amp;amp;'), text);
  });

  it('names the load without letting its connector name mention anyone, and shows the error as escaped text', () => {
    const message = renderRunFailure(failedRun(), [CONSOLE]);
    const text = blockTexts(message) + message.text;
    assert.ok(!text.includes('<!here>') && !text.includes('<!channel>'), text);
    assert.ok(!text.includes('<https://evil.example'), text);
    assert.ok(text.includes('&lt;!here&gt; orders'), text);
  });

  it('does not link a run whose address is not on an allowed origin', () => {
    const text = blockTexts(renderRunFailure(failedRun('https://evil.example/run'), [CONSOLE]));
    assert.ok(!text.includes('evil.example/run'), text);
    assert.ok(text.includes('run manual__a&amp;b&lt;c&gt;'), text);
  });
});
