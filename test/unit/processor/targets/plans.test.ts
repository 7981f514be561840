import assert from 'node:assert/strict';
import { checkTargets } from '../../../../functions/processor/planning/check-targets.js';
import type { RoutingConfig } from '../../../../functions/processor/planning/routing.js';
import { airflowActionId, dagRunId } from '../../../../functions/processor/targets/airflow.js';
import { CLOUD_RUN_OVERRIDE_LIMITS, cloudRunKind } from '../../../../functions/processor/targets/cloud-run.js';
import { httpKind, MAX_HTTP_BODY_BYTES } from '../../../../functions/processor/targets/http.js';
import { syncEvent } from '../../../support/sync-event-fixtures.js';

// The pure side of the run-target kinds (issue 28): an override the target API would refuse
// is a problem of the planned run (a permanent, alerted error, nothing called) found before
// any call, and the start-up checks name each routing mistake by its field.

const JOB = 'projects/p-demo/locations/europe-west1/jobs/dbt-core';
const event = syncEvent({ connector: { id: 'stripe', name: 'stripe_prod' } });

describe('run-target kinds: plans and start-up checks (issue 28)', () => {
  it('Cloud Run: overrides within the API\'s limits plan a run; beyond them (args, env value size) the run has a problem and waits for nothing', () => {
    const fine = cloudRunKind.plan({ job: JOB, args: ['build', '--select', 'source:{{connector.name}}+'], env: { TARGET: 'prod' } }, 'core', event);
    assert.equal(fine.problem, undefined);
    assert.deepEqual(fine.options, { args: ['build', '--select', 'source:stripe_prod+'], env: [{ name: 'TARGET', value: 'prod' }] });
    const tooMany = cloudRunKind.plan({ job: JOB, args: Array.from({ length: CLOUD_RUN_OVERRIDE_LIMITS.maxArgs + 1 }, () => 'x') }, 'core', event);
    assert.match(tooMany.problem ?? '', /1001 args: Cloud Run takes at most 1000/);
    assert.equal(tooMany.policy, 'queue', 'a run that cannot start takes no part in a batch');
    const big = cloudRunKind.plan({ job: JOB, env: { VARS: 'x'.repeat(CLOUD_RUN_OVERRIDE_LIMITS.maxEnvValueBytes + 1) } }, 'core', event);
    assert.match(big.problem ?? '', /env VARS is 32769 bytes: Cloud Run takes at most 32768/);
    const bad = cloudRunKind.plan({ job: JOB, args: ['--select', 'source:{{connector.name}}+'] }, 'core', syncEvent({ connector: { id: 'stripe', name: 'stripe --vars {a: 1}' } }));
    assert.match(bad.problem ?? '', /connector\.name/);
  });

  it('HTTP: a body past postload\'s limit is a problem; Airflow: the DAG run id is derived from the event and the action', () => {
    const huge = httpKind.plan({ name: 'refresh', url: 'https://bi.example/refresh', signingSecret: 'env:S', body: { blob: 'x'.repeat(MAX_HTTP_BODY_BYTES) } }, 'r', event);
    assert.match(huge.problem ?? '', /postload sends at most 262144/);
    const api = 'https://composer.example/api/v1';
    assert.equal(dagRunId(event.id, airflowActionId({ api, dagId: 'dbt_build' })), `postload-${event.id}-${airflowActionId({ api, dagId: 'dbt_build' })}`);
  });

  it('start-up: a join names exactly one target and no template; an unknown template field, a timeout Cloud Run cannot take, and one HTTP call name used for two calls are named by field', () => {
    const config = {
      routes: [
        { name: 'a', match: { source: 'fivetran' }, cloudRunJobs: [{ job: JOB, args: ['{{connector.nickname}}'], timeout: 'P8D' }], httpCalls: [{ name: 'refresh', url: 'https://bi.example/a', signingSecret: 'env:S' }] },
        { name: 'b', match: { source: 'airbyte' }, httpCalls: [{ name: 'refresh', url: 'https://bi.example/b', signingSecret: 'env:S' }] },
      ],
      joins: [
        { name: 'two', within: 'PT1H', upstreams: [{ name: 'x', match: { source: 'fivetran' } }], dbtJob: { jobId: 1 }, cloudRunJob: { job: JOB } },
        { name: 'templated', within: 'PT1H', upstreams: [{ name: 'x', match: { source: 'fivetran' } }], cloudRunJob: { job: JOB, args: ['{{connector.id}}'] } },
      ],
    } as unknown as RoutingConfig;
    const problems = checkTargets(config).map((p) => `${p.pointer} ${p.message}`);
    const expect = (pattern: RegExp) => assert.ok(problems.some((p) => pattern.test(p)), `${pattern} in\n${problems.join('\n')}`);
    expect(/^\/routes\/0\/cloudRunJobs\/0\/args\/0 .*connector\.nickname/);
    expect(/^\/routes\/0\/cloudRunJobs\/0\/timeout is "P8D": Cloud Run allows a task timeout of at most 168 hours/);
    expect(/^\/routes\/1\/httpCalls\/0 names HTTP call "refresh" differently from \/routes\/0\/httpCalls\/0/);
    expect(/^\/joins\/0 names dbtJob and cloudRunJob: a join starts exactly one target/);
    expect(/^\/joins\/1\/cloudRunJob\/args\/0 holds a template/);
  });
});
