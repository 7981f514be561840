import assert from 'node:assert/strict';
import { decideBusy, observeRun, recordTriggered } from '../../../../functions/processor/planning/coalesce.js';
import { activeRunsFrom, activeRunsQuery, runNews } from '../../../../functions/processor/planning/dbt-observations.js';
import { slotFor, slotTrackingRun, withSlot } from '../../../../functions/processor/planning/job-state.js';
import { syncEvent } from '../../../support/sync-event-fixtures.js';

const NOW = new Date('2026-05-22T09:41:00.000Z');

describe('processor/planning/dbt-observations', () => {
  it('asks list-runs for the job\'s queued, starting and running runs, newest first, a full page', () => {
    const query = new URLSearchParams(activeRunsQuery('70403103936004'));
    assert.deepEqual(Object.fromEntries(query), { job_definition_id: '70403103936004', status__in: '[1,2,3]', order_by: '-id', limit: '100' });
  });

  it('reads the runs and their statuses from a list-runs answer, ignoring what it cannot read', () => {
    const observed = activeRunsFrom({
      data: [
        { id: 3, status: 1, job_definition_id: 42 },
        { id: 2, status: 3 },
        { id: 1, status: 99 },
        { id: '0', status: 2 },
      ],
      status: { code: 200, is_success: true },
    });
    assert.deepEqual([...observed.runs], [[3, 'queued'], [2, 'running']]);
    assert.throws(() => activeRunsFrom({ status: { code: 200 } }), /no "data" array/);
    assert.throws(() => activeRunsFrom(null), /no "data" array/);
  });

  it('a run event from dbt Cloud updates the slot tracking that run, so the next decision needs no confirmation', () => {
    const job = { jobId: 42 };
    const slot = recordTriggered(slotFor(undefined, job), 'a'.repeat(32), 4711, NOW);
    const doc = withSlot(undefined, '42', slot, NOW);
    const started = syncEvent({
      source: 'dbt-cloud',
      type: 'transformation.started',
      vendorEvent: 'job.run.started',
      connector: { id: '42', name: 'Nightly', type: null },
      occurredAt: '2026-05-22T09:42:00.000Z',
      sync: { status: 'running' },
      transformation: { jobId: '42', jobName: 'Nightly', runId: '4711' },
    });
    const news = runNews(started);
    assert.deepEqual(news, { jobId: '42', runId: 4711, status: 'running', at: new Date('2026-05-22T09:42:00.000Z') });
    const tracked = slotTrackingRun(doc, news!.runId);
    assert.equal(tracked, slot);
    const updated = observeRun(tracked!, news!.runId, news!.status, news!.at);
    const decision = decideBusy('coalesce', updated, { eventId: 'b'.repeat(32), now: new Date('2026-05-22T09:43:00.000Z'), leaseMs: 120_000, listLagMs: 60_000 });
    assert.equal(decision.kind, 'trigger', 'a running run gets a new one under coalesce, without asking dbt Cloud');
    assert.equal(slotTrackingRun(doc, 1), undefined);
  });

  it('events that are not dbt Cloud run events carry no run news', () => {
    assert.equal(runNews(syncEvent()), undefined);
    const noRun = syncEvent({ source: 'dbt-cloud', type: 'transformation.failed', vendorEvent: 'job.run.errored', connector: { id: '42' }, sync: { status: 'failed' }, transformation: { jobId: '42', jobName: null, runId: null } });
    assert.equal(runNews(noRun), undefined);
  });
});
