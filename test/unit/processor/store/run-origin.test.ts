import assert from 'node:assert/strict';
import { Timestamp } from '@google-cloud/firestore';
import type { RunReport } from '../../../../functions/processor/planning/run-outcome.js';
import { originUpdate } from '../../../../functions/processor/store/run-origin.js';

const REPORT: RunReport = {
  originEventId: '6e84f591dfdad48136bab0ac6e4c52b8',
  jobId: '101',
  runId: 70000123,
  outcome: { status: 'failed', runStatusCode: 20, startedAt: '2026-11-20T10:40:01Z', finishedAt: '2026-11-20T10:42:10Z', durationSeconds: 129, errorMessage: 'Database Error in model orders', eventId: 'f'.repeat(32) },
};

function stored(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: REPORT.originEventId, source: 'fivetran', type: 'sync.succeeded', connectorId: 'assimilate_seem', connectorName: 'orders_pg', syncId: 'b4703f73',
    occurredAt: Timestamp.fromMillis(Date.parse('2026-11-20T10:39:00Z')), event: { sync: { finishedAt: '2026-11-20T10:38:58Z' } },
    actions: {
      'dbt-job-101': { kind: 'dbt', target: '101', status: 'succeeded', runId: 70000123, runHref: 'https://x/runs/70000123/' },
      slack: { kind: 'slack', target: 'SLACK_WEBHOOK_URL', status: 'succeeded' },
    },
    ...over,
  };
}

describe('processor/store/run-origin', () => {
  it('a verified run: the dbt action gains runOutcome, every other action and field is kept, and the load is named', () => {
    const { link, origin, fields } = originUpdate(REPORT, stored(), Date.parse('2026-11-20T10:42:14Z'));
    assert.deepEqual(link, { kind: 'linked', actionId: 'dbt-job-101' });
    const actions = fields!.actions as Record<string, Record<string, unknown>>;
    assert.deepEqual(actions['dbt-job-101'], { ...(stored().actions as Record<string, object>)['dbt-job-101'], runOutcome: { ...REPORT.outcome, recordedAt: '2026-11-20T10:42:14.000Z' } });
    assert.deepEqual(actions.slack, (stored().actions as Record<string, object>).slack);
    assert.deepEqual(Object.keys(fields!), ['actions'], 'only the actions map is written');
    assert.deepEqual(origin, {
      eventId: REPORT.originEventId, actionId: 'dbt-job-101', source: 'fivetran', type: 'sync.succeeded', connectorId: 'assimilate_seem',
      connectorName: 'orders_pg', syncId: 'b4703f73', syncAt: '2026-11-20T10:38:58Z', runHref: 'https://x/runs/70000123/',
    });
  });

  it('nothing to write when the outcome is already final; nothing at all when not linked', () => {
    const once = originUpdate(REPORT, stored(), 0);
    const again = originUpdate({ ...REPORT, outcome: { ...REPORT.outcome, status: 'running' } }, { ...stored(), ...once.fields }, 1);
    assert.equal(again.fields, undefined);
    assert.equal(again.link.kind, 'linked');
    const other = originUpdate({ ...REPORT, runId: 1 }, stored(), 0);
    assert.equal(other.fields, undefined);
    assert.equal(other.origin, undefined);
    assert.equal(originUpdate(REPORT, undefined, 0).link.kind, 'unverified');
  });

  it('cuts a long error and never writes a record over 1 MiB (skipped, with the reason)', () => {
    const long = originUpdate({ ...REPORT, outcome: { ...REPORT.outcome, errorMessage: 'e'.repeat(50_000) } }, stored(), 0);
    const outcome = (long.fields!.actions as Record<string, { runOutcome: { errorMessage: string } }>)['dbt-job-101']!.runOutcome;
    assert.ok(Buffer.byteLength(outcome.errorMessage) <= 4_000);
    const huge = originUpdate(REPORT, stored({ payloadJson: 'p'.repeat(1_048_000) }), 0);
    assert.equal(huge.fields, undefined);
    assert.match(huge.skipped ?? '', /exceed 1 MiB/);
    assert.equal(huge.link.kind, 'linked', 'still named in the alert');
  });
});
