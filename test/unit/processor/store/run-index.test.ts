import assert from 'node:assert/strict';
import { Timestamp } from '@google-cloud/firestore';
import { runKey, startedRunFields } from '../../../../functions/processor/store/run-index.js';
import type { ActionRecord } from '../../../../functions/processor/store/event-store.js';

function action(fields: Partial<ActionRecord>): ActionRecord {
  return { kind: 'dbt', target: '101', status: 'succeeded', attempts: 1, requests: 1, claimedBy: null, leaseUntil: null, notBefore: null, uncertain: false, firstAttemptAt: null, lastAttemptAt: null, completedAt: null, lastError: null, errors: [], requestLog: [], ...fields };
}

describe('processor/store: the runs an audit record lists (run-index)', () => {
  it('lists every run its actions started or found started, of any kind, and when the newest was started', () => {
    const fields = startedRunFields({
      'dbt-job-101': action({ runId: 70000001, completedAt: Timestamp.fromMillis(2_000) }),
      'cloud-run-x': action({ kind: 'cloud-run', target: 'projects/p/locations/r/jobs/dbt', runId: 'projects/p/locations/r/jobs/dbt/executions/dbt-abc', recovered: true, completedAt: Timestamp.fromMillis(5_000) }),
      slack: action({ kind: 'slack', target: 'SLACK_WEBHOOK_URL', completedAt: Timestamp.fromMillis(9_000) }),
    });
    assert.deepEqual(fields, {
      startedRuns: ['dbt-cloud/101/70000001', 'cloud-run/projects/p/locations/r/jobs/dbt/projects/p/locations/r/jobs/dbt/executions/dbt-abc'],
      runStartedAt: Timestamp.fromMillis(5_000),
    });
  });

  it('lists nothing for actions that started no run: covered, coalesced, failed, still pending, or messages', () => {
    assert.deepEqual(
      startedRunFields({
        'dbt-job-1': action({ busy: { outcome: 'coalesced', runId: 5 }, completedAt: Timestamp.fromMillis(1) }),
        'dbt-job-2': action({ status: 'failed', completedAt: Timestamp.fromMillis(1) }),
        'dbt-job-3': action({ status: 'pending', runId: null }),
        slack: action({ kind: 'slack', target: 'X', completedAt: Timestamp.fromMillis(1) }),
      }),
      {},
    );
    assert.equal(runKey('airflow', 'https://composer/api/v1#dag', 'postload-abc'), 'airflow/https://composer/api/v1#dag/postload-abc');
  });
});
