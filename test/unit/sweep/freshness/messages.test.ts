import assert from 'node:assert/strict';
import type { FreshnessRecord } from '../../../../functions/sweep/freshness/record.js';
import { renderNotice, type NoticeContext } from '../../../../functions/sweep/freshness/messages.js';
import type { Incident } from '../../../../functions/sweep/freshness/state-machine.js';

const HOUR = 3_600_000;
const T = Date.parse('2026-06-01T08:00:00Z');
const incident: Incident = { openedAt: T + 90 * 60_000, alertedAt: T + 95 * 60_000, state: 'failing', lastSuccessAt: T, reminders: 0 };
const record = (fields: Partial<FreshnessRecord> = {}): FreshnessRecord => ({
  schemaVersion: 1,
  source: 'fivetran',
  connectorId: 'abc',
  connectorName: '<!channel> <https://evil.example|Re-authenticate>',
  connectorType: null,
  destination: { id: null, name: null },
  state: 'failing',
  since: T,
  evaluatedAt: T,
  why: 'test',
  expectation: { kind: 'every', everyMs: HOUR, graceMs: HOUR / 2, source: 'routing', detail: 'routing file, freshness rule 1 (source "fivetran")' },
  expectedBy: T + HOUR,
  overdueAt: T + 90 * 60_000,
  nextChangeAt: null,
  nextCheckAt: null,
  lastSuccessAt: T,
  lastSuccessEventId: null,
  failuresSinceSuccess: 3,
  lastFailureAt: T + 2 * HOUR,
  lastError: 'password authentication failed for user <@U123> ```drop```',
  firstSeenAt: T,
  successTimes: [T],
  seenConnectorUpdate: null,
  pause: null,
  vendor: null,
  incident: { ...incident, id: `fivetran-abc@${incident.openedAt}` },
  outbox: [],
  updatedAt: T,
  ...fields,
});
const ctx = (fields: Partial<NoticeContext> = {}): NoticeContext => ({ record: record(), routedJobs: ['dbt job 101'], blockedJoins: [], jobsSince: [], cliRef: 'fivetran:abc', nowMs: T + 3 * HOUR, ...fields });

describe('freshness messages', () => {
  it('escape every vendor text (names, errors): no mention, no planted link survives', () => {
    const message = renderNotice({ kind: 'alert', key: 'k', incident }, ctx());
    // Everything Slack reads as mrkdwn: the fallback text and every block but the plain_text header.
    const all = JSON.stringify({ text: message.text, blocks: message.blocks.filter((b) => b.type !== 'header') });
    for (const raw of ['<!channel>', '<https://evil.example|', '<@U123>']) assert.ok(!all.includes(raw), `${raw} went through raw`);
    assert.match(all, /&lt;!channel&gt;/);
    assert.match(message.text, /is failing/);
    assert.match(all, /Failed syncs since\* 3/);
    assert.match(all, /snooze: `npx postload freshness pause fivetran:abc --for 1d`/);
  });

  it('an alert names the join it blocks and its dbt job; a recovery says how long, how many syncs were missed and what the dbt job did', () => {
    const alert = JSON.stringify(renderNotice({ kind: 'alert', key: 'k', incident: { ...incident, state: 'overdue' } }, ctx({ blockedJoins: [{ join: 'nightly', upstream: 'orders', jobId: 'dbt job 303', waitingSince: T }] })));
    assert.match(alert, /Join \*nightly\* is waiting on its upstream \*orders\* \(this connector\) since 2026-06-01T08:00:00Z: dbt job 303 is blocked/);
    assert.match(alert, /Routed dbt job 101 will not run until a successful sync arrives/);
    const recovery = renderNotice(
      { kind: 'recovery', key: 'r', incident, recoveredAt: T + 8 * HOUR, overdueForMs: 6.5 * HOUR, missedSyncs: 7 },
      ctx({ jobsSince: [{ jobId: 'dbt job 101', outcome: 'run 70000012 started for this sync' }] }),
    );
    assert.match(recovery.text, /recovered after 6h 30m overdue; 7 expected syncs were missed/);
    assert.match(JSON.stringify(recovery.blocks), /dbt job 101: run 70000012 started for this sync/);
    const unknown = JSON.stringify(renderNotice({ kind: 'recovery', key: 'r', incident, recoveredAt: T + 8 * HOUR, overdueForMs: HOUR, missedSyncs: 1 }, ctx()));
    assert.match(unknown, /1 expected sync was missed/);
    assert.match(unknown, /Routed dbt job 101: no run recorded for this sync yet/);
  });
});
