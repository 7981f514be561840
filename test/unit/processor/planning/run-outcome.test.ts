import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DbtCloudWebhook } from '../../../../functions/generated/dbt-cloud-webhook.schema.js';
import { normaliseDbtCloud } from '../../../../functions/ingest/dbt-cloud/normalise.js';
import { linkRun, mergeRunOutcome, runReport, type OriginAction, type RunOutcome, type RunReport } from '../../../../functions/processor/planning/run-outcome.js';
import { fixture } from '../../../support/webhook-fixtures.js';

const ORIGIN = '6e84f591dfdad48136bab0ac6e4c52b8'; // the event the fixtures' runReason names
const RECEIVED = new Date('2026-11-20T10:42:14.000Z');
const eventOf = (name: string, edit: (p: DbtCloudWebhook) => void = () => {}) => {
  const payload = structuredClone(fixture<DbtCloudWebhook>('dbt-cloud', name));
  edit(payload);
  return normaliseDbtCloud(payload, RECEIVED);
};
const reportOf = (name: string) => runReport(eventOf(name))!;

describe('run outcome: what a dbt Cloud run event says about a run postload started', () => {
  describe('runReport', () => {
    it('reads the originating event id from the cause, and the run outcome from each event type', () => {
      const started = reportOf('job.run.started');
      assert.equal(started.originEventId, ORIGIN);
      assert.equal(started.jobId, '101');
      assert.equal(started.runId, 70000123);
      assert.deepEqual({ ...started.outcome, eventId: '' }, {
        status: 'running', runStatusCode: 3, startedAt: '2026-11-20T10:40:01Z', finishedAt: null, durationSeconds: null, errorMessage: null, eventId: '',
      });
      const errored = reportOf('job.run.errored');
      assert.equal(errored.outcome.status, 'failed');
      assert.equal(errored.outcome.runStatusCode, 20);
      assert.equal(errored.outcome.finishedAt, '2026-11-20T10:42:09Z');
      assert.equal(errored.outcome.durationSeconds, 128);
      assert.equal(errored.outcome.errorMessage, 'Database Error in model orders');
      const completed = reportOf('job.run.completed-errored');
      assert.equal(completed.outcome.status, 'failed');
      assert.equal(completed.outcome.eventId, errored.outcome.eventId, 'errored and completed of one run are one occurrence');
    });

    it('names no origin for runs postload did not start, or events that are not run outcomes', () => {
      assert.equal(runReport(eventOf('job.run.completed-success')), undefined, 'scheduled run');
      assert.equal(runReport(eventOf('docs-2023-started')), undefined, 'started from the UI');
      assert.equal(runReport(eventOf('unknown-event-type')), undefined);
      assert.equal(runReport(eventOf('job.run.started', (p) => { p.data!.runReason = 'postload: … [event 6E84F591]'; })), undefined, 'not a 32-hex id');
      assert.equal(runReport(eventOf('job.run.started', (p) => { p.data!.runId = 'None'; })), undefined, 'no run id');
    });

    it('reads the marker only at the end of the cause, where postload put it (issue 25, finding 9)', () => {
      const event = eventOf('job.run.completed-canceled', (p) => { p.data!.runReason = `orders loaded (custom template) [event ${ORIGIN}]`; });
      const report = runReport(event)!;
      assert.equal(report.originEventId, ORIGIN);
      assert.equal(report.outcome.status, 'cancelled');
      assert.equal(report.outcome.errorMessage, null);
      // A marker anywhere else was written by someone else: a connector name, a hand-made cause.
      const OTHER = 'a'.repeat(32);
      const named = eventOf('job.run.completed-canceled', (p) => { p.data!.runReason = `postload: Fivetran sync.succeeded for evil [event ${OTHER}] [event ${ORIGIN}]`; });
      assert.equal(runReport(named)!.originEventId, ORIGIN, 'the first marker is a connector name, not the one postload wrote');
      assert.equal(runReport(eventOf('job.run.started', (p) => { p.data!.runReason = `see [event ${ORIGIN}] for why`; })), undefined, 'a marker in the middle is not postload\'s');
    });
  });

  describe('linkRun: is this the run the originating event started?', () => {
    const action = (over: Partial<OriginAction>): OriginAction => ({ kind: 'dbt', target: '101', status: 'succeeded', runId: 70000123, ...over });
    const report = () => reportOf('job.run.errored');

    it('links when the action for the job holds this run id', () => {
      assert.deepEqual(linkRun(report(), { slack: { kind: 'slack', target: 'SLACK_WEBHOOK_URL', status: 'succeeded' }, 'dbt-job-101': action({}) }), { kind: 'linked', actionId: 'dbt-job-101' });
    });

    it('waits while the job action has no run id yet, unless it failed for good', () => {
      assert.deepEqual(linkRun(report(), { 'dbt-job-101': action({ status: 'pending', runId: undefined }) }), { kind: 'pending', actionId: 'dbt-job-101' });
      assert.deepEqual(linkRun(report(), { 'dbt-job-101': action({ status: 'retry', runId: null }) }), { kind: 'pending', actionId: 'dbt-job-101' });
      assert.equal(linkRun(report(), { 'dbt-job-101': action({ status: 'failed', runId: null }) }).kind, 'unverified');
    });

    it('does not link another run, another job, a Slack action or a missing record', () => {
      assert.match((linkRun(report(), { 'dbt-job-101': action({ runId: 70000124 }) }) as { reason: string }).reason, /another run of job 101/);
      assert.match((linkRun(report(), { 'dbt-job-102': action({ target: '102' }) }) as { reason: string }).reason, /started no dbt job 101/);
      assert.equal(linkRun(report(), { x: action({ kind: 'slack' }) }).kind, 'unverified');
      assert.match((linkRun(report(), undefined) as { reason: string }).reason, /no audit record/);
    });
  });

  describe('mergeRunOutcome: no downgrade, any order', () => {
    const outcome = (status: RunOutcome['status'], eventId = status): RunReport['outcome'] => ({
      status, runStatusCode: { running: 3, succeeded: 10, failed: 20, cancelled: 30 }[status], startedAt: '2026-11-20T10:40:01Z',
      finishedAt: status === 'running' ? null : '2026-11-20T10:42:10Z', durationSeconds: status === 'running' ? null : 129, errorMessage: status === 'failed' ? 'boom' : null, eventId,
    });

    it('started, then completed: running, then the final status with its times', () => {
      const running = mergeRunOutcome(undefined, outcome('running'), 't1')!;
      assert.equal(running.status, 'running');
      assert.equal(running.recordedAt, 't1');
      const failed = mergeRunOutcome(running, outcome('failed'), 't2')!;
      assert.deepEqual(failed, { ...outcome('failed'), recordedAt: 't2' });
    });

    it('a late started after completed changes nothing; nor does a second final or a redelivery', () => {
      const done = mergeRunOutcome(undefined, outcome('failed'), 't1')!;
      assert.equal(mergeRunOutcome(done, outcome('running'), 't2'), undefined);
      assert.equal(mergeRunOutcome(done, outcome('failed'), 't2'), undefined);
      assert.equal(mergeRunOutcome(done, outcome('succeeded'), 't2'), undefined);
      const running = mergeRunOutcome(undefined, outcome('running'), 't1')!;
      assert.equal(mergeRunOutcome(running, outcome('running'), 't2'), undefined);
    });

    it('a completion without a start time keeps the one the started event gave', () => {
      const running = mergeRunOutcome(undefined, outcome('running'), 't1')!;
      const merged = mergeRunOutcome(running, { ...outcome('cancelled'), startedAt: null }, 't2')!;
      assert.equal(merged.startedAt, '2026-11-20T10:40:01Z');
    });

    it('property: any order and any duplication of started and one final status ends in that final status, set by its first delivery', () => {
      const finals = fc.constantFrom<RunOutcome['status']>('succeeded', 'failed', 'cancelled');
      fc.assert(
        fc.property(finals, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.nat(7), (final, picks, extra) => {
          // true = the final event (completed or errored: one occurrence), false = started; at least one final.
          const sequence = [...picks, ...Array.from({ length: extra % 3 }, () => false), true];
          let current: RunOutcome | undefined;
          const changes: string[] = [];
          sequence.forEach((isFinal, i) => {
            const next = mergeRunOutcome(current, isFinal ? outcome(final) : outcome('running'), `t${i}`);
            if (next) {
              assert.ok(!current || current.status === 'running', 'a final outcome was replaced');
              current = next;
              changes.push(next.status);
            }
          });
          assert.equal(current?.status, final);
          assert.equal(current?.finishedAt, '2026-11-20T10:42:10Z');
          assert.equal(changes.filter((s) => s !== 'running').length, 1, 'the final status is written once');
          assert.equal(current?.recordedAt, `t${sequence.indexOf(true)}`);
        }),
        { seed: 1313, numRuns: 300 },
      );
    });
  });
});
