import assert from 'node:assert/strict';
import {
  busyLine,
  clock,
  joinFiredMessage,
  joinWaitingLine,
  joinWaitingMessage,
} from '../../../../functions/processor/planning/join-messages.js';
import type { JoinFiring, UpstreamFailure } from '../../../../functions/processor/planning/join-state.js';
import { linkPolicy } from '../../../../functions/processor/clients/slack-message.js';

const LINKS = linkPolicy('https://cloud.getdbt.com');

const NOW = new Date('2026-05-22T09:45:00.000Z');
const failure: UpstreamFailure = {
  eventId: 'f'.repeat(32),
  source: 'airbyte',
  connector: 'billing',
  occurredAt: '2026-05-22T09:40:12.000Z',
  message: 'connection refused\nat socket.connect (stack trace)',
  since: '2026-05-22T09:40:12.000Z',
  count: 1,
};
const firing: JoinFiring = {
  round: 3,
  firedAt: '2026-05-22T09:45:00.000Z',
  eventId: 'e'.repeat(32),
  upstreams: {
    salesforce: { eventId: '1'.repeat(32), source: 'fivetran', connector: 'sf_prod', occurredAt: '2026-05-22T09:12:00.000Z', countedAt: '2026-05-22T09:12:03.000Z' },
    billing: { eventId: '2'.repeat(32), source: 'airbyte', connector: 'billing <script>', occurredAt: '2026-05-21T23:58:00.000Z', countedAt: '2026-05-22T00:00:00.000Z' },
    ledger: { eventId: '3'.repeat(32), source: 'dbt-cloud', connector: 'ledger build', occurredAt: '2026-05-22T09:44:00.000Z', countedAt: '2026-05-22T09:45:00.000Z' },
  },
};

