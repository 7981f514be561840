import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AIRBYTE_REQUIRED_TYPES, checkAirbyteWorkspace, planAirbyte, urlWithToken } from '../../../functions/cli/connect/airbyte-plan.js';
import { checkDbtCloud, DBT_CLOUD_EVENTS, planDbtCloud } from '../../../functions/cli/connect/dbt-cloud-plan.js';
import { endpointsFrom, pointsAt, shownUrl } from '../../../functions/cli/connect/endpoints.js';
import { checkFivetran, FIVETRAN_EVENTS, planFivetran } from '../../../functions/cli/connect/fivetran-plan.js';
import { AIRBYTE_NOTIFICATION_TYPES, type AirbyteNotificationType, type AirbyteWorkspace } from '../../../functions/vendors/airbyte.js';
import type { DbtCloudWebhook } from '../../../functions/vendors/dbt-cloud.js';
import type { FivetranWebhook, FivetranWebhookScope } from '../../../functions/vendors/fivetran.js';

// The pure planning of `postload connect`: properties over any state a vendor may be in.
// The one that matters most: applying a plan and planning again changes nothing (connect is
// idempotent), and another tool's registration is never changed without --force.

const BASE = 'https://postload-ingest-abc.a.run.app';
const OURS = { fivetran: `${BASE}/fivetran`, airbyte: `${BASE}/airbyte`, dbt: `${BASE}/dbt-cloud` };

const fivetranEvents = fc.subarray(['sync_start', 'sync_end', 'connection_failure', 'dbt_run_succeeded', 'edit_connector'], { minLength: 1 });
const scopeArb: fc.Arbitrary<FivetranWebhookScope> = fc.oneof(fc.constant({ type: 'account' as const }), fc.constantFrom('g1', 'g2').map((groupId) => ({ type: 'group' as const, groupId })));
const fivetranWebhook: fc.Arbitrary<FivetranWebhook> = fc.record({
  id: fc.uuid(),
  scope: scopeArb,
  url: fc.constantFrom(OURS.fivetran, `${OURS.fivetran}/`, 'https://other.example.com/hook', `${BASE}/airbyte`),
  events: fivetranEvents,
  active: fc.boolean(),
}, { noNullPrototype: true }).map(({ scope, ...w }) => ({ ...w, type: scope.type, groupId: scope.type === 'group' ? scope.groupId : null }));

