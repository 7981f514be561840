import { fileURLToPath } from 'node:url';
import type { Value } from './hcl-eval.js';
import { asArray, firstBody, resolveString, type Body, type Declared, type TerraformConfig } from './terraform-checks.js';
import { failedPreconditions, plan } from './terraform-eval.js';
import { expandLocals } from './terraform-monitoring.js';

// Static checks of what issue 25 asked of terraform/ (no terraform binary runs here). Each
// returns the problems it found; test/unit/terraform/security.test.ts runs them on the real
// configuration and on copies broken in one place.

// --- finding 1: the Airbyte token is never stored in Cloud Run's request log --------------

/** What an exclusion filter must require, clause by clause (AND), to drop exactly the ingest service's request-log entries with a query. */
const REQUEST_LOG_CLAUSES = [
  'resource.type = "cloud_run_revision"',
  'resource.labels.service_name = "${google_cloudfunctions2_function.ingest.name}"',
  'log_id("run.googleapis.com/requests")',
  'httpRequest.requestUrl:"?"',
];

export function checkRequestLogExclusion(config: TerraformConfig): string[] {
  const exclusions = config.resources.filter((r) => r.type === 'google_logging_project_exclusion');
  const matching = exclusions.filter((e) => {
    const clauses = clausesOf(String(e.body.filter ?? ''));
    return clauses !== undefined && REQUEST_LOG_CLAUSES.every((c) => clauses.includes(c));
  });
  if (matching.length === 0) {
    return [
      `no google_logging_project_exclusion drops the ingest function's request-log entries that carry a query string (Airbyte's ?token=): its filter must be ${REQUEST_LOG_CLAUSES.join(' AND ')}` +
        (exclusions.length ? ` (found: ${exclusions.map((e) => `${e.name}: ${String(e.body.filter)}`).join('; ')})` : ''),
    ];
  }
  const problems: string[] = [];
  for (const exclusion of matching) {
    const where = `${exclusion.file}: google_logging_project_exclusion.${exclusion.name}`;
    if (exclusion.body.disabled !== undefined && exclusion.body.disabled !== false) problems.push(`${where} must not be disabled`);
    if (exclusion.body.count !== undefined || exclusion.body.for_each !== undefined) problems.push(`${where} must always exist (no count or for_each)`);
  }
  return problems;
}

/**
 * The AND-clauses of a Logging filter, or undefined when it is not a plain conjunction: an
 * OR, a NOT or sample() would let entries through (the check then says so).
 */
