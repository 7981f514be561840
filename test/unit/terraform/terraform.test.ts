import assert from 'node:assert/strict';
import { MAX_BODY_BYTES_LIMIT } from '../../../functions/ingest/config.js';
import { QUARANTINE_ALERTS_COLLECTION } from '../../../functions/processor/store/quarantine-alert-documents.js';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkEntryPoints,
  checkEnvironment,
  checkPropagationWait,
  checkProviderSchema,
  checkReferences,
  checkRoutingSize,
  checkSecrets,
  checkServiceAgent,
  checkSourceArchive,
  asArray,
  loadTerraform,
  readCodeFacts,
  settingsRead,
  type CodeFacts,
  type TerraformConfig,
} from '../../support/terraform-checks.js';
import { checkSyncHistory } from '../../support/terraform-bigquery.js';
import { checkAlertPolicies, checkLogMetricsMatchCode, checkMonitoringFilters } from '../../support/terraform-monitoring.js';

// No terraform binary can run here, so terraform/ is checked statically: every file
// parses (HashiCorp's HCL parser as WebAssembly), every resource, argument and block
// exists in the google provider 6.x schema, every reference is declared, and the
// configuration matches what the code reads. Each check is also run on a copy of
// terraform/ broken in one place, to prove it can fail.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const TERRAFORM = join(ROOT, 'terraform');
const RUNBOOK = { path: 'docs/operations.md', text: readFileSync(join(ROOT, 'docs/operations.md'), 'utf8') };
const EXAMPLE_ROUTING = join(ROOT, 'schemas/examples/routing.example.json');

type Check = (config: TerraformConfig, code: CodeFacts) => string[] | Promise<string[]>;

const checks: Record<string, Check> = {
  'provider schema': (config) => checkProviderSchema(config),
  references: (config) => checkReferences(config),
  'entry points': (config, code) => checkEntryPoints(config, code),
  environment: (config, code) => checkEnvironment(config, code),
  secrets: (config, code) => checkSecrets(config, code),
  'source archive': (config) => checkSourceArchive(config, ROOT),
  'Pub/Sub service agent': (config) => checkServiceAgent(config),
  'IAM propagation wait': (config) => checkPropagationWait(config),
  'routing size': (config) => checkRoutingSize(config, EXAMPLE_ROUTING),
  'alert policies': (config) => checkAlertPolicies(config, RUNBOOK),
  'monitoring filters': (config) => checkMonitoringFilters(config),
  'log-based metrics': (config) => checkLogMetricsMatchCode(config, ROOT),
  'sync history': (config) => checkSyncHistory(config),
};

