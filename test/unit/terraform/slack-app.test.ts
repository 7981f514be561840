import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkProviderSchema, loadTerraform, type TerraformConfig } from '../../support/terraform-checks.js';
import { checkSlackApp } from '../../support/terraform-slack-app.js';

// The optional Slack app in Terraform (issue 31), checked statically: off by default with
// nothing of it deployed; on, the secrets, grants and settings each function needs; and
// each check run on a copy broken in one place, to prove it can fail.

const TERRAFORM = join(dirname(fileURLToPath(import.meta.url)), '../../../terraform');
const ROUTING = join(dirname(fileURLToPath(import.meta.url)), '../../../schemas/examples/routing.example.json');

describe('terraform/: the Slack app (static checks)', function () {
  this.timeout(60_000);
  let config: TerraformConfig;
  before(async () => {
    const loaded = await loadTerraform(TERRAFORM);
    assert.deepEqual(loaded.problems, []);
    config = loaded.config;
  });

  it('the real configuration passes', () => {
    assert.deepEqual(checkSlackApp(config, ROUTING), []);
  });

  it('every resource of slack_app.tf exists in the provider with these arguments', () => {
    const mine = config.resources.filter((r) => r.file === 'slack_app.tf');
    assert.ok(mine.length >= 10);
    assert.deepEqual(checkProviderSchema({ ...config, resources: mine, data: [] }), []);
  });

  const breakages: Array<{ name: string; file: string; from: string | RegExp; to: string; problem: RegExp }> = [
    { name: 'the app on by default', file: 'slack_app.tf', from: /(variable "slack_app_enabled" \{[\s\S]*?default\s+=\s+)false/, to: '$1true', problem: /exists with slack_app_enabled = false/ },
    { name: 'the ingest function\'s Firestore grant on every database', file: 'slack_app.tf', from: /\n  condition \{[\s\S]*?\n  \}\n/, to: '\n', problem: /not conditioned on postload's database/ },
    { name: 'the signing secret not given to the ingest function', file: 'functions.tf', from: /\n      SLACK_SIGNING_SECRET     = [^\n]*/, to: '', problem: /ingest SLACK_SIGNING_SECRET gets nothing/ },
    { name: 'the dbt Cloud token given to the ingest function with the app off', file: 'functions.tf', from: 'DBT_CLOUD_API_TOKEN      = var.slack_app_enabled ? ', to: 'DBT_CLOUD_API_TOKEN      = true ? ', problem: /ingest: DBT_CLOUD_API_TOKEN is set with slack_app_enabled = false/ },
    { name: 'no plan-time check of app targets against slack_app_enabled', file: 'functions.tf', from: 'var.slack_app_enabled || !local.routing_uses_slack_app', to: 'true', problem: /plans with slack_app_enabled = false/ },
    { name: 'user ids not validated', file: 'slack_app.tf', from: '"^[UW][A-Z0-9]{2,40}$"', to: '".*"', problem: /var\.slack_action_users = \["alice"\] passes its validation/ },
  ];

  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'postload-terraform-slack-app-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  breakages.forEach((breakage, i) => {
    it(`fails on a broken copy: ${breakage.name}`, async () => {
      const copy = join(scratch, String(i));
      cpSync(TERRAFORM, copy, { recursive: true, filter: (source) => !/[/\\]\.(terraform|build)([/\\]|$)/.test(source) });
      const file = join(copy, breakage.file);
      const original = readFileSync(file, 'utf8');
      const broken = original.replace(breakage.from, breakage.to);
      assert.notEqual(broken, original, `the breakage must change ${breakage.file}`);
      writeFileSync(file, broken);
      const loaded = await loadTerraform(copy);
      assert.deepEqual(loaded.problems, []);
      const problems = checkSlackApp(loaded.config, ROUTING);
      assert.ok(problems.some((p) => breakage.problem.test(p)), `expected a problem matching ${breakage.problem}, got:\n${problems.join('\n') || '(none)'}`);
    });
  });
});
