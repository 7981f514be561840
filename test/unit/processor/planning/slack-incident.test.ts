import assert from 'node:assert/strict';
import fc from 'fast-check';
import { incidentMerge, incidentRole, openIncident, planIncident, SLACK_INCIDENTS_FIELD, type SlackIncident } from '../../../../functions/processor/planning/slack-incident.js';

const incident: SlackIncident = { ts: '1765150000.000100', eventId: 'e1', type: 'sync.failed', occurredAt: '2026-12-08T00:00:00.000Z' };
const REMOVE = Symbol('delete');

describe('Slack app incidents (planning/slack-incident.ts)', () => {
  it('failures open, successes close, everything else leaves the incident alone', () => {
    assert.equal(incidentRole('sync.failed'), 'opens');
    assert.equal(incidentRole('transformation.failed'), 'opens');
    assert.equal(incidentRole('sync.succeeded'), 'closes');
    assert.equal(incidentRole('transformation.succeeded'), 'closes');
    for (const type of ['sync.started', 'transformation.started', 'transformation.cancelled', 'schema.changed', 'connector.disabled', 'test'] as const) assert.equal(incidentRole(type), undefined, type);
  });

  it('the open incident is the one of the channel, and only a well-formed one', () => {
    const doc = { [SLACK_INCIDENTS_FIELD]: { C1: incident, C2: { ts: 42 }, C3: 'nonsense' } };
    assert.deepEqual(openIncident(doc, 'C1'), incident);
    assert.equal(openIncident(doc, 'C2'), undefined);
    assert.equal(openIncident(doc, 'C3'), undefined);
    assert.equal(openIncident(doc, 'C4'), undefined);
    assert.equal(openIncident(undefined, 'C1'), undefined);
    assert.equal(openIncident({ [SLACK_INCIDENTS_FIELD]: null }, 'C1'), undefined);
  });

  it('the plan at the first claim: a failure opens or replies in the open thread, a success closes the open one, else nothing', () => {
    const open = { [SLACK_INCIDENTS_FIELD]: { C1: incident } };
    assert.deepEqual(planIncident('sync.failed', undefined, 'C1'), { change: 'opened' });
    assert.deepEqual(planIncident('transformation.failed', open, 'C2'), { change: 'opened' }, 'another channel has its own incidents');
    assert.deepEqual(planIncident('sync.failed', open, 'C1'), { change: 'threaded', ts: incident.ts });
    assert.deepEqual(planIncident('sync.succeeded', open, 'C1'), { change: 'closed', ts: incident.ts, failedAt: incident.occurredAt, failedEventId: 'e1' });
    assert.equal(planIncident('sync.succeeded', undefined, 'C1'), undefined);
    assert.equal(planIncident('schema.changed', open, 'C1'), undefined);
  });

  it('opening records the incident by channel, closing removes it, a reply writes nothing', () => {
    assert.deepEqual(incidentMerge([{ channel: 'C1', ts: incident.ts, change: 'opened', incident }], REMOVE), { [SLACK_INCIDENTS_FIELD]: { C1: incident } });
    assert.deepEqual(incidentMerge([{ channel: 'C1', ts: incident.ts, change: 'closed', incident }], REMOVE), { [SLACK_INCIDENTS_FIELD]: { C1: REMOVE } });
    assert.equal(incidentMerge([{ channel: 'C1', ts: incident.ts, change: 'threaded', incident }], REMOVE), undefined);
    assert.equal(incidentMerge([], REMOVE), undefined);
  });

  it('property: a merge touches exactly the channels that opened or closed, nothing else', () => {
    const change = fc.record({ channel: fc.constantFrom('C1', 'C2', 'C3'), change: fc.constantFrom('opened' as const, 'threaded' as const, 'closed' as const) });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 6 }), (changes) => {
        const merged = incidentMerge(changes.map((c) => ({ ...c, ts: incident.ts, incident })), REMOVE);
        const touched = new Set(changes.filter((c) => c.change !== 'threaded').map((c) => c.channel));
        const fields = (merged?.[SLACK_INCIDENTS_FIELD] ?? {}) as Record<string, unknown>;
        assert.deepEqual(new Set(Object.keys(fields)), touched);
        for (const c of changes.filter((x) => x.change !== 'threaded')) {
          const last = changes.filter((x) => x.channel === c.channel && x.change !== 'threaded').at(-1)!;
          assert.equal(fields[c.channel], last.change === 'opened' ? incident : REMOVE);
        }
      }),
    );
  });
});