describe('terraform/ (static checks)', function () {
  this.timeout(60_000);

  let config: TerraformConfig;
  let code: CodeFacts;

  before(async () => {
    const loaded = await loadTerraform(TERRAFORM);
    assert.deepEqual(loaded.problems, [], 'every .tf file parses');
    config = loaded.config;
    code = readCodeFacts(ROOT);
  });

  describe('the real configuration', () => {
    it('parses, file by file', () => {
      assert.ok(config.files.length >= 8, `expected the configuration split by concern, got ${config.files.length} files`);
    });

    for (const [name, check] of Object.entries(checks)) {
      it(`passes the ${name} check`, async () => {
        assert.deepEqual(await check(config, code), []);
      });
    }

    it('deploys every function the code registers: ingest, processor and the scheduled sweep', () => {
      assert.deepEqual([...code.registered].sort(), ['ingestWebhook', 'processSyncEvent', 'runSweep']);
      assert.equal(config.resources.filter((r) => r.type === 'google_cloudfunctions2_function').length, 3);
    });

    it('dead-letters the processor subscription to a topic that has its own subscription', () => {
      const processor = resource('google_pubsub_subscription', 'processor');
      const policy = block(processor, 'dead_letter_policy');
      assert.match(String(policy.dead_letter_topic), /google_pubsub_topic\.dead_letter\b/);
      assert.match(String(block(processor, 'push_config').push_endpoint), /google_cloudfunctions2_function\.processor\b/);
      assert.ok(block(block(processor, 'push_config'), 'oidc_token').service_account_email);
      assert.ok(block(processor, 'retry_policy').minimum_backoff);
      assert.match(String(resource('google_pubsub_subscription', 'dead_letter').topic), /google_pubsub_topic\.dead_letter\b/);
      for (const [type, name, role] of [
        ['google_pubsub_topic_iam_member', 'dead_letter_publisher', 'roles/pubsub.publisher'],
        ['google_pubsub_subscription_iam_member', 'dead_letter_source_subscriber', 'roles/pubsub.subscriber'],
      ] as const) {
        const grant = resource(type, name);
        assert.equal(grant.role, role);
        assert.equal(grant.member, '${google_project_service_identity.pubsub.member}');
      }
    });

    it('makes the ingest service public and the processor invocable only by the push identity', () => {
      assert.equal(resource('google_cloud_run_service_iam_member', 'ingest_public').member, 'allUsers');
      const invokers = config.resources.filter((r) => r.type === 'google_cloud_run_service_iam_member' && String(r.body.service).includes('.processor.'));
      assert.deepEqual(invokers.map((r) => r.body.member), ['serviceAccount:${google_service_account.push.email}']);
    });

    it('sets a TTL policy on the audit collection expireAt', () => {
      const field = resource('google_firestore_field', 'audit_expire_at');
      assert.equal(field.field, 'expireAt');
      assert.ok(Array.isArray(field.ttl_config));
    });

    it('sets a TTL policy on the quarantine alert day documents, in the collection the processor writes', () => {
      const field = resource('google_firestore_field', 'quarantine_alerts_expire_at');
      assert.equal(field.collection, QUARANTINE_ALERTS_COLLECTION);
      assert.equal(field.field, 'expireAt');
      assert.ok(Array.isArray(field.ttl_config));
    });

    it('sets a TTL policy on the job state and join documents, in the collections the processor is given', () => {
      for (const [name, variable] of [['job_state_expire_at', 'job_state_collection'], ['joins_expire_at', 'joins_collection']] as const) {
        const field = resource('google_firestore_field', name);
        assert.equal(field.collection, `\${var.${variable}}`);
        assert.equal(field.field, 'expireAt');
        assert.ok(Array.isArray(field.ttl_config));
      }
    });

    it('ticks the sweep from Cloud Scheduler through Pub/Sub, pushed with OIDC to an internal-only function that only the push identity may invoke', () => {
      const job = resource('google_cloud_scheduler_job', 'sweep');
      assert.equal(job.schedule, '*/${var.sweep_interval_minutes} * * * *');
      assert.equal(config.variables.get('sweep_interval_minutes')?.body.default, 5);
      assert.match(String(block(job, 'pubsub_target').topic_name), /google_pubsub_topic\.sweep_ticks\.id/);
      const subscription = resource('google_pubsub_subscription', 'sweep');
      assert.match(String(subscription.topic), /google_pubsub_topic\.sweep_ticks\.id/);
      assert.match(String(block(subscription, 'push_config').push_endpoint), /google_cloudfunctions2_function\.sweep\b/);
      assert.equal(block(block(subscription, 'push_config'), 'oidc_token').service_account_email, '${google_service_account.push.email}');
      // A tick older than ten minutes is dropped, never piled up: the next one does the same work.
      assert.equal(subscription.message_retention_duration, '600s');
      const fn = resource('google_cloudfunctions2_function', 'sweep');
      assert.equal(block(fn, 'service_config').ingress_settings, 'ALLOW_INTERNAL_ONLY');
      assert.equal(block(fn, 'service_config').service_account_email, '${google_service_account.sweep.email}');
      const invokers = config.resources.filter((r) => r.type === 'google_cloud_run_service_iam_member' && String(r.body.service).includes('.sweep.'));
      assert.deepEqual(invokers.map((r) => r.body.member), ['serviceAccount:${google_service_account.push.email}']);
    });

    it('gives the sweep identity only what it uses: Firestore, publishing to the SyncEvent topic, the signing key, the Slack and (when enabled) vendor API secrets', () => {
      const sweepMember = (member: unknown) => String(member).includes('google_service_account.sweep.') || String(member).startsWith('${local.run_target_members[');
      const grants = config.resources.filter((r) => /_iam_member$/.test(r.type) && sweepMember(r.body.member));
      const summary = grants.map((g) => `${g.type} ${g.body.role} ${String(g.body.topic ?? g.body.secret_id ?? g.body.project).replace(/\$\{|\}/g, '')}`).sort();
      assert.deepEqual(summary, [
        'google_project_iam_member roles/datastore.user var.project_id',
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.sync_events.id',
        ...['airbyte_api_client_id', 'airbyte_api_client_secret', 'fivetran_api_key', 'fivetran_api_secret'].flatMap((s) => [
          `google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor google_secret_manager_secret.${s}[count.index].id`,
          `google_secret_manager_secret_iam_member roles/secretmanager.viewer google_secret_manager_secret.${s}[count.index].id`,
        ]),
        'google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor each.value.id',
        'google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor google_secret_manager_secret.slack_webhook_url[count.index].id',
        'google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor google_secret_manager_secret.sync_event_signing_key.id',
        'google_secret_manager_secret_iam_member roles/secretmanager.viewer each.value.id',
        'google_secret_manager_secret_iam_member roles/secretmanager.viewer google_secret_manager_secret.slack_webhook_url[count.index].id',
        'google_secret_manager_secret_iam_member roles/secretmanager.viewer google_secret_manager_secret.sync_event_signing_key.id',
        // The Slack app's bot token (slack_app.tf), when var.slack_app_enabled: freshness incidents threaded.
        'google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor google_secret_manager_secret.slack_bot_token[0].id',
        'google_secret_manager_secret_iam_member roles/secretmanager.viewer google_secret_manager_secret.slack_bot_token[0].id',
        // Run targets (run_targets.tf): each a grant to both identities, through local.run_target_members.
        'google_cloud_run_v2_job_iam_member ${each.value.role} local.cloud_run_job_parts[each.value.job].project',
        'google_project_iam_member roles/composer.user var.project_id',
        'google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor google_secret_manager_secret.run_target[each.value.id].id',
        'google_secret_manager_secret_iam_member roles/secretmanager.viewer google_secret_manager_secret.run_target[each.value.id].id',
      ].sort());
      assert.deepEqual(config.locals.get('run_target_members')?.value, { processor: 'serviceAccount:${google_service_account.processor.email}', sweep: 'serviceAccount:${google_service_account.sweep.email}' });
      for (const name of ['fivetran_api_key', 'fivetran_api_secret', 'airbyte_api_client_id', 'airbyte_api_client_secret']) {
        assert.match(String(resource('google_secret_manager_secret', name).count), /^\$\{var\.(fivetran|airbyte)_api_enabled \? 1 : 0\}$/, `${name} exists only when enabled`);
      }
    });

    it('declares the index the sweep\'s due query needs when a vendor is skipped, and TTL policies on the freshness history', () => {
      const index = resource('google_firestore_index', 'freshness_due_by_source');
      assert.equal(index.collection, '${var.freshness_collection}');
      assert.deepEqual(asArrayOf(index.fields).map((f) => f.field_path), ['source', 'nextCheckAt']);
      for (const name of ['freshness_changes_expire_at', 'freshness_incidents_expire_at']) assert.ok(Array.isArray(resource('google_firestore_field', name).ttl_config));
    });

    it('keeps the processor internal-only and the dead-letter subscription under name_prefix, output as a full id', () => {
      assert.equal(config.variables.get('processor_ingress')?.body.default, 'ALLOW_INTERNAL_ONLY');
      assert.match(String(resource('google_pubsub_subscription', 'dead_letter').name), /^\$\{var\.name_prefix\}-/);
      assert.equal(config.outputs.get('dead_letter_subscription')?.body.value, '${google_pubsub_subscription.dead_letter.id}');
    });

    // No terraform binary evaluates these here; this pins that each guard is declared.
    it('declares the input guards: body cap, backoff order, ack deadlines, labels', () => {
      const conditions = (name: string) =>
        (config.variables.get(name)?.body.validation as { condition: string }[] | undefined)?.map((v) => v.condition).join('\n') ?? '';
      // The same cap as the code's, so the largest accepted body always fits one Pub/Sub message.
      assert.match(conditions('max_body_bytes'), new RegExp(`var\\.max_body_bytes <= ${MAX_BODY_BYTES_LIMIT}\\b`));
      assert.match(conditions('team_subscriptions'), /s\.ack_deadline_seconds >= 10 && s\.ack_deadline_seconds <= 600/);
      assert.match(conditions('labels'), /length\(var\.labels\) <= 64/);
      const lifecycle = block(resource('google_pubsub_subscription', 'processor'), 'lifecycle');
      assert.match(String(block(lifecycle, 'precondition').condition), /retry_minimum_backoff.*<=.*retry_maximum_backoff/);
    });

    it('refuses, at plan time, a routing file larger than the environment leaves it', () => {
      const scratch = mkdtempSync(join(tmpdir(), 'postload-routing-'));
      try {
        const example = JSON.parse(readFileSync(EXAMPLE_ROUTING, 'utf8')) as { routes?: unknown[] };
        const routes = example.routes ?? [];
        assert.ok(routes.length > 0, 'the example routing file has routes to copy');
        const oversized = join(scratch, 'routing.json');
        writeFileSync(oversized, JSON.stringify({ ...example, routes: Array.from({ length: 400 }, (_, i) => routes[i % routes.length]) }));
        assert.deepEqual(checkRoutingSize(config, EXAMPLE_ROUTING), []);
        const problems = checkRoutingSize(config, oversized);
        assert.ok(problems.some((p) => /routing\.json is \d+ bytes compacted, more than the 28672 bytes/.test(p)), problems.join('\n'));
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });

    it('measures the routing file as Terraform does (jsonencode escapes, UTF-8 bytes)', () => {
      const scratch = mkdtempSync(join(tmpdir(), 'postload-routing-'));
      try {
        // 28672 bytes allowed: 14,000 "é" (2 bytes each) and 200 "<" (6 bytes escaped) overflow
        // although the string has fewer characters than the limit.
        const file = join(scratch, 'routing.json');
        writeFileSync(file, JSON.stringify({ note: 'é'.repeat(14_000) + '<'.repeat(200) }));
        assert.ok(checkRoutingSize(config, file).some((p) => /bytes compacted/.test(p)));
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });

    it('outputs no secret value', () => {
      for (const [name, { body }] of config.outputs) {
        assert.doesNotMatch(JSON.stringify(body.value), /secret_data|google_secret_manager_secret_version/, name);
        assert.notEqual(body.sensitive, true, `${name} should not need to be sensitive`);
      }
    });

    it("lists every alert in the runbook's alert table, and docs/deploy.md prices as many as Terraform creates", () => {
      const withoutRow = { ...RUNBOOK, text: RUNBOOK.text.replace(/^\| dead letters waiting \|.*\n/m, '') };
      assert.notEqual(withoutRow.text, RUNBOOK.text);
      const problems = checkAlertPolicies(config, withoutRow);
      assert.ok(problems.some((p) => /dead_letters: the alert table of docs\/operations\.md .*has no row for "Dead letters waiting"/.test(p)), problems.join('\n'));
      const policies = config.resources.filter((r) => r.type === 'google_monitoring_alert_policy');
      for (const policy of policies) assert.equal(asArray(policy.body.conditions).length, 1, `${policy.name}: priced as one condition`);
      const priced = /^\| Cloud Monitoring \| (\d+) alert policies of one condition each.*\| ~\$(\d+\.\d\d) /m.exec(readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8'));
      assert.ok(priced, 'docs/deploy.md has a Cloud Monitoring row in its cost table');
      assert.equal(Number(priced[1]), policies.length, 'alert policies in the cost table');
      assert.equal(priced[2], (policies.length * 0.1).toFixed(2), 'their price at $0.10 a condition a month');
    });
  });

  describe('reading the code', () => {
    it('finds settings read through every helper and direct env reads', () => {
      const { settings, secrets } = settingsRead(`
        optionalString(env, 'A_STRING'); requiredString(env, "B_REQUIRED", 'hint');
        integer(env, 'C_NUMBER', 3, { min: 1 }); secretSetting(env, 'D_SECRET', options);
        process.env.E_DIRECT; env['F_INDEXED'];`);
      assert.deepEqual([...settings].sort(), ['A_STRING', 'B_REQUIRED', 'C_NUMBER', 'D_SECRET', 'E_DIRECT', 'F_INDEXED']);
      assert.deepEqual([...secrets], ['D_SECRET']);
    });

    it('fails loudly when a config.ts is missing or reads nothing', () => {
      const root = mkdtempSync(join(tmpdir(), 'postload-code-'));
      try {
        mkdirSync(join(root, 'functions/ingest'), { recursive: true });
        mkdirSync(join(root, 'functions/processor'), { recursive: true });
        cpSync(join(ROOT, 'functions/index.ts'), join(root, 'functions/index.ts'));
        cpSync(join(ROOT, 'functions/ingest/config.ts'), join(root, 'functions/ingest/config.ts'));
        assert.throws(() => readCodeFacts(root), /processor[/\\]config\.ts is missing/);
        writeFileSync(join(root, 'functions/processor/config.ts'), 'export const nothing = 1;\n');
        assert.throws(() => readCodeFacts(root), /reads no environment variable/);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });

  describe('fails on a broken copy', () => {
    interface Breakage {
      name: string;
      file: string;
      from: string | RegExp;
      to: string;
      /** The check expected to fail; 'parse' for loadTerraform itself. */
      check: keyof typeof checks | 'parse';
      problem: RegExp;
    }

    const breakages: Breakage[] = [
      {
        name: 'the sweep given a vendor API credential as a literal, not a secret reference',
        file: 'sweep.tf',
        from: /FIVETRAN_API_KEY\s+= var\.fivetran_api_enabled[^\n]*/,
        to: 'FIVETRAN_API_KEY = "fivetran-key-in-plain-sight"',
        check: 'secrets',
        problem: /sweep reads the secret FIVETRAN_API_KEY, but it is not set to a google_secret_manager_secret/,
      },
      {
        name: 'a setting the sweep reads left out',
        file: 'sweep.tf',
        from: /\n\s*RECONCILE_AFTER_SECONDS\s+=[^\n]*/,
        to: '',
        check: 'environment',
        problem: /sweep does not set RECONCILE_AFTER_SECONDS, which functions\/sweep reads/,
      },
      {
        name: 'an unparseable file',
        file: 'pubsub.tf',
        from: /$/,
        to: '\nresource "google_pubsub_topic" "broken" {\n  name = \n}\n',
        check: 'parse',
        problem: /pubsub\.tf does not parse/,
      },
      {
        name: 'an unknown resource type',
        file: 'pubsub.tf',
        from: 'resource "google_pubsub_topic" "dead_letter"',
        to: 'resource "google_pubsub_topics" "dead_letter"',
        check: 'provider schema',
        problem: /no resource type "google_pubsub_topics"/,
      },
      {
        name: 'an unknown data source',
        file: 'source.tf',
        from: 'data "archive_file" "source"',
        to: 'data "archive_files" "source"',
        check: 'provider schema',
        problem: /no data source "archive_files"/,
      },
      {
        name: 'an unknown top-level argument',
        file: 'pubsub.tf',
        from: 'ack_deadline_seconds       = local.push_ack_deadline_seconds',
        to: 'ack_deadline               = local.push_ack_deadline_seconds',
        check: 'provider schema',
        problem: /google_pubsub_subscription\.processor: unknown argument or block "ack_deadline"/,
      },
      {
        name: 'an unknown argument in a nested block',
        file: 'pubsub.tf',
        from: 'max_delivery_attempts = var.max_delivery_attempts',
        to: 'max_delivery_attempt = var.max_delivery_attempts',
        check: 'provider schema',
        problem: /processor\.dead_letter_policy: unknown argument or block "max_delivery_attempt"/,
      },
      {
        name: 'an unknown block',
        file: 'pubsub.tf',
        from: 'retry_policy {',
        to: 'retry_polcy {',
        check: 'provider schema',
        problem: /unknown argument or block "retry_polcy"/,
      },
      {
        name: 'an unknown argument inside a dynamic block',
        file: 'subscriptions.tf',
        from: 'service_account_email = oidc_token.value',
        to: 'service_account = oidc_token.value',
        check: 'provider schema',
        problem: /team\.push_config\.oidc_token: unknown argument or block "service_account"/,
      },
      {
        name: 'an unknown argument of the archive data source',
        file: 'source.tf',
        from: 'output_path = ',
        to: 'output_file = ',
        check: 'provider schema',
        problem: /archive_file\.source: unknown argument or block "output_file"/,
      },
      {
        name: 'a reference to an undeclared resource',
        file: 'iam.tf',
        from: 'topic  = google_pubsub_topic.sync_events.id',
        to: 'topic  = google_pubsub_topic.sync_event.id',
        check: 'references',
        problem: /no resource google_pubsub_topic\.sync_event is declared/,
      },
      {
        name: 'a reference to an undeclared variable',
        file: 'functions.tf',
        from: 'LOG_LEVEL                = var.log_level',
        to: 'LOG_LEVEL                = var.loglevel',
        check: 'references',
        problem: /no variable "loglevel" is declared/,
      },
      {
        name: 'a reference to an undeclared local',
        file: 'pubsub.tf',
        from: 'local.push_ack_deadline_seconds',
        to: 'local.push_ack_deadline',
        check: 'references',
        problem: /no local "push_ack_deadline" is declared/,
      },
      {
        name: 'a reference to an undeclared data source',
        file: 'source.tf',
        from: 'data.archive_file.source.output_md5',
        to: 'data.archive_file.sources.output_md5',
        check: 'references',
        problem: /no data source archive_file\.sources is declared/,
      },
      {
        name: 'a reference to an attribute the resource does not have',
        file: 'outputs.tf',
        from: 'value       = google_cloudfunctions2_function.ingest.service_config[0].uri\n',
        to: 'value       = google_cloudfunctions2_function.ingest.service_configs[0].uri\n',
        check: 'references',
        problem: /google_cloudfunctions2_function has no attribute "service_configs"/,
      },
      {
        name: 'a reference inside a template with quotes (a Monitoring filter)',
        file: 'monitoring.tf',
        from: 'resource.labels.service_name = \\"${google_cloudfunctions2_function.ingest.name}\\"',
        to: 'resource.labels.service_name = \\"${google_cloudfunctions2_function.ingests.name}\\"',
        check: 'references',
        problem: /no resource google_cloudfunctions2_function\.ingests is declared/,
      },
      {
        name: 'a wrong entry point',
        file: 'main.tf',
        from: 'ingest_entry_point    = "ingestWebhook"',
        to: 'ingest_entry_point    = "ingestWebhooks"',
        check: 'entry points',
        problem: /entry_point "ingestWebhooks", which functions\/index\.ts does not register/,
      },
      {
        name: 'a runtime other than nodejs22',
        file: 'functions.tf',
        from: 'runtime         = "nodejs22"',
        to: 'runtime         = "nodejs20"',
        check: 'entry points',
        problem: /runs on nodejs20, expected nodejs22/,
      },
      {
        name: 'a setting the code reads left unset',
        file: 'functions.tf',
        from: /^\s*PUBLISH_TIMEOUT_MS\s*=.*\n/m,
        to: '',
        check: 'environment',
        problem: /ingest does not set PUBLISH_TIMEOUT_MS, which functions\/ingest reads/,
      },
      {
        name: 'a setting the code never reads',
        file: 'functions.tf',
        from: 'SYNC_EVENTS_TOPIC        =',
        to: 'SYNC_EVENT_TOPIC         =',
        check: 'environment',
        problem: /ingest sets SYNC_EVENT_TOPIC, which functions\/ingest never reads/,
      },
      {
        name: 'NODE_ENV not production',
        file: 'functions.tf',
        from: /(processor[\s\S]*?NODE_ENV\s*=\s*)"production"/,
        to: '$1"development"',
        check: 'environment',
        problem: /processor must set NODE_ENV=production/,
      },
      {
        name: 'a secret set to a literal instead of its Secret Manager secret',
        file: 'functions.tf',
        from: /(AIRBYTE_WEBHOOK_TOKEN\s*=\s*)".*"/,
        to: '$1"not-a-reference"',
        check: 'secrets',
        problem: /ingest reads the secret AIRBYTE_WEBHOOK_TOKEN, but it is not set to a google_secret_manager_secret/,
      },
      {
        name: 'a secret its function may not access',
        file: 'secrets.tf',
        from: /("slack_webhook_url_accessor" \{[\s\S]*?)google_service_account\.processor\.email/,
        to: '$1google_service_account.ingest.email',
        check: 'secrets',
        problem: /reads SLACK_WEBHOOK_URL from google_secret_manager_secret\.slack_webhook_url, but google_service_account\.processor has no roles\/secretmanager\.secretAccessor/,
      },
      {
        name: 'a secret whose versions its function may not list',
        file: 'secrets.tf',
        from: /("fivetran_webhook_secret_lister" \{[\s\S]*?role\s*=\s*)"roles\/secretmanager\.viewer"/,
        to: '$1"roles/secretmanager.secretAccessor"',
        check: 'secrets',
        problem: /reads every enabled version of google_secret_manager_secret\.fivetran_webhook_secret .* may not list its versions/,
      },
      {
        name: 'an archive that leaves out the schemas the functions read',
        file: 'source.tf',
        from: ', "schemas/*.schema.json"]',
        to: ']',
        check: 'source archive',
        problem: /misses schemas\/sync-event\.v1\.schema\.json, which the functions read at run time/,
      },
      {
        name: 'an archive that uploads the tests',
        file: 'source.tf',
        from: '"functions/**/*.ts",',
        to: '"functions/**/*.ts", "test/**",',
        check: 'source archive',
        problem: /uploads test\/.* \(nothing under test\/ may be deployed\)/,
      },
      {
        name: 'an archive that uploads a stray file of the working tree',
        file: 'source.tf',
        from: '"tsconfig.json",',
        to: '"tsconfig.json", "*.md",',
        check: 'source archive',
        problem: /uploads README\.md, which no build or run reads/,
      },
      {
        name: 'an archive of the whole working tree (a deny-list)',
        file: 'source.tf',
        from: '  type        = "zip"\n',
        to: '  type        = "zip"\n  source_dir  = "${path.module}/.."\n',
        check: 'source archive',
        problem: /source_dir uploads a whole directory/,
      },
      {
        name: 'a deploy build that installs the test tooling',
        file: 'source.tf',
        from: '"json-schema-to-typescript", "typescript"]',
        to: '"json-schema-to-typescript", "typescript", "mocha"]',
        check: 'source archive',
        problem: /installs the devDependency mocha, which no build script runs/,
      },
      {
        name: 'a grant to a hand-built Pub/Sub service agent email',
        file: 'iam.tf',
        from: /(dead_letter_publisher" \{[\s\S]*?member = )google_project_service_identity\.pubsub\.member/,
        to: '$1"serviceAccount:service-123@gcp-sa-pubsub.iam.gserviceaccount.com"',
        check: 'Pub/Sub service agent',
        problem: /spells out the Pub\/Sub service agent's email|no roles\/pubsub\.publisher on its dead-letter topic/,
      },
      {
        name: 'the service identity on the GA provider',
        file: 'iam.tf',
        from: '  provider = google-beta\n',
        to: '',
        check: 'Pub/Sub service agent',
        problem: /needs provider = google-beta/,
      },
      {
        name: 'a function that does not wait for IAM propagation',
        file: 'functions.tf',
        from: '  depends_on = [time_sleep.iam_propagation]\n',
        to: '',
        check: 'IAM propagation wait',
        problem: /google_cloudfunctions2_function\.ingest does not depend on a time_sleep/,
      },
      {
        name: 'a grant the propagation wait does not wait for',
        file: 'iam.tf',
        from: '    google_project_iam_member.processor_firestore,\n',
        to: '',
        check: 'IAM propagation wait',
        problem: /does not wait for google_project_iam_member\.processor_firestore/,
      },
      {
        name: 'no routing size precondition',
        file: 'functions.tf',
        from: 'local.routing_config_bytes <= local.routing_config_max_bytes',
        to: 'true',
        check: 'routing size',
        problem: /no precondition refuses a routing file/,
      },
      {
        name: 'a routing limit that leaves no room for the other variables',
        file: 'main.tf',
        from: '32768 - 4096',
        to: '32768 - 16',
        check: 'routing size',
        problem: /the other environment variables take up to \d+ bytes/,
      },
      {
        name: 'a sync history subscription without the metadata columns',
        file: 'bigquery.tf',
        from: 'write_metadata = true',
        to: 'write_metadata = false',
        check: 'sync history',
        problem: /write_metadata must be true/,
      },
      {
        name: 'a sync history table partitioned by ingestion time, not publish time',
        file: 'bigquery.tf',
        from: 'field = "publish_time"',
        to: 'field = "message_id"',
        check: 'sync history',
        problem: /must be partitioned by publish_time/,
      },
      {
        name: 'a sync history table whose data column Pub/Sub cannot write',
        file: 'bigquery.tf',
        from: '{ name = "data", type = "JSON"',
        to: '{ name = "data", type = "INTEGER"',
        check: 'sync history',
        problem: /column data is INTEGER; Pub\/Sub writes it as BYTES, STRING, JSON/,
      },
      {
        name: 'a sync history table that never expires',
        file: 'bigquery.tf',
        from: 'expiration_ms = var.sync_history_retention_days > 0 ? var.sync_history_retention_days * 86400000 : null',
        to: 'expiration_ms = null',
        check: 'sync history',
        problem: /expiration_ms must come from a retention variable/,
      },
      {
        name: 'a sync history subscription created before the service agent may write the table',
        file: 'bigquery.tf',
        from: 'depends_on = [google_bigquery_table_iam_member.sync_history_writer]',
        to: 'depends_on = [google_bigquery_table.sync_events]',
        check: 'sync history',
        problem: /must depend on google_bigquery_table_iam_member\.sync_history_writer/,
      },
      {
        name: 'a sync history subscription on another topic',
        file: 'bigquery.tf',
        from: 'topic = google_pubsub_topic.sync_events.id\n\n  bigquery_config',
        to: 'topic = google_pubsub_topic.dead_letter.id\n\n  bigquery_config',
        check: 'sync history',
        problem: /not the SyncEvent topic/,
      },
      {
        name: 'an optional secret whose value is a literal',
        file: 'functions.tf',
        from: '"sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.slack_webhook_url[0].secret_id}"',
        to: '"https://hooks.slack.com/services/T/B/${google_secret_manager_secret.slack_webhook_url[0].secret_id}"',
        check: 'secrets',
        problem: /reads the secret SLACK_WEBHOOK_URL, but it is not set to a google_secret_manager_secret/,
      },
      {
        name: 'an alert without documentation',
        file: 'monitoring.tf',
        from: /(resource "google_monitoring_alert_policy" "processor_5xx" \{[\s\S]*?)  documentation \{[\s\S]*?\n  \}\n/,
        to: '$1',
        check: 'alert policies',
        problem: /processor_5xx has no documentation content/,
      },
      {
        name: 'an alert pointing at a runbook entry the runbook lacks',
        file: 'monitoring.tf',
        from: 'entry "Dead letters waiting"',
        to: 'entry "Dead letters pending"',
        check: 'alert policies',
        problem: /runbook entry "Dead letters pending", which docs\/operations\.md has no heading for/,
      },
      {
        name: 'an alert whose documentation names no CLI command',
        file: 'monitoring.tf',
        from: /`postload events --since 1h --outcome retrying` lists the events still being retried,\n\s*`postload event ID` shows what each action is waiting for\./,
        to: 'the audit trail shows what each action is waiting for.',
        check: 'alert policies',
        problem: /processor_behind: its documentation names no `postload` command/,
      },
      {
        name: 'an alert naming a CLI option that does not exist',
        file: 'monitoring.tf',
        from: '`postload replay --dry-run --subscription',
        to: '`postload replay --dryrun --subscription',
        check: 'alert policies',
        problem: /dead_letters: its documentation names `postload replay --dryrun --subscription [^`]*`, but "postload replay" has no option --dryrun/,
      },
      {
        name: 'an alert that notifies no channel variable',
        file: 'monitoring.tf',
        from: /(resource "google_monitoring_alert_policy" "ingest_5xx" \{[\s\S]*?notification_channels = )var\.alert_notification_channels/,
        to: '$1[]',
        check: 'alert policies',
        problem: /ingest_5xx does not notify var\.alert_notification_channels/,
      },
      {
        name: 'an alert that cannot be switched off',
        file: 'monitoring.tf',
        from: /(?<head>resource "google_monitoring_alert_policy" "dead_letters" \{\n  count = )var\.alerts_enabled \? 1 : 0/,
        to: '$<head>1',
        check: 'alert policies',
        problem: /dead_letters cannot be switched off/,
      },
      {
        name: 'a metric type Cloud Monitoring does not document',
        file: 'monitoring.tf',
        from: 'pubsub.googleapis.com/subscription/oldest_unacked_message_age',
        to: 'pubsub.googleapis.com/subscription/oldest_message_age',
        check: 'monitoring filters',
        problem: /metric type pubsub\.googleapis\.com\/subscription\/oldest_message_age is not one Cloud Monitoring documents/,
      },
      {
        name: 'a metric on the wrong monitored resource',
        file: 'monitoring.tf',
        from: 'ingest_service_filter    = "resource.type = \\"cloud_run_revision\\"',
        to: 'ingest_service_filter    = "resource.type = \\"cloud_function\\"',
        check: 'monitoring filters',
        problem: /run\.googleapis\.com\/request_count is not written for resource type cloud_function/,
      },
      {
        name: 'a metric label that does not exist',
        file: 'monitoring.tf',
        from: 'metric.labels.response_code_class = \\"5xx\\"',
        to: 'metric.labels.status_class = \\"5xx\\"',
        check: 'monitoring filters',
        problem: /metric label "status_class" is not a documented label/,
      },
      {
        name: 'a resource label that does not exist in the dashboard',
        file: 'dashboards/postload.json',
        from: 'resource.labels.subscription_id=',
        to: 'resource.labels.subscription=',
        check: 'monitoring filters',
        problem: /resource label "subscription" is not a documented label/,
      },
      {
        name: 'a dashboard placeholder templatefile() is not given',
        file: 'dashboards/postload.json',
        from: '${dead_letter_subscription}',
        to: '${dead_letters}',
        check: 'monitoring filters',
        problem: /uses \$\{dead_letters\}, which templatefile\(\) is not given/,
      },
      {
        name: 'an alert threshold on a log-based metric created in the same apply',
        file: 'monitoring.tf',
        from: 'processor_service_filter} AND metric.type = \\"run.googleapis.com/request_count\\" AND metric.labels.response_code_class = \\"5xx\\""',
        to: 'processor_service_filter} AND metric.type = \\"logging.googleapis.com/user/${google_logging_metric.permanent_action_failures[0].name}\\""',
        check: 'monitoring filters',
        problem: /an alert threshold on a log-based metric created in the same apply fails the first apply/,
      },
      {
        name: 'a log-based metric matching a message the code never logs',
        file: 'monitoring.tf',
        from: 'jsonPayload.message:\\"failed permanently\\"',
        to: 'jsonPayload.message:\\"failed for good\\"',
        check: 'log-based metrics',
        problem: /no log\.error\(\.\.\.\) under functions\/ logs a message containing "failed for good"/,
      },
    ];

    let scratch: string;
    before(() => {
      scratch = mkdtempSync(join(tmpdir(), 'postload-terraform-'));
    });
    after(() => rmSync(scratch, { recursive: true, force: true }));

    breakages.forEach((breakage, i) => {
      it(`${breakage.check}: ${breakage.name}`, async () => {
        const copy = join(scratch, String(i));
        cpSync(TERRAFORM, copy, { recursive: true, filter: (source) => !/[/\\]\.(terraform|build)([/\\]|$)/.test(source) });
        const file = join(copy, breakage.file);
        const original = readFileSync(file, 'utf8');
        const broken = original.replace(breakage.from, breakage.to);
        assert.notEqual(broken, original, `the breakage must change ${breakage.file}`);
        writeFileSync(file, broken);

        const loaded = await loadTerraform(copy);
        const problems = breakage.check === 'parse' ? loaded.problems : await checks[breakage.check]!(loaded.config, code);
        assert.ok(
          problems.some((p) => breakage.problem.test(p)),
          `expected a problem matching ${breakage.problem}, got:\n${problems.join('\n') || '(none)'}`,
        );
      });
    });
  });

  function resource(type: string, name: string): Record<string, unknown> {
    const found = config.resources.find((r) => r.type === type && r.name === name);
    assert.ok(found, `${type}.${name} is declared`);
    return found.body;
  }

  function asArrayOf(value: unknown): Array<Record<string, unknown>> {
    return (Array.isArray(value) ? value : [value]) as Array<Record<string, unknown>>;
  }

  function block(body: Record<string, unknown>, name: string): Record<string, unknown> {
    const value = body[name];
    assert.ok(Array.isArray(value) && value.length > 0, `${name} block`);
    return value[0] as Record<string, unknown>;
  }
});
