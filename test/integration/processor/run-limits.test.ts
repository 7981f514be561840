import assert from 'node:assert/strict';
import { triggerRequests } from '../../../functions/local/fake-dbt-cloud.js';
import { TransientError } from '../../../functions/processor/errors.js';
import type { TargetLeaseDoc } from '../../../functions/processor/planning/target-state.js';
import type { SyncEvent } from '../../../functions/shared/sync-event.js';
import { processorHarness } from '../../support/processor-harness.js';
import { pubSubCloudEvent, syncEvent } from '../../support/sync-event-fixtures.js';

// Issue 25 finding 6 on the emulator: a job's run limits stop runs, every event is still
// recorded, and the default webhook hears about it once per UTC day, under coalesce (the
// batch's holder decides) and under queue (each run reserved on the lease document).

const CAPPED = 801;
const SPACED = 802;
const QUEUED = 803;

const ROUTING = {
  routes: [
    { name: 'capped', match: { source: 'fivetran', connectorId: { glob: 'capped-*' } }, dbtJobs: [{ jobId: CAPPED, limits: { maxRunsPerDay: 1 } }], slack: { notify: [] } },
    { name: 'spaced', match: { source: 'fivetran', connectorId: 'spaced' }, dbtJobs: [{ jobId: SPACED, limits: { minInterval: 'PT1H' } }], slack: { notify: ['sync.succeeded'] } },
    { name: 'queued', match: { source: 'fivetran', connectorId: 'queued' }, dbtJobs: [{ jobId: QUEUED, onBusy: 'queue', limits: { maxRunsPerDay: 2 } }], slack: { notify: [] } },
  ],
};

describe('run limits (issue 25 finding 6) against the Firestore emulator', function () {
  this.timeout(60_000);
  const h = processorHarness({ routing: ROUTING, token: 'dbtc_limits', webhookPath: '/services/T/B/limits', prefix: 'limits-', env: { COALESCE_WINDOW_MS: '200' } });
  const { dbt, slack, processor, audit } = h;
  const runsOf = (jobId: number) => triggerRequests(dbt).filter((r) => r.url.includes(`/jobs/${jobId}/run/`)).length;
  const capAlerts = () => slack.requests.map((r) => JSON.stringify(r.json)).filter((t) => t.includes('reached its run cap'));
  const deliver = async (event: SyncEvent) => {
    for (let i = 0; i < 20; i++) {
      try {
        return await processor()(pubSubCloudEvent(event, `m-${event.id.slice(0, 8)}`));
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
      }
    }
    throw new Error('never acknowledged');
  };

  it('maxRunsPerDay under coalesce: once reached, loads start nothing, are recorded as capped, and the day\'s alert goes out once', async () => {
    await deliver(syncEvent({ connector: { id: 'capped-1', name: 'c1' } }));
    assert.equal(runsOf(CAPPED), 1);
    // The run finishes, so only the cap can stop the next one.
    dbt.setStatus(dbt.runs[0]!.id, 10);
    const later = Array.from({ length: 4 }, (_, i) => syncEvent({ connector: { id: `capped-${i + 2}`, name: `c${i + 2}` } }));
    for (const event of later) await deliver(event);
    assert.equal(runsOf(CAPPED), 1, 'no second run today');
    for (const event of later) {
      const record = await audit(event.id);
      assert.equal(record.status, 'processed', 'every event is recorded and acknowledged');
      const busy = record.actions[`dbt-job-${CAPPED}`]!.busy as { outcome: string; reason?: string; holder?: string };
      assert.ok(busy.outcome === 'capped' || busy.outcome === 'joined', busy.outcome);
      if (busy.outcome === 'capped') assert.match(busy.reason!, /at most 1 run a day \(1 started today, UTC\)/);
    }
    const alerts = capAlerts();
    assert.equal(alerts.length, 1, 'one alert per job per day');
    assert.match(alerts[0]!, /dbt Cloud job 801 reached its run cap: at most 1 run a day/);
    const lease = (await h.db.collection(h.env.JOB_STATE_COLLECTION!).doc(`dbt-cloud-${CAPPED}`).get()).data() as TargetLeaseDoc;
    assert.equal(lease.capAlertedOn, new Date().toISOString().slice(0, 10));
  });

  it('minInterval: a load within the interval starts nothing, and its Slack message and record say until when', async () => {
    await deliver(syncEvent({ connector: { id: 'spaced', name: 'spaced' } }));
    dbt.setStatus(dbt.runs[0]!.id, 10);
    const second = syncEvent({ connector: { id: 'spaced', name: 'spaced' } });
    await deliver(second);
    assert.equal(runsOf(SPACED), 1);
    const busy = (await audit(second.id)).actions[`dbt-job-${SPACED}`]!.busy as { outcome: string; until: string };
    assert.equal(busy.outcome, 'capped');
    assert.ok(Date.parse(busy.until) > Date.now() + 59 * 60_000, 'an hour after the first run');
    assert.match(JSON.stringify(slack.requests.map((r) => r.json)), /not started, run cap reached \(at most one run every PT1H/);
  });

  it('queue with maxRunsPerDay: runs reserved one commit at a time, never more than the cap, even delivered at once', async () => {
    const events = Array.from({ length: 6 }, () => syncEvent({ connector: { id: 'queued', name: 'q' } }));
    await Promise.all(events.map((event) => deliver(event)));
    assert.equal(runsOf(QUEUED), 2);
    const outcomes = await Promise.all(events.map(async (e) => (await audit(e.id)).actions[`dbt-job-${QUEUED}`]!));
    assert.equal(outcomes.filter((a) => a.runId != null).length, 2);
    assert.equal(outcomes.filter((a) => (a.busy as { outcome?: string } | undefined)?.outcome === 'capped').length, 4);
    assert.equal(capAlerts().length, 1);
  });

  it('start-up refuses a bad minInterval, and a job named with different limits, naming the field', () => {
    assert.throws(() => processor({ ROUTING_CONFIG: JSON.stringify({ routes: [{ name: 'a', match: { source: 'fivetran', connectorId: 'a' }, dbtJobs: [{ jobId: 1, limits: { minInterval: 'P1M' } }] }] }) }), /\/routes\/0\/dbtJobs\/0\/limits\/minInterval .*years or months/);
    assert.throws(
      () => processor({ ROUTING_CONFIG: JSON.stringify({ routes: [{ name: 'a', match: { source: 'fivetran', connectorId: 'a' }, dbtJobs: [{ jobId: 1, limits: { maxRunsPerDay: 2 } }] }, { name: 'b', match: { source: 'fivetran', connectorId: 'b' }, dbtJobs: [{ jobId: 1 }] }] }) }),
      /\/routes\/1\/dbtJobs\/0\/limits names dbt Cloud job 1 with other limits than \/routes\/0\/dbtJobs\/0/,
    );
  });
});
