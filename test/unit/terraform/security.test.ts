import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkProviderSchema, checkReferences, loadTerraform, type TerraformConfig } from '../../support/terraform-checks.js';
import { checkFirestoreCondition, checkIngestIngress, checkPublishers, checkRefusedAlert, checkRequestLogExclusion, checkStaleAge } from '../../support/terraform-security.js';

// Issue 25's Terraform findings, checked statically (no terraform binary runs here): the
// Airbyte token never reaches Cloud Run's request log (1), the build service account cannot
// publish and a message postload did not sign alerts the on-call team, Slack or not (3),
// the stale age stays inside the audit retention (4), trusted proxy hops require the load
// balancer's ingress (5), and the processor's Firestore role covers postload's database
// only (10). Each check also runs on a copy of terraform/ broken in one place, to prove it
// can fail.

const TERRAFORM = join(dirname(fileURLToPath(import.meta.url)), '../../../terraform');

const checks = {
  'request-log exclusion': checkRequestLogExclusion,
  'ingest ingress': checkIngestIngress,
  'stale age': checkStaleAge,
  'Firestore condition': checkFirestoreCondition,
  publishers: checkPublishers,
  'refused-message alert': checkRefusedAlert,
} satisfies Record<string, (config: TerraformConfig) => string[]>;

