import assert from 'node:assert/strict';
import { eventTypes, OUTCOMES, sources, syncStatuses } from '../../../functions/cli/vocabulary.js';
import { closest } from '../../../functions/shared/closest.js';
import { loadSchema } from '../../../functions/shared/schemas.js';
import { runCli } from '../../support/run-cli.js';

// Option values are checked against the real vocabularies before anything is read: a word
// that can match nothing is refused (exit 2), naming the closest word and listing them all,
// instead of answering "no events".

describe('cli: option vocabularies', () => {
  it('closest: a typo, a wrong case or a swapped pair finds the word; a different word finds none', () => {
    assert.equal(closest('sync.fail', eventTypes()), 'sync.failed');
    assert.equal(closest('dbtjobs', ['name', 'match', 'dbtJobs', 'slack']), 'dbtJobs');
    assert.equal(closest('SUCCESFUL', ['SUCCESSFUL', 'FAILURE']), 'SUCCESSFUL');
    assert.equal(closest('sucess', ['success', 'errored']), 'success');
    assert.equal(closest('trasnformation.failed', eventTypes()), 'transformation.failed');
    assert.equal(closest('banana', eventTypes()), undefined);
    assert.equal(closest('x', ['y', 'z']), undefined);
    assert.equal(closest('X', ['x']), 'x');
  });

  it('the vocabularies are the SyncEvent schema\'s own lists', () => {
    const schema = loadSchema('sync-event.v1') as { properties: { type: { enum: string[] }; source: { enum: string[] } } };
    assert.deepEqual(eventTypes(), schema.properties.type.enum);
    assert.deepEqual(sources(), schema.properties.source.enum);
    assert.ok(syncStatuses().includes('failed') && !syncStatuses().includes(null as never));
  });

  const cases: Array<[string[], RegExp]> = [
    [['events', '--type', 'sync.fail'], /--type "sync.fail" is not a SyncEvent type\n  fix: did you mean --type sync.failed\? allowed: sync.queued, sync.started, .*, other/],
    [['events', '--status', 'succeded'], /--status "succeded" is not a sync status\n  fix: did you mean --status succeeded\?/],
    [['events', '--outcome', 'done'], new RegExp(`--outcome "done" is not a processor outcome\\n  fix: allowed: ${OUTCOMES.join(', ')}`)],
    [['events', '--source', 'fivetram'], /--source "fivetram" is not a source\n  fix: did you mean --source fivetran\?/],
    [['send', 'fivetran', '--url', 'http://127.0.0.1:9/fivetran', '--secret', 's', '--status', 'SUCCESFUL'], /--status "SUCCESFUL" is not a Fivetran sync_end status\n  fix: did you mean --status SUCCESSFUL\?/],
    [['send', 'airbyte', '--url', 'http://127.0.0.1:9/airbyte', '--secret', 's', '--event', 'schema-change'], /is not an Airbyte notification\n  fix: .*allowed: sync-succeeded, .*schema-propagated/],
  ];
  for (const [args, expected] of cases) {
    it(`postload ${args.join(' ')}: exit 2 before anything is read or sent`, async () => {
      const run = await runCli(args, {});
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, expected);
      assert.equal(run.stdout, '');
    });
  }

  it('a status given in another case is the same status', async () => {
    // Passes the vocabulary (then stops for want of a project): not a usage error.
    const run = await runCli(['events', '--status', 'FAILED', '--outcome', 'Processed'], { GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/credentials.json' });
    assert.notEqual(run.code, 2, run.stderr);
  });
});