function clausesOf(filter: string): string[] | undefined {
  const text = filter.replace(/\s+/g, ' ').trim();
  if (/\bOR\b|\bNOT\b|-\w|sample\(/.test(text.replace(/"[^"]*"/g, '""'))) return undefined;
  return text.split(/ AND /).map((c) => c.trim().replace(/\s*(=|:)\s*/, (_, op: string) => (op === '=' ? ' = ' : ':')));
}

// --- finding 5: trusted proxy hops only behind the load balancer ---------------------------

export function checkIngestIngress(config: TerraformConfig): string[] {
  const ingest = ingestFunction(config);
  if (!ingest) return ['no google_cloudfunctions2_function deploys ingestWebhook'];
  const where = `${ingest.file}: google_cloudfunctions2_function.${ingest.name}`;
  const problems: string[] = [];
  if (firstBody(ingest.body.service_config).ingress_settings !== '${var.ingest_ingress}') problems.push(`${where}: ingress_settings must be var.ingest_ingress`);
  const variable = config.variables.get('ingest_ingress');
  if (!variable) problems.push('no variable ingest_ingress is declared');
  else if (!asArray(variable.body.validation).some((v) => /ALLOW_INTERNAL_AND_GCLB/.test(String((v as Body).condition)))) problems.push('variable ingest_ingress has no validation of its values');
  // Every combination the operator can choose: hops > 0 passes only with ALLOW_INTERNAL_AND_GCLB.
  const cases: Array<[number, string, boolean]> = [
    [0, 'ALLOW_ALL', true],
    [0, 'ALLOW_INTERNAL_AND_GCLB', true],
    [1, 'ALLOW_ALL', false],
    [2, 'ALLOW_INTERNAL_ONLY', false],
    [1, 'ALLOW_INTERNAL_AND_GCLB', true],
  ];
  for (const [hops, ingress, allowed] of cases) problems.push(...planVerdict(config, { trusted_proxy_hops: hops, ingest_ingress: ingress }, allowed).map((p) => `${where}: ${p}`));
  return problems;
}

// --- finding 4: the stale age stays inside the audit retention --------------------------------

export function checkStaleAge(config: TerraformConfig): string[] {
  const ingest = ingestFunction(config);
  if (!ingest) return ['no google_cloudfunctions2_function deploys ingestWebhook'];
  const env = (firstBody(ingest.body.service_config).environment_variables ?? {}) as Body;
  const problems: string[] = [];
  if (env.STALE_EVENT_AGE_HOURS !== '${tostring(var.stale_event_age_hours)}') problems.push(`${ingest.file}: the ingest function must set STALE_EVENT_AGE_HOURS from var.stale_event_age_hours`);
  if (env.AUDIT_RETENTION_DAYS !== '${tostring(var.audit_retention_days)}') problems.push(`${ingest.file}: the ingest function must set AUDIT_RETENTION_DAYS from var.audit_retention_days (its stale age is checked against it)`);
  const cases: Array<[number, number, boolean]> = [
    [48, 90, true],
    [23, 1, true],
    [24, 1, false],
    [2159, 90, true],
    [2160, 90, false],
    [100000, 3650, false],
  ];
  for (const [hours, days, allowed] of cases) problems.push(...planVerdict(config, { stale_event_age_hours: hours, audit_retention_days: days }, allowed));
  return problems;
}

/** Whether Terraform would plan with these variables (and an example's required ones), as `allowed` says; else a problem. */
function planVerdict(config: TerraformConfig, variables: Record<string, Value>, allowed: boolean): string[] {
  const failed = failedPreconditions(config, plan(config, { project_id: 'my-data-platform', dbt_cloud_account_id: '12345', routing_config_file: ROUTING_FILE, ...variables }));
  const passes = failed.length === 0;
  const what = Object.entries(variables).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(' with ');
  return passes === allowed ? [] : [`${what} is ${passes ? 'accepted' : 'refused'} at plan time; it must be ${allowed ? 'accepted' : 'refused'}${failed.length ? ` (${failed.join('; ')})` : ''}`];
}

/** A routing file for the plans above (the processor's precondition reads it). */
const ROUTING_FILE = fileURLToPath(new URL('../../schemas/examples/routing.example.json', import.meta.url));

// --- finding 10: the processor's Firestore role covers postload's database only -----------

const FIRESTORE_ROLES = /^roles\/datastore\./;

export function checkFirestoreCondition(config: TerraformConfig): string[] {
  const problems: string[] = [];
  const database = config.resources.find((r) => r.type === 'google_firestore_database');
  const databaseName = database ? resolveString(config, database.body.name) : resolveString(config, config.locals.get('firestore_database')?.value);
  const grants = projectGrants(config).filter((g) => FIRESTORE_ROLES.test(String(g.body.role)));
  if (!grants.some((g) => memberIs(g, 'processor'))) problems.push('the processor is granted no Firestore role');
  for (const grant of grants) {
    const where = `${grant.file}: ${grant.type}.${grant.name}`;
    const condition = firstBody(grant.body.condition);
    const expression = String(condition.expression ?? '');
    const name = /^resource\.name == "projects\/\$\{var\.project_id\}\/databases\/(.+)"$/.exec(expression.trim())?.[1];
    if (!condition.expression) {
      problems.push(`${where}: ${grant.body.role} on the whole project covers every Firestore database in it; add condition { expression = "resource.name == \\"projects/\${var.project_id}/databases/<postload's database>\\"" }`);
    } else if (name === undefined) {
      problems.push(`${where}: the condition must be resource.name == "projects/\${var.project_id}/databases/<database>", got ${expression}`);
    } else if (resolveString(config, name) !== databaseName) {
      problems.push(`${where}: the condition names database ${name}, but postload's database is ${databaseName}`);
    }
    if (!condition.title) problems.push(`${where}: an IAM condition needs a title`);
  }
  return problems;
}

// --- finding 3: only postload's publishers can publish; the build cannot --------------------

/** Roles the build service account may hold: what Google documents a function build needs, and nothing that publishes. */
export const BUILD_ROLES = new Set(['roles/run.builder']);

/** Service accounts allowed to publish SyncEvents: the ingest function and the scheduled sweep (recovered events); both sign. */
export const PUBLISHERS = new Set(['ingest', 'sweep']);

/** Roles that carry pubsub.topics.publish. */
const PUBLISHING_ROLES = new Set(['roles/pubsub.publisher', 'roles/pubsub.editor', 'roles/pubsub.admin', 'roles/editor', 'roles/owner', 'roles/cloudbuild.builds.builder']);

export function checkPublishers(config: TerraformConfig): string[] {
  const problems: string[] = [];
  const build = projectGrants(config).filter((g) => memberIs(g, 'build'));
  for (const grant of build) {
    for (const role of rolesOf(grant)) {
      if (!BUILD_ROLES.has(role)) problems.push(`${grant.file}: ${grant.type}.${grant.name} grants the build service account ${role}; a build needs only ${[...BUILD_ROLES].join(', ')}`);
    }
  }
  if (!build.some((g) => rolesOf(g).includes('roles/run.builder'))) problems.push('the build service account is not granted roles/run.builder: the deploy build could not read the source or push its image');
  for (const grant of projectGrants(config)) {
    if (rolesOf(grant).some((role) => PUBLISHING_ROLES.has(role))) problems.push(`${grant.file}: ${grant.type}.${grant.name} grants ${rolesOf(grant).join(', ')} on the whole project: that publishes to the SyncEvent topic`);
  }
  const topicGrants = config.resources.filter((r) => /^google_pubsub_topic_iam_(member|binding)$/.test(r.type) && /google_pubsub_topic\.sync_events\b/.test(String(r.body.topic)));
  for (const grant of topicGrants) {
    if (!PUBLISHING_ROLES.has(String(grant.body.role))) continue;
    const account = /google_service_account\.(\w+)\.email/.exec(JSON.stringify(grant.body.member ?? grant.body.members ?? ''))?.[1];
    if (!account || !PUBLISHERS.has(account)) problems.push(`${grant.file}: ${grant.type}.${grant.name} lets ${String(grant.body.member ?? grant.body.members)} publish SyncEvents; only ${[...PUBLISHERS].join(', ')} may (and must sign them)`);
  }
  return problems;
}

// --- finding 3: a refused message reaches the on-call team, Slack or not --------------------

/** The start of the ERROR line the processor logs for every message postload did not sign (functions/processor/process-sync-event.ts). */
export const REFUSED_LOG_MESSAGE = 'refused a Pub/Sub message that postload did not sign';

/** What a log-match condition must require, clause by clause (AND), to see every refusal and nothing else. */
const REFUSED_ALERT_CLAUSES = [
  'resource.type = "cloud_run_revision"',
  'resource.labels.service_name = "${google_cloudfunctions2_function.processor.name}"',
  'severity = ERROR',
  `jsonPayload.message:"${REFUSED_LOG_MESSAGE}"`,
];

export function checkRefusedAlert(config: TerraformConfig): string[] {
  const policies = config.resources.filter((r) => r.type === 'google_monitoring_alert_policy');
  const matching = policies.filter((policy) =>
    asArray(policy.body.conditions).some((condition) => {
      const filter = firstBody((condition as Body).condition_matched_log).filter;
      const clauses = typeof filter === 'string' ? clausesOf(expandLocals(config, filter)) : undefined;
      return clauses !== undefined && REFUSED_ALERT_CLAUSES.every((c) => clauses.includes(c));
    }),
  );
  if (matching.length === 0) {
    return [`no google_monitoring_alert_policy alerts on the messages the processor refuses: a condition_matched_log filter must be ${REFUSED_ALERT_CLAUSES.join(' AND ')}`];
  }
  return [];
}

// --- helpers -------------------------------------------------------------------------------

function ingestFunction(config: TerraformConfig): Declared | undefined {
  return config.resources.find((r) => r.type === 'google_cloudfunctions2_function' && resolveString(config, firstBody(r.body.build_config).entry_point) === 'ingestWebhook');
}

function projectGrants(config: TerraformConfig): Declared[] {
  return config.resources.filter((r) => /^google_project_iam_(member|binding)$/.test(r.type));
}

/** The roles a grant gives: its `role`, or every role of a `for_each = toset([...])`. */
function rolesOf(grant: Declared): string[] {
  const role = String(grant.body.role ?? '');
  if (role === '${each.value}' || role === '${each.key}') {
    const list = /toset\(\[([^\]]*)\]\)/.exec(String(grant.body.for_each ?? ''))?.[1] ?? '';
    return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  }
  return [role];
}

function memberIs(grant: Declared, account: string): boolean {
  return new RegExp(`google_service_account\\.${account}\\.email`).test(JSON.stringify(grant.body.member ?? grant.body.members ?? ''));
}