describe('connect planning (properties)', () => {
  it('Fivetran: applying the plan and planning again changes nothing; other webhooks are never touched', () => {
    fc.assert(
      fc.property(fc.array(fivetranWebhook, { maxLength: 6 }), fc.array(fc.constantFrom('v1', 'v2'), { maxLength: 2 }), scopeArb, fc.boolean(), fc.boolean(), (webhooks, versions, scope, active, newSecret) => {
        const plan = planFivetran({ webhooks, secretVersions: versions }, { scope, url: OURS.fivetran, active, newSecret });
        const after = structuredClone(webhooks);
        let secretVersions: string[] = versions;
        if (plan.secret.kind === 'generate') secretVersions = ['v-new', ...versions];
        const step = plan.webhook;
        if (step.kind === 'create') {
          assert.ok(!webhooks.some((w) => pointsAt(w.url, OURS.fivetran) && w.type === scope.type && (scope.type === 'account' || w.groupId === scope.groupId)), 'created only when none of the scope points here');
          after.push({ id: 'created', type: scope.type, groupId: scope.type === 'group' ? scope.groupId : null, url: step.url, events: step.events, active: step.active });
        } else {
          const target = after.find((w) => w.id === step.id)!;
          assert.ok(pointsAt(target.url, OURS.fivetran), 'only a webhook pointing here is updated');
          const { kind: _k, id: _i, changed: _c, ...fields } = step;
          Object.assign(target, fields);
        }
        for (const w of webhooks.filter((w) => !pointsAt(w.url, OURS.fivetran))) assert.deepEqual(after.find((a) => a.id === w.id), w);
        const again = planFivetran({ webhooks: after, secretVersions }, { scope, url: OURS.fivetran, active, newSecret: false });
        assert.equal(again.webhook.kind, 'update');
        assert.deepEqual(again.webhook.kind === 'update' && again.webhook.changed, []);
        assert.deepEqual(again.secret, { kind: 'reuse', version: secretVersions[0] });
      }),
    );
  });

  const slot = fc.record({
    enabled: fc.boolean(),
    url: fc.oneof(fc.constant(null), fc.constantFrom('t-old', 't-new').map((t) => urlWithToken(OURS.airbyte, t)), fc.constant(OURS.airbyte), fc.constant('https://hooks.slack.com/services/T/B/secret')),
  }, { noNullPrototype: true });
  const workspaceArb: fc.Arbitrary<AirbyteWorkspace> = fc
    .tuple(...AIRBYTE_NOTIFICATION_TYPES.map(() => slot))
    .map((slots) => ({ workspaceId: 'w', name: null, webhooks: Object.fromEntries(AIRBYTE_NOTIFICATION_TYPES.map((t, i) => [t, slots[i]!])) as AirbyteWorkspace['webhooks'] }));

  it("Airbyte: another tool's URL is never replaced without --force; applying the plan and planning again keeps every slot", () => {
    fc.assert(
      fc.property(workspaceArb, fc.option(fc.constantFrom('t-old', 't-new'), { nil: null }), fc.subarray([...AIRBYTE_NOTIFICATION_TYPES], { minLength: 1 }), fc.boolean(), fc.boolean(), (workspace, tokenValue, types, force, newSecret) => {
        const token = tokenValue === null ? null : { version: 'v', value: tokenValue };
        const plan = planAirbyte({ workspace, token }, { url: OURS.airbyte, types, force, newSecret });
        for (const s of plan.slots) {
          const foreign = s.now.url !== null && !pointsAt(s.now.url, OURS.airbyte);
          assert.equal(foreign, s.action === 'occupied' || s.action === 'take-over');
          assert.equal(s.action === 'take-over', foreign && force);
          assert.ok(!s.why.includes('secret'), 'never a foreign URL in full');
        }
        if (plan.slots.some((s) => s.action === 'occupied')) return; // connect refuses: nothing applied
        const value = plan.token.kind === 'generate' ? 't-generated' : plan.token.value;
        const after: AirbyteWorkspace = structuredClone(workspace);
        for (const s of plan.slots) if (s.action === 'set' || s.action === 'take-over') after.webhooks[s.type] = { enabled: true, url: urlWithToken(OURS.airbyte, value) };
        for (const type of AIRBYTE_NOTIFICATION_TYPES.filter((t) => !types.includes(t))) assert.deepEqual(after.webhooks[type], workspace.webhooks[type], 'types not asked for stay');
        const again = planAirbyte({ workspace: after, token: { version: 'v', value } }, { url: OURS.airbyte, types, force: false, newSecret: false });
        assert.deepEqual(again.slots.map((s) => s.action), types.map(() => 'keep'));
        const check = checkAirbyteWorkspace(after, OURS.airbyte, [value]);
        assert.equal(check.ok, AIRBYTE_REQUIRED_TYPES.every((t) => types.includes(t) || (pointsAt(after.webhooks[t].url, OURS.airbyte) && after.webhooks[t].enabled && after.webhooks[t].url === urlWithToken(OURS.airbyte, value))) && AIRBYTE_NOTIFICATION_TYPES.every((t) => !pointsAt(after.webhooks[t].url, OURS.airbyte) || (after.webhooks[t].enabled && after.webhooks[t].url === urlWithToken(OURS.airbyte, value))));
      }),
    );
  });

  const dbtWebhook: fc.Arbitrary<DbtCloudWebhook> = fc.record({
    id: fc.uuid(),
    name: fc.constantFrom('postload', 'mine'),
    description: fc.constant(''),
    clientUrl: fc.constantFrom(OURS.dbt, 'https://zapier.example.com/hook'),
    eventTypes: fc.subarray(['job.run.started', 'job.run.completed', 'job.run.errored'], { minLength: 1 }),
    jobIds: fc.subarray(['1', '2', '3']),
    active: fc.boolean(),
    deactivateReason: fc.constant(null),
  }, { noNullPrototype: true });

  it('dbt Cloud: applying the plan and planning again keeps the webhook; a lost secret always means a new webhook, never an update', () => {
    fc.assert(
      fc.property(fc.array(dbtWebhook, { maxLength: 4 }), fc.boolean(), fc.subarray([1, 2, 3]), fc.boolean(), (webhooks, hasSecret, jobIds, newSecret) => {
        const secretVersions = hasSecret ? ['v1'] : [];
        const plan = planDbtCloud({ webhooks, secretVersions }, { accountId: '7', url: OURS.dbt, jobIds, newSecret });
        const ours = webhooks.filter((w) => w.clientUrl === OURS.dbt);
        if (ours.length > 0 && (!hasSecret || newSecret)) assert.equal(plan.kind, 'replace');
        let after = structuredClone(webhooks);
        if (plan.kind === 'create' || plan.kind === 'replace') {
          if (plan.kind === 'replace') after = after.filter((w) => !plan.old.some((o) => o.id === w.id));
          after.push({ id: 'new', name: plan.body.name, description: plan.body.description, clientUrl: plan.body.client_url, eventTypes: plan.body.event_types, jobIds: plan.body.job_ids.map(String), active: plan.body.active, deactivateReason: null });
        } else if (plan.kind === 'update') {
          const target = after.find((w) => w.id === plan.id)!;
          Object.assign(target, { clientUrl: plan.body.client_url, eventTypes: plan.body.event_types, jobIds: plan.body.job_ids.map(String), active: plan.body.active, name: plan.body.name });
        }
        for (const w of webhooks.filter((w) => w.clientUrl !== OURS.dbt)) assert.deepEqual(after.find((a) => a.id === w.id), w, "another tool's webhook is never touched");
        const again = planDbtCloud({ webhooks: after, secretVersions: ['v1'] }, { accountId: '7', url: OURS.dbt, jobIds, newSecret: false });
        assert.equal(again.kind, 'keep');
        assert.ok(checkDbtCloud({ webhooks: after, secretVersions: ['v1'] }, OURS.dbt, '7', jobIds, 's').filter((f) => f.subject.includes(again.kind === 'keep' ? again.webhook.id : '')).every((f) => f.ok));
      }),
    );
  });
});