describe('processor/planning/join-messages', () => {
  it('the waiting line names the join, the upstream, its vendor, the time and the first line of the reason', () => {
    assert.equal(joinWaitingLine('finance mart', 'billing', failure, NOW), 'finance mart is waiting: billing (Airbyte) failed at 09:40 UTC — connection refused');
    assert.equal(joinWaitingLine('finance mart', 'billing', { ...failure, message: null }, NOW), 'finance mart is waiting: billing (Airbyte) failed at 09:40 UTC');
  });

  it('the waiting message escapes vendor text', () => {
    const message = joinWaitingMessage('finance mart', 'billing', { ...failure, message: '<!channel> refused' }, NOW);
    assert.ok(!message.text.includes('<!channel>'));
    assert.match(JSON.stringify(message.blocks), /&lt;!channel&gt; refused/);
  });

  // Vendor text is cut to fit Slack's limits; a cut inside a surrogate pair would leave
  // invalid UTF-8, which Slack refuses (400 invalid_payload) for good.
  it('long vendor text is cut without leaving half of a surrogate pair', () => {
    const strings = (value: unknown): string[] =>
      typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];
    // Both parities, so some cut lands between the two halves of a pair.
    for (const prefix of ['x', 'xy']) {
      const emoji = `${prefix}${'😀'.repeat(2_000)}`;
      const waiting = joinWaitingMessage('finance mart', 'billing', { ...failure, message: emoji }, NOW);
      const upstreams = { ...firing.upstreams, billing: { ...firing.upstreams.billing!, connector: emoji } };
      const fired = joinFiredMessage('finance mart', { ...firing, upstreams }, { label: 'dbt Cloud job 42', outcome: 'triggered', runId: 1 }, LINKS);
      for (const text of strings([waiting, fired])) assert.doesNotMatch(text, /\p{Cs}/u, 'a lone surrogate');
    }
  });

  it('the firing message lists every upstream with its vendor and time, the date when it is not today', () => {
    const message = joinFiredMessage('finance mart', firing, { label: 'dbt Cloud job 42', outcome: 'triggered', runId: 4711, href: 'https://cloud.getdbt.com/deploy/1/projects/2/runs/4711' }, LINKS);
    assert.equal(
      message.text,
      'finance mart: all 3 upstreams in, dbt Cloud job 42 started (run 4711): salesforce at 09:12 UTC, billing at 2026-05-21 23:58 UTC, ledger at 09:44 UTC',
    );
    const body = JSON.stringify(message.blocks);
    assert.match(body, /salesforce \(Fivetran, sf_prod\) succeeded at 09:12 UTC/);
    assert.match(body, /billing \(Airbyte, billing &lt;script&gt;\) succeeded at 2026-05-21 23:58 UTC/);
    assert.match(body, /ledger \(dbt Cloud, ledger build\) succeeded at 09:44 UTC/);
    assert.match(body, /<https:\/\/cloud.getdbt.com\/deploy\/1\/projects\/2\/runs\/4711\|run 4711>/);
    assert.match(body, /round 3/);
  });

  it('the firing message says when the job was coalesced, skipped, covered, capped or could not start', () => {
    const label = 'dbt Cloud job 42';
    assert.match(joinFiredMessage('m', firing, { label, outcome: 'coalesced', runId: 9 }, LINKS).text, /dbt Cloud job 42 coalesced into run 9, not started yet/);
    assert.match(joinFiredMessage('m', firing, { label, outcome: 'skipped', runId: 9 }, LINKS).text, /dbt Cloud job 42 skipped: run 9 is busy/);
    assert.match(joinFiredMessage('m', firing, { label, outcome: 'joined', busy: { outcome: 'joined', holder: 'abcdef12'.repeat(4), closesAt: NOW.toISOString() } }, LINKS).text, /dbt Cloud job 42: covered by the run event abcdef12 starts or joins/);
    assert.match(joinFiredMessage('m', firing, { label, outcome: 'capped', busy: { outcome: 'capped', reason: 'at most 2 runs a day', until: NOW.toISOString() } }, LINKS).text, /dbt Cloud job 42 not started: run cap reached \(at most 2 runs a day\)/);
    assert.match(joinFiredMessage('m', firing, { label, outcome: 'failed', error: 'HTTP 404: job not found' }, LINKS).text, /dbt Cloud job 42 could not be started: HTTP 404: job not found/);
  });

  it('the line for a run the event did not start names the run that covers the load, or why none started', () => {
    const label = 'dbt Cloud job 42';
    assert.equal(busyLine(label, { outcome: 'coalesced', runId: 4711, runStatus: 'queued' }, NOW), "dbt Cloud job 42: coalesced into run 4711 (queued), which will read this load's data");
    assert.equal(busyLine(label, { outcome: 'skipped', runId: 4711, runStatus: 'running' }, NOW), 'dbt Cloud job 42: skipped, run 4711 is running');
    assert.equal(
      busyLine(label, { outcome: 'joined', holder: `1a2b3c4d${'0'.repeat(24)}`, closesAt: '2026-05-22T09:44:59.250Z' }, NOW),
      "dbt Cloud job 42: covered by the run event 1a2b3c4d starts or joins for the loads of this moment (its batch closed at 09:44:59 UTC), which will read this load's data",
    );
    assert.equal(
      busyLine(label, { outcome: 'capped', reason: 'at most one run every PT15M (the last started at 2026-05-22T09:40:00.000Z)', until: '2026-05-22T09:55:00.000Z' }, NOW),
      'dbt Cloud job 42: not started, run cap reached (at most one run every PT15M (the last started at 2026-05-22T09:40:00.000Z)); the next run may start after 09:55:00 UTC',
    );
  });

  it('clock compares instants, not strings', () => {
    assert.equal(clock('2026-05-22T11:40:00+02:00', NOW), '09:40 UTC');
    assert.equal(clock('2026-05-22T00:30:00+02:00', NOW), '2026-05-21 22:30 UTC');
  });
});
