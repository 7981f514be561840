import { firstBody, resolveString, type Body, type Declared, type TerraformConfig } from './terraform-checks.js';
import type { Value } from './hcl-eval.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failedPreconditions, functionEnvironment, instancesOf, plan, validates } from './terraform-eval.js';

// Static checks of the optional Slack app (terraform/slack_app.tf, issue 31): off by default
// and then nothing of it exists (no secret, no grant, the app settings blank); on, each
// function gets exactly what the app needs and the ingest function's new Firestore grant is
// limited to postload's database; the allow-lists validate as the code does.

const FUNCTIONS: Record<string, string> = { ingest: 'ingestWebhook', processor: 'processSyncEvent', sweep: 'runSweep' };

function fn(config: TerraformConfig, entryPoint: string): Declared | undefined {
  return config.resources.find((r) => r.type === 'google_cloudfunctions2_function' && resolveString(config, firstBody(r.body.build_config).entry_point) === entryPoint);
}

/** The grants to a service account (as `google_service_account.<name>`), evaluated: role and what it is on. */
function grantsTo(config: TerraformConfig, variables: Record<string, Value>, account: string): string[] {
  const apply = plan(config, variables);
  const found: string[] = [];
  for (const r of config.resources.filter((d) => /_iam_member$/.test(d.type) && String(d.body.member).includes(`google_service_account.${account}.`))) {
    for (const instance of instancesOf(apply.resource(r.type, r.name))) {
      const on = r.type === 'google_project_iam_member' ? `project${'condition' in r.body ? ' (condition)' : ''}` : 'secret_id' in r.body ? String(instance.secret_id).replace(/^projects\/[^/]+\/secrets\//, '') : r.type;
      found.push(`${instance.role} ${on}`);
    }
  }
  return found.sort();
}

/** `routingFile`: an absolute path (a broken copy of terraform/ has no ../schemas beside it). */
export function checkSlackApp(config: TerraformConfig, routingFile: string): string[] {
  const problems: string[] = [];
  const base = { project_id: 'p', routing_config_file: routingFile, dbt_cloud_account_id: '12345' };
  const env = (variables: Record<string, Value>, which: string) => {
    const declared = fn(config, FUNCTIONS[which]!);
    if (!declared) throw new Error(`no function runs ${FUNCTIONS[which]}`);
    return functionEnvironment(plan(config, variables), declared);
  };
  const off = { ...base };
  const on = { ...base, slack_app_enabled: true, slack_action_users: ['U0ALICE'], slack_status_page_url: 'http://127.0.0.1:8089' };

  // Off (the default): nothing of the app.
  for (const name of ['slack_bot_token', 'slack_signing_secret']) {
    if (instancesOf(plan(config, off).resource('google_secret_manager_secret', name)).length) problems.push(`google_secret_manager_secret.${name} exists with slack_app_enabled = false`);
  }
  for (const which of ['ingest', 'processor', 'sweep']) {
    const e = env(off, which);
    for (const setting of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DBT_CLOUD_API_TOKEN'].filter((s) => which === 'ingest' || s === 'SLACK_BOT_TOKEN')) {
      if (e[setting]) problems.push(`${which}: ${setting} is set with slack_app_enabled = false`);
    }
  }
  const ingestOff = grantsTo(config, off, 'ingest');
  if (ingestOff.some((g) => /datastore|dbt-cloud-api-token|slack/.test(g))) problems.push(`the ingest function has grants of the Slack app with it off: ${ingestOff.join('; ')}`);

  // On: what each function needs, and the ingest function's Firestore grant on postload's database only.
  const ingest = env(on, 'ingest');
  const expectRef = (which: string, value: string | undefined, secret: string) => {
    if (value !== `sm://projects/p/secrets/postload-${secret}`) problems.push(`${which} gets ${value ?? 'nothing'} instead of sm://projects/p/secrets/postload-${secret}`);
  };
  expectRef('ingest SLACK_SIGNING_SECRET', ingest.SLACK_SIGNING_SECRET, 'slack-signing-secret');
  expectRef('ingest SLACK_BOT_TOKEN', ingest.SLACK_BOT_TOKEN, 'slack-bot-token');
  expectRef('ingest DBT_CLOUD_API_TOKEN', ingest.DBT_CLOUD_API_TOKEN, 'dbt-cloud-api-token');
  if (ingest.SLACK_ACTION_USERS !== 'U0ALICE') problems.push(`ingest SLACK_ACTION_USERS is ${ingest.SLACK_ACTION_USERS}, not var.slack_action_users joined`);
  for (const which of ['processor', 'sweep']) {
    const e = env(on, which);
    expectRef(`${which} SLACK_BOT_TOKEN`, e.SLACK_BOT_TOKEN, 'slack-bot-token');
    if (e.SLACK_STATUS_PAGE_URL !== 'http://127.0.0.1:8089') problems.push(`${which} SLACK_STATUS_PAGE_URL is not var.slack_status_page_url`);
  }
  const ingestOn = grantsTo(config, on, 'ingest');
  for (const wanted of [
    'roles/datastore.user project (condition)',
    'roles/secretmanager.secretAccessor postload-slack-signing-secret',
    'roles/secretmanager.secretAccessor postload-slack-bot-token',
    'roles/secretmanager.secretAccessor postload-dbt-cloud-api-token',
  ]) {
    if (!ingestOn.includes(wanted)) problems.push(`with the app on, the ingest function lacks ${wanted}`);
  }
  const firestore = config.resources.find((r) => r.type === 'google_project_iam_member' && r.name === 'ingest_firestore');
  const condition = firestore && firstBody(firestore.body.condition);
  if (!condition || !String((condition as Body).expression).includes('databases/${local.firestore_database}')) problems.push('the ingest function\'s Firestore grant is not conditioned on postload\'s database');

  // A routing file with an app target needs the app: plan refuses it otherwise, naming the variable.
  const dir = mkdtempSync(join(tmpdir(), 'postload-slack-app-routing-'));
  try {
    const withApp = join(dir, 'routing.json');
    writeFileSync(withApp, JSON.stringify({ slack: { app: { channel: 'C0123ABC' } }, routes: [{ name: 'all', match: { source: 'fivetran' } }] }));
    const refused = (enabled: boolean) => failedPreconditions(config, plan(config, { ...base, routing_config_file: withApp, slack_app_enabled: enabled })).some((p) => p.includes('slack_app_enabled'));
    if (!refused(false)) problems.push('a routing file with a Slack app target plans with slack_app_enabled = false (the processor would not start)');
    if (refused(true)) problems.push('a routing file with a Slack app target is refused with slack_app_enabled = true');
    if (failedPreconditions(config, plan(config, off)).some((p) => p.includes('slack_app_enabled'))) problems.push('a routing file without app targets is refused with slack_app_enabled = false');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // The allow-lists validate as the code reads them (shared/settings.ts slackIdList).
  const cases: Array<[string, Value, boolean]> = [
    ['slack_action_users', ['U0123ABCD', 'W0123ABCD'], true],
    ['slack_action_users', ['alice'], false],
    ['slack_action_users', ['S0123ABCD'], false],
    ['slack_action_groups', ['S0123ABCD'], true],
    ['slack_action_groups', ['U0123ABCD'], false],
    ['slack_status_page_url', 'http://127.0.0.1:8089', true],
    ['slack_status_page_url', 'http://127.0.0.1:8089/?token=x', false],
  ];
  for (const [name, value, ok] of cases) {
    if (validates(config, name, value, base) !== ok) problems.push(`var.${name} = ${JSON.stringify(value)} ${ok ? 'is refused' : 'passes its validation'}`);
  }
  return problems;
}