describe('terraform/: issue 25 (static checks)', function () {
  this.timeout(60_000);
  let config: TerraformConfig;
  before(async () => {
    const loaded = await loadTerraform(TERRAFORM);
    assert.deepEqual(loaded.problems, []);
    config = loaded.config;
  });

  for (const [name, check] of Object.entries(checks)) {
    it(`the real configuration passes the ${name} check`, () => {
      assert.deepEqual(check(config), []);
    });
  }

  it('what these checks rely on exists in the provider and is referenced correctly', async () => {
    const mine = config.resources.filter((r) => ['logging.tf', 'signing.tf'].includes(r.file) || r.name === 'processor_firestore' || r.name === 'build');
    assert.ok(mine.length >= 7);
    assert.deepEqual(checkProviderSchema({ ...config, resources: mine, data: [] }), []);
    assert.deepEqual((await checkReferences(config)).filter((p) => /logging\.tf|signing\.tf|ingest_ingress|firestore_database/.test(p)), []);
  });

  describe('fails on a broken copy', () => {
    const breakages: Array<{ name: string; file: string; from: string | RegExp; to: string; check: keyof typeof checks; problem: RegExp }> = [
      {
        name: 'no exclusion (the Airbyte token is stored in every request-log entry)',
        file: 'logging.tf',
        from: /resource "google_logging_project_exclusion"[\s\S]*$/,
        to: '',
        check: 'request-log exclusion',
        problem: /no google_logging_project_exclusion drops the ingest function's request-log entries/,
      },
      {
        name: 'an exclusion of another service',
        file: 'logging.tf',
        from: 'google_cloudfunctions2_function.ingest.name',
        to: 'google_cloudfunctions2_function.processor.name',
        check: 'request-log exclusion',
        problem: /no google_logging_project_exclusion/,
      },
      {
        name: 'an exclusion of only the URLs that spell ?token= (an encoded or renamed parameter gets through)',
        file: 'logging.tf',
        from: 'httpRequest.requestUrl:\\"?\\"',
        to: 'httpRequest.requestUrl:\\"token=\\"',
        check: 'request-log exclusion',
        problem: /no google_logging_project_exclusion/,
      },
      {
        name: 'an exclusion that samples',
        file: 'logging.tf',
        from: 'log_id(\\"run.googleapis.com/requests\\")',
        to: 'log_id(\\"run.googleapis.com/requests\\") AND sample(insertId, 0.5)',
        check: 'request-log exclusion',
        problem: /no google_logging_project_exclusion/,
      },
      {
        name: 'a disabled exclusion',
        file: 'logging.tf',
        from: '  depends_on = [google_project_service.apis]',
        to: '  disabled   = true\n  depends_on = [google_project_service.apis]',
        check: 'request-log exclusion',
        problem: /must not be disabled/,
      },
      {
        name: 'ingress hard-coded to ALLOW_ALL',
        file: 'functions.tf',
        from: 'ingress_settings               = var.ingest_ingress',
        to: 'ingress_settings               = "ALLOW_ALL"',
        check: 'ingest ingress',
        problem: /ingress_settings must be var\.ingest_ingress/,
      },
      {
        name: 'no precondition: trusted hops behind ALLOW_ALL (X-Forwarded-For can be forged)',
        file: 'functions.tf',
        from: 'var.trusted_proxy_hops == 0 || var.ingest_ingress == "ALLOW_INTERNAL_AND_GCLB"',
        to: 'true',
        check: 'ingest ingress',
        problem: /trusted_proxy_hops = 1 with ingest_ingress = "ALLOW_ALL" is accepted at plan time; it must be refused/,
      },
      {
        name: 'a precondition that also accepts internal-only ingress with hops (no load balancer can reach it)',
        file: 'functions.tf',
        from: 'var.ingest_ingress == "ALLOW_INTERNAL_AND_GCLB"',
        to: 'var.ingest_ingress != "ALLOW_ALL"',
        check: 'ingest ingress',
        problem: /trusted_proxy_hops = 2 with ingest_ingress = "ALLOW_INTERNAL_ONLY" is accepted/,
      },
      {
        name: 'no plan-time check of the stale age against the retention',
        file: 'functions.tf',
        from: 'var.stale_event_age_hours < var.audit_retention_days * 24',
        to: 'true',
        check: 'stale age',
        problem: /stale_event_age_hours = 24 with audit_retention_days = 1 is accepted at plan time; it must be refused/,
      },
      {
        name: 'a check that lets the stale age equal the retention',
        file: 'functions.tf',
        from: 'var.stale_event_age_hours < var.audit_retention_days * 24',
        to: 'var.stale_event_age_hours <= var.audit_retention_days * 24',
        check: 'stale age',
        problem: /stale_event_age_hours = 2160 with audit_retention_days = 90 is accepted/,
      },
      {
        name: 'the ingest function not told the retention its stale age is checked against',
        file: 'functions.tf',
        from: /\n      AUDIT_RETENTION_DAYS     = tostring\(var\.audit_retention_days\)\n(?=[\s\S]*resource "google_cloudfunctions2_function" "processor")/,
        to: '\n',
        check: 'stale age',
        problem: /must set AUDIT_RETENTION_DAYS/,
      },
      {
        name: 'the Firestore role on every database of the project',
        file: 'iam.tf',
        from: /\n  condition \{\n    title       = "postload Firestore database"[\s\S]*?\n  \}\n/,
        to: '\n',
        check: 'Firestore condition',
        problem: /covers every Firestore database/,
      },
      {
        name: 'a condition naming another database',
        file: 'iam.tf',
        from: 'databases/${local.firestore_database}',
        to: 'databases/other',
        check: 'Firestore condition',
        problem: /names database other, but postload's database is \(default\)/,
      },
      {
        name: 'the build service account back on Cloud Build Builder (project-wide pubsub.topics.publish)',
        file: 'iam.tf',
        from: '"roles/run.builder",',
        to: '"roles/run.builder",\n    "roles/cloudbuild.builds.builder",',
        check: 'publishers',
        problem: /grants the build service account roles\/cloudbuild\.builds\.builder/,
      },
      {
        name: 'the processor allowed to publish SyncEvents',
        file: 'iam.tf',
        from: /("ingest_publisher" \{[\s\S]*?member = "serviceAccount:\$\{google_service_account\.)ingest/,
        to: '$1processor',
        check: 'publishers',
        problem: /lets serviceAccount:\$\{google_service_account\.processor\.email\} publish SyncEvents/,
      },
      {
        name: 'no alert on refused messages (without Slack, a forged publisher goes unnoticed)',
        file: 'signing.tf',
        from: /\n# Whatever publishes to the topic without the key[\s\S]*$/,
        to: '\n',
        check: 'refused-message alert',
        problem: /no google_monitoring_alert_policy alerts on the messages the processor refuses/,
      },
      {
        name: 'an alert on another service\'s log',
        file: 'signing.tf',
        from: '${local.processor_service_filter} AND severity = ERROR AND jsonPayload.message:\\"refused',
        to: 'resource.type = \\"cloud_run_revision\\" AND resource.labels.service_name = \\"${google_cloudfunctions2_function.ingest.name}\\" AND severity = ERROR AND jsonPayload.message:\\"refused',
        check: 'refused-message alert',
        problem: /no google_monitoring_alert_policy alerts on the messages the processor refuses/,
      },
      {
        name: 'an alert on a message the processor does not log',
        file: 'signing.tf',
        from: 'refused a Pub/Sub message that postload did not sign\\"',
        to: 'refused an unsigned Pub/Sub message\\"',
        check: 'refused-message alert',
        problem: /no google_monitoring_alert_policy alerts on the messages the processor refuses/,
      },
    ];

    let scratch: string;
    before(() => {
      scratch = mkdtempSync(join(tmpdir(), 'postload-terraform-security-'));
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
        assert.deepEqual(loaded.problems, []);
        const problems = checks[breakage.check](loaded.config);
        assert.ok(problems.some((p) => breakage.problem.test(p)), `expected a problem matching ${breakage.problem}, got:\n${problems.join('\n') || '(none)'}`);
      });
    });
  });
});