describe('connect planning (examples)', () => {
  it('Fivetran --check: a missing webhook, an inactive one, missing events and no secret are each a difference with its fix', () => {
    const findings = checkFivetran(
      { webhooks: [{ id: 'w1', type: 'account', groupId: null, url: OURS.fivetran, events: ['sync_end'], active: false }], secretVersions: [] },
      OURS.fivetran,
      { type: 'group', groupId: 'g1' },
      'projects/p/secrets/s',
    );
    assert.deepEqual(findings.map((f) => [f.subject, f.ok, f.fix]), [
      ['group g1 webhook', false, 'postload connect fivetran --group g1'],
      ['projects/p/secrets/s', false, 'postload connect fivetran --group g1'],
    ]);
    const all = checkFivetran({ webhooks: [{ id: 'w1', type: 'account', groupId: null, url: OURS.fivetran, events: ['sync_end'], active: false }], secretVersions: ['v'] }, OURS.fivetran, undefined, 's');
    assert.deepEqual(all[0]!.details, ['inactive: Fivetran sends it nothing (it disables a webhook whose deliveries failed for 24 hours)', 'does not send sync_start, connection_failure']);
    assert.deepEqual([...FIVETRAN_EVENTS], ['sync_start', 'sync_end', 'connection_failure']);
  });

  it('dbt Cloud keeps a webhook whose jobs are the same set in another order, and its events when a person added job.run.errored', () => {
    const webhook: DbtCloudWebhook = { id: 'wsu_1', name: 'postload', description: '', clientUrl: OURS.dbt, eventTypes: ['job.run.errored', ...DBT_CLOUD_EVENTS], jobIds: ['2', '1'], active: true, deactivateReason: null };
    assert.equal(planDbtCloud({ webhooks: [webhook], secretVersions: ['v'] }, { accountId: '1', url: OURS.dbt, jobIds: [1, 2], newSecret: false }).kind, 'keep');
  });

  it('the ingest URL: any form terraform output prints, HTTPS only (http for 127.0.0.1), never a query or credentials', () => {
    for (const raw of [BASE, `${BASE}/`, `${BASE}/fivetran`, `${BASE}/airbyte`, `${BASE}/dbt-cloud/`]) assert.deepEqual(endpointsFrom(raw), { base: BASE, fivetran: OURS.fivetran, airbyte: OURS.airbyte, dbtCloud: OURS.dbt }, raw);
    assert.equal(endpointsFrom('http://127.0.0.1:8080').fivetran, 'http://127.0.0.1:8080/fivetran');
    for (const bad of ['http://postload.example.com', 'ftp://x', `${BASE}?token=x`, 'https://user:pw@x.example.com', 'not a url', '']) assert.throws(() => endpointsFrom(bad), (e: { exitCode: number }) => e.exitCode === 2, bad);
  });

  it("prints another tool's URL as its origin only, and postload's without its token", () => {
    assert.equal(shownUrl('https://hooks.slack.com/services/T/B/SECRET', OURS.airbyte), 'https://hooks.slack.com/…');
    assert.equal(shownUrl(urlWithToken(OURS.airbyte, 'tok'), OURS.airbyte), `${OURS.airbyte}?token=…`);
    assert.equal(shownUrl(null, OURS.airbyte), '(none)');
  });

  it('Airbyte --check asks success and failure of postload, and accepts any enabled token', () => {
    const webhooks = Object.fromEntries(AIRBYTE_NOTIFICATION_TYPES.map((t) => [t, { enabled: false, url: null }])) as Record<AirbyteNotificationType, { enabled: boolean; url: string | null }>;
    webhooks.success = { enabled: true, url: urlWithToken(OURS.airbyte, 'older') };
    const finding = checkAirbyteWorkspace({ workspaceId: 'w', name: 'Analytics', webhooks }, OURS.airbyte, ['newer', 'older']);
    assert.deepEqual(finding.details, ['failure has no webhook, not postload']);
    webhooks.failure = { enabled: true, url: urlWithToken(OURS.airbyte, 'older') };
    assert.equal(checkAirbyteWorkspace({ workspaceId: 'w', name: null, webhooks }, OURS.airbyte, ['newer', 'older']).ok, true);
    assert.equal(checkAirbyteWorkspace({ workspaceId: 'w', name: null, webhooks }, OURS.airbyte, ['newer']).ok, false);
  });
});
