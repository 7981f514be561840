import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadIngestConfig } from '../../functions/ingest/config.js';
import { readProcessorConfig } from '../../functions/processor/config.js';
import { Secret, type SecretManagerLike } from '../../functions/shared/secrets.js';
import { HclError, type Value } from './hcl-eval.js';
import { codeBlocks, type Doc } from './markdown-docs.js';
import { expandLocals } from './terraform-monitoring.js';
import { asArray, firstBody, type Body, type CodeFacts, type Declared, type TerraformConfig } from './terraform-checks.js';
import { failedPreconditions, functionEnvironment, instancesOf, plan, validates, type Apply } from './terraform-eval.js';

/**
 * The deployment contract: what terraform/ gives the functions (read from the HCL and
 * evaluated, never restated here) against what the code, the CLI and the docs expect.
 * Each check returns the problems it found, so the tests can run it on the real
 * repository and on copies broken in one place.
 */

/** The values a newcomer's terraform.tfvars holds (docs/deploy.md's example project). */
export const EXAMPLE_VARIABLES: Record<string, Value> = { project_id: 'my-data-platform', dbt_cloud_account_id: '12345' };

/** Entry point → the google_cloudfunctions2_function that deploys it. */
export function deployedFunctions(config: TerraformConfig, apply: Apply, code: CodeFacts): Map<string, Declared> {
  const byEntryPoint = new Map<string, Declared>();
  for (const fn of config.resources.filter((r) => r.type === 'google_cloudfunctions2_function')) {
    const entryPoint = apply.value(firstBody(fn.body.build_config).entry_point);
    if (typeof entryPoint === 'string' && code.registered.has(entryPoint)) byEntryPoint.set(entryPoint, fn);
  }
  return byEntryPoint;
}

// --- routing files: every one the repository ships or documents loads under Terraform's environment ---

export interface RoutingSource {
  where: string;
  /** Path of the file (a temporary copy for a documentation example). */
  file: string;
  json: unknown;
}

/** JSON files of the repository that declare the routing schema, outside dependencies, tests and build output. */
export function shippedRoutingFiles(root: string): RoutingSource[] {
  const found: RoutingSource[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(root, path).split('\\').join('/');
      if (/^(node_modules|\.git|dist|dist-test|test)(\/|$)/.test(rel)) continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.json')) {
        const text = readFileSync(path, 'utf8');
        if (!/"\$schema"\s*:\s*"[^"]*routing-config\.schema\.json"/.test(text)) continue;
        found.push({ where: rel, file: path, json: JSON.parse(text) });
      }
    }
  };
  walk(root);
  return found;
}

/** Complete routing files shown in the docs: ```json blocks holding a "routes" array. */
export function documentedRoutingExamples(docs: Doc[], scratch: string): RoutingSource[] {
  const found: RoutingSource[] = [];
  for (const doc of docs) {
    codeBlocks(doc.text).forEach((block, i) => {
      let json: unknown;
      try {
        json = JSON.parse(block);
      } catch {
        return; // a fragment, or another kind of JSON
      }
      if (!json || typeof json !== 'object' || !Array.isArray((json as { routes?: unknown }).routes)) return;
      const file = join(scratch, `${doc.path.replace(/\W/g, '_')}-${i}.json`);
      writeFileSync(file, block);
      found.push({ where: `${doc.path} (JSON block ${i + 1})`, file, json });
    });
  }
  return found;
}

export function withScratchDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'postload-contract-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Secret Manager ids (`sm://projects/P/secrets/NAME` or `sm://NAME`) a routing file names. */
/** Whether a routing file names a Slack app target anywhere (docs/slack-app.md tells its reader to set slack_app_enabled then). */
export function usesSlackApp(json: unknown): boolean {
  const visit = (value: unknown): boolean => {
    if (Array.isArray(value)) return value.some(visit);
    if (!value || typeof value !== 'object') return false;
    return Object.entries(value).some(([key, v]) => (key === 'app' && !!v && typeof v === 'object') || visit(v));
  };
  return visit(json);
}

export function routingSecretIds(json: unknown): string[] {
  const ids = new Set<string>();
  const visit = (value: unknown) => {
    if (typeof value === 'string') {
      const m = /^sm:\/\/(?:projects\/[^/]+\/secrets\/)?([A-Za-z0-9_-]+)(?:\/versions\/[^/]+)?$/.exec(value);
      if (m) ids.add(m[1]!);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(json);
  return [...ids];
}

/**
 * A Secret Manager holding one value for every secret Terraform creates, readable only by
 * the identities Terraform grants roles/secretmanager.secretAccessor on it (the others get
 * PERMISSION_DENIED, a secret Terraform does not create NOT_FOUND), as Google would answer.
 */
export function fakeSecretManager(config: TerraformConfig, apply: Apply, identity: string): () => Promise<SecretManagerLike> {
  const readable = new Set<string>();
  const created = new Set<string>();
  for (const secret of config.resources.filter((r) => r.type === 'google_secret_manager_secret')) {
    for (const instance of instancesOf(apply.resource(secret.type, secret.name))) created.add(String(instance.id));
  }
  for (const grant of config.resources.filter((r) => r.type === 'google_secret_manager_secret_iam_member')) {
    for (const instance of instancesOf(apply.resource(grant.type, grant.name))) {
      if (instance.role === 'roles/secretmanager.secretAccessor' && instance.member === identity) readable.add(String(instance.secret_id));
    }
  }
  const fail = (code: number, message: string) => Object.assign(new Error(message), { code });
  const check = (secret: string) => {
    if (!created.has(secret)) throw fail(5, `NOT_FOUND: ${secret} does not exist (Terraform creates ${[...created].join(', ')})`);
    if (!readable.has(secret)) throw fail(7, `PERMISSION_DENIED: ${identity} may not access ${secret}`);
  };
  const client = {
    listSecretVersions: async ({ parent }: { parent: string }) => {
      check(parent);
      return [[{ name: `${parent}/versions/1` }]];
    },
    accessSecretVersion: async ({ name }: { name: string }) => {
      check(name.replace(/\/versions\/[^/]+$/, ''));
      return [{ payload: { data: Buffer.from(`value of ${name} (a long enough secret for the warning)`) } }];
    },
  };
  return async () => client as unknown as SecretManagerLike;
}

/**
 * The routing file loads in the processor's own config loader under exactly the
 * environment Terraform gives the processor, and every secret the processor would read
 * (the dbt Cloud token, each Slack webhook) resolves through Secret Manager as Terraform
 * set it up. The variables are a newcomer's, plus slack_route_webhook_secrets listing the
 * secrets the file names, as docs/routing.md tells them to.
 */
export async function checkRoutingUnderTerraform(config: TerraformConfig, code: CodeFacts, source: RoutingSource, processorEntryPoint: string, variables: Record<string, Value> = {}): Promise<string[]> {
  const where = `${source.where}${Object.keys(variables).length ? ` (${Object.entries(variables).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ')})` : ''}`;
  let apply: Apply;
  let env: Record<string, string>;
  let identity: string;
  try {
    apply = plan(config, { ...EXAMPLE_VARIABLES, routing_config_file: source.file, slack_route_webhook_secrets: routingSecretIds(source.json), ...(usesSlackApp(source.json) ? { slack_app_enabled: true } : {}), ...variables });
    const fn = deployedFunctions(config, apply, code).get(processorEntryPoint);
    if (!fn) return [`no google_cloudfunctions2_function deploys ${processorEntryPoint}`];
    env = functionEnvironment(apply, fn);
    identity = `serviceAccount:${String(apply.value(firstBody(fn.body.service_config).service_account_email))}`;
  } catch (error) {
    return [`${where}: terraform plan would fail: ${(error as Error).message}`];
  }
  let references: Array<[string, string]>;
  try {
    const processor = readProcessorConfig(env);
    // What the processor will read: the dbt Cloud token, and each Slack webhook the routing file
    // names (env:VARIABLE is that variable's value, itself a value or an sm:// reference).
    references = [
      ...(processor.dbt ? [['DBT_CLOUD_API_TOKEN', env.DBT_CLOUD_API_TOKEN ?? ''] as [string, string]] : []),
      ...[...processor.slackWebhooks.keys()].map((ref): [string, string] => (ref.startsWith('env:') ? [ref.slice(4), env[ref.slice(4)] ?? ''] : [ref, ref])),
      // Each Slack app target's bot token (env:VARIABLE, or an sm:// reference the routing file names).
      ...[...new Set([...processor.slackApps.values()].map((app) => app.token.setting))].map((setting): [string, string] => (setting.startsWith('routing bot token ') ? [setting, setting.slice('routing bot token '.length)] : [setting, env[setting] ?? ''])),
    ];
  } catch (error) {
    return [`${where}: the processor refuses to start with the environment Terraform gives it: ${(error as Error).message}`];
  }
  return readEverySecret(where, 'the processor', references, env.GOOGLE_CLOUD_PROJECT, fakeSecretManager(config, apply, identity));
}

/** Reads each reference as the functions do (a Secret), through the given Secret Manager. */
async function readEverySecret(where: string, reader: string, references: Array<[string, string]>, projectId: string | undefined, client: () => Promise<SecretManagerLike>): Promise<string[]> {
  const problems: string[] = [];
  for (const [setting, reference] of references) {
    try {
      await new Secret(setting, reference, { ...(projectId ? { projectId } : {}), client }).currentValue();
    } catch (error) {
      problems.push(`${where}: ${reader} cannot read ${setting} in the deployment: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** The ingest function starts with its Terraform environment, and reads every secret it is given. */
export async function checkIngestUnderTerraform(config: TerraformConfig, code: CodeFacts, ingestEntryPoint: string, routingFile: string): Promise<string[]> {
  const apply = plan(config, { ...EXAMPLE_VARIABLES, routing_config_file: routingFile });
  const fn = deployedFunctions(config, apply, code).get(ingestEntryPoint);
  if (!fn) return [`no google_cloudfunctions2_function deploys ${ingestEntryPoint}`];
  const env = functionEnvironment(apply, fn);
  const identity = `serviceAccount:${String(apply.value(firstBody(fn.body.service_config).service_account_email))}`;
  let ingest;
  try {
    ingest = loadIngestConfig(env);
  } catch (error) {
    return [`the ingest function refuses to start with the environment Terraform gives it: ${(error as Error).message}`];
  }
  const references = [ingest.fivetranSecret, ingest.airbyteToken, ingest.dbtCloudSecret].map((secret): [string, string] => [secret.setting, env[secret.setting] ?? '']);
  return readEverySecret('terraform/', 'the ingest function', references, env.GOOGLE_CLOUD_PROJECT, fakeSecretManager(config, apply, identity));
}

// --- names the CLI and the local stack default to ------------------------------------------------

/** What a DEPLOYMENT_NAMES entry mirrors: its Terraform address and the output printing it. */
export interface NamedResource {
  name: string;
  terraform: string;
  output: string | undefined;
}

/**
 * Each name equals what its Terraform address evaluates to at the variables' defaults, and
 * the output it names prints that resource (the full id the CLI accepts). The CLI's
 * behaviour with every form is tested on the emulator (test/integration/cli/deployment-names.test.ts).
 */
export function checkDeploymentNames(config: TerraformConfig, names: Record<string, NamedResource>): string[] {
  const problems: string[] = [];
  const apply = plan(config, EXAMPLE_VARIABLES);
  for (const [key, entry] of Object.entries(names)) {
    const [root, name] = entry.terraform.split('.') as [string, string];
    try {
      const resource = root === 'var' ? undefined : (apply.resource(root, name) as Record<string, Value>);
      const terraformName = resource ? String(resource.name) : String(apply.scope.resolve(['var', name]));
      if (terraformName !== entry.name) problems.push(`DEPLOYMENT_NAMES.${key} is "${entry.name}", but ${entry.terraform} is "${terraformName}" at the variables' defaults`);
      if (entry.output) {
        const output = config.outputs.get(entry.output);
        if (!output) problems.push(`DEPLOYMENT_NAMES.${key} names the output ${entry.output}, which terraform/ does not declare`);
        else if (resource && String(apply.value(output.body.value)) !== String(resource.id)) problems.push(`output ${entry.output} does not print ${entry.terraform}'s id`);
      }
    } catch (error) {
      problems.push(`DEPLOYMENT_NAMES.${key}: ${entry.terraform} cannot be evaluated: ${(error as Error).message}`);
    }
  }
  return problems;
}

// --- variables: what Google accepts passes the validation; what the code refuses does not ---

/** The Cloud Run regions, from https://cloud.google.com/run/docs/locations (tier 1 and tier 2). */
export const CLOUD_RUN_REGIONS = [
  'asia-east1', 'asia-northeast1', 'asia-northeast2', 'europe-north1', 'europe-southwest1', 'europe-west1', 'europe-west4', 'europe-west8',
  'europe-west9', 'me-west1', 'us-central1', 'us-east1', 'us-east4', 'us-east5', 'us-south1', 'us-west1',
  'africa-south1', 'asia-east2', 'asia-northeast3', 'asia-southeast1', 'asia-southeast2', 'asia-south1', 'asia-south2',
  'australia-southeast1', 'australia-southeast2', 'europe-central2', 'europe-west10', 'europe-west12', 'europe-west2', 'europe-west3',
  'europe-west6', 'me-central1', 'me-central2', 'northamerica-northeast1', 'northamerica-northeast2', 'southamerica-east1',
  'southamerica-west1', 'us-west2', 'us-west3', 'us-west4',
];

export function checkRegionValidation(config: TerraformConfig, variable = 'region'): string[] {
  const problems: string[] = [];
  for (const region of CLOUD_RUN_REGIONS) {
    if (!validates(config, variable, region, EXAMPLE_VARIABLES)) problems.push(`var.${variable} refuses ${region}, a Cloud Run region (cloud.google.com/run/docs/locations)`);
  }
  for (const wrong of ['europe', 'us-central', 'EUROPE-WEST1', 'europe-west1-b', 'europe west1', '']) {
    if (validates(config, variable, wrong, EXAMPLE_VARIABLES)) problems.push(`var.${variable} accepts "${wrong}", which is no region`);
  }
  return problems;
}

/**
 * The variables a value reads: directly, through locals (`tostring(local.x)` where local.x
 * reads var.y) and through the arguments of the resources it names
 * (`google_pubsub_topic.t.name` where the topic's name is var.z).
 */
export function variablesIn(config: TerraformConfig, expression: unknown, seen = new Set<string>()): Set<string> {
  const text = JSON.stringify(expression ?? null);
  const found = new Set([...text.matchAll(/\bvar\.(\w+)/g)].map((m) => m[1]!));
  const follow = (key: string, value: unknown) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const variable of variablesIn(config, value, seen)) found.add(variable);
  };
  for (const [, name] of text.matchAll(/\blocal\.(\w+)/g)) follow(`local.${name}`, config.locals.get(name!)?.value);
  for (const [, type, name, attribute] of text.matchAll(/\b((?:google|archive|time)_\w+)\.(\w+)(?:\[[^\]]*\])?\.(\w+)/g)) {
    const declared = config.resources.find((r) => r.type === type && r.name === name);
    if (declared && attribute! in declared.body) follow(`${type}.${name}.${attribute}`, declared.body[attribute!]);
  }
  return found;
}

/**
 * Values to try for a variable: its default, the numbers its validation and the code that
 * reads its setting name (each ±1), the strings its validation lists, and a few of every
 * type that a validation should refuse.
 */
export function probes(config: TerraformConfig, variable: string, codeSources: string[], settings: string[]): Value[] {
  const declared = config.variables.get(variable)!;
  const type = String(declared.body.type ?? '');
  const conditions = JSON.stringify(asArray(declared.body.validation).map((v) => (v as Body).condition));
  const codeLines = codeSources.flatMap((source) => source.split('\n').filter((line) => settings.some((s) => line.includes(`'${s}'`))));
  const values: Value[] = [];
  if ('default' in declared.body) values.push(declared.body.default as Value);
  if (/number/.test(type)) {
    const numbers = [...conditions.matchAll(/(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])/g), ...codeLines.join(' ').matchAll(/(?<![\w.'"])\d[\d_]*(?![\w.])/g)].map((m) => Number(m[0].replace(/_/g, '')));
    for (const n of new Set([...numbers, 0])) values.push(n - 1, n, n + 1, n + 0.5);
    values.push(0.5, -1);
  } else if (/list/.test(type)) {
    values.push([], ['35.234.176.0/20'], ['2600:1900::/28'], ['1.2.3.4'], ['1.2.3.4/33'], ['not-an-address']);
  } else if (/bool/.test(type)) {
    values.push(true, false);
  } else {
    for (const m of conditions.matchAll(/\\"([^"\\]*)\\"/g)) values.push(m[1]!);
    values.push('', 'x', 'INFO', 'has/slash', '.', '__reserved__', 'a'.repeat(101), 'a'.repeat(1501));
  }
  return [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
}

/**
 * For every variable Terraform passes into a function's environment: a value the
 * validation accepts must start the function. The function's own loader decides (a
 * ConfigError means it refuses to start); the value reaches it through the same
 * expression Terraform evaluates (tostring(), join(), a local).
 */
export function checkValidationsAgainstCode(config: TerraformConfig, code: CodeFacts, root: string, routingFile: string, loaders: Record<string, (env: Record<string, string>) => unknown>): string[] {
  const problems: string[] = [];
  const base = { ...EXAMPLE_VARIABLES, routing_config_file: routingFile };
  const apply = plan(config, base);
  const functions = deployedFunctions(config, apply, code);
  const readers = new Map<string, Array<{ entryPoint: string; fn: Declared; settings: string[] }>>();
  for (const [entryPoint, fn] of functions) {
    const env = (firstBody(fn.body.service_config).environment_variables ?? {}) as Body;
    for (const [setting, expression] of Object.entries(env)) {
      for (const variable of variablesIn(config, expression)) {
        if (variable === 'routing_config_file') continue; // the routing checks load every example
        const list = readers.get(variable) ?? [];
        const entry = list.find((r) => r.entryPoint === entryPoint);
        if (entry) entry.settings.push(setting);
        else list.push({ entryPoint, fn, settings: [setting] });
        readers.set(variable, list);
      }
    }
  }
  const sources = (folder: string) => [readFileSync(join(root, 'functions', folder, 'config.ts'), 'utf8'), ...sharedSources(root)];
  for (const [variable, users] of readers) {
    const folders = users.map((u) => code.functions.find((f) => f.entryPoint === u.entryPoint)!.folder);
    for (const value of probes(config, variable, folders.flatMap(sources), users.flatMap((u) => u.settings))) {
      if (!validates(config, variable, value, base)) continue;
      let probe: Apply;
      try {
        probe = plan(config, { ...base, [variable]: value });
      } catch (error) {
        if (error instanceof HclError) continue;
        throw error;
      }
      // A value a precondition refuses never reaches a function: Terraform refuses the plan.
      if (failedPreconditions(config, probe).length) continue;
      for (const { entryPoint, fn } of users) {
        const load = loaders[entryPoint];
        if (!load) {
          problems.push(`no loader is given for ${entryPoint}`);
          continue;
        }
        let env: Record<string, string>;
        try {
          env = functionEnvironment(probe, fn);
        } catch (error) {
          problems.push(`var.${variable} = ${JSON.stringify(value)} passes its validation, but the plan fails: ${(error as Error).message}`);
          continue;
        }
        try {
          load(env);
        } catch (error) {
          problems.push(`var.${variable} = ${JSON.stringify(value)} passes its validation, but ${entryPoint} refuses to start with it: ${(error as Error).message}`);
        }
      }
    }
  }
  return problems;
}

function sharedSources(root: string): string[] {
  const dir = join(root, 'functions/shared');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(join(dir, name), 'utf8'));
}

/**
 * A variable that switches an alert on says what the alert matches: a policy with a
 * log-match condition is not "a log-based metric" (which would alert up to 10 minutes
 * after the metric's creation and is built differently).
 */
export function checkAlertVariableDescriptions(config: TerraformConfig): string[] {
  const problems: string[] = [];
  for (const policy of config.resources.filter((r) => r.type === 'google_monitoring_alert_policy')) {
    const logMatch = asArray(policy.body.conditions).some((c) => (c as Body).condition_matched_log !== undefined);
    if (!logMatch) continue;
    for (const variable of variablesIn(config, policy.body.count)) {
      const description = String(config.variables.get(variable)?.body.description ?? '');
      if (/log-based metric/i.test(description)) {
        problems.push(`var.${variable} says its alert works "through a log-based metric", but google_monitoring_alert_policy.${policy.name} matches the log entries themselves (condition_matched_log)`);
      }
    }
  }
  return problems;
}

// --- settings: docs/settings.md lists what the code reads, for the function that reads it, with Terraform's source ---

export interface SettingRow {
  section: string;
  name: string;
  cells: string[];
}

/** The rows of every table under a `## …` heading of docs/settings.md, first cell a `NAME`. */
export function settingsTables(markdown: string): SettingRow[] {
  const rows: SettingRow[] = [];
  let section = '';
  for (const line of markdown.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) section = heading[1]!.trim();
    const row = /^\| `([A-Z][A-Z0-9_]*)` \|(.*)\|\s*$/.exec(line);
    if (row) rows.push({ section, name: row[1]!, cells: row[2]!.split(' | ').map((c) => c.trim()) });
  }
  return rows;
}

/** Vocabularies a setting takes that the code defines; the docs row lists exactly these values. */
export type Vocabularies = Record<string, readonly string[]>;

export function checkSettingsDocs(config: TerraformConfig, code: CodeFacts, markdown: string, vocabularies: Vocabularies, routingFile: string, deliberatelyUnset: Set<string>): string[] {
  const problems: string[] = [];
  const rows = settingsTables(markdown);
  const apply = plan(config, { ...EXAMPLE_VARIABLES, routing_config_file: routingFile });
  const functions = deployedFunctions(config, apply, code);
  // "Both functions" and "Local only" (settings a deployment never sets) speak for every function.
  const sectionFunctions = (section: string) =>
    /^(both|local)\b/i.test(section) ? code.functions : code.functions.filter((f) => new RegExp(`\\b${f.folder}\\b`, 'i').test(section));
  for (const fn of code.functions) {
    for (const setting of fn.settings) {
      if (!rows.some((row) => row.name === setting && sectionFunctions(row.section).includes(fn))) {
        problems.push(`functions/${fn.folder} reads ${setting}, which docs/settings.md lists in no table of that function (or "Both functions")`);
      }
    }
  }
  for (const row of rows) {
    if (/^local/i.test(row.section)) {
      // Read by the code or by a Google client library; never set in a deployment.
      for (const [entryPoint, deployed] of functions) {
        const env = (firstBody(deployed.body.service_config).environment_variables ?? {}) as Body;
        if (row.name in env) problems.push(`docs/settings.md lists ${row.name} as local only, but Terraform sets it for ${entryPoint}`);
      }
      continue;
    }
    const readers = sectionFunctions(row.section);
    if (readers.length === 0) {
      problems.push(`docs/settings.md: section "${row.section}" names no function (ingest, processor, or "Both functions")`);
      continue;
    }
    for (const fn of readers) {
      if (!fn.settings.has(row.name)) problems.push(`docs/settings.md lists ${row.name} under "${row.section}", but functions/${fn.folder} never reads it`);
      const deployed = functions.get(fn.entryPoint);
      if (!deployed) continue;
      const env = (firstBody(deployed.body.service_config).environment_variables ?? {}) as Body;
      const origin = row.cells[1] ?? '';
      if (/^not set\b/i.test(origin)) {
        if (row.name in env) problems.push(`docs/settings.md says Terraform does not set ${row.name}, but it sets it for ${fn.entryPoint}`);
        else if (!deliberatelyUnset.has(row.name)) problems.push(`docs/settings.md says Terraform does not set ${row.name} (${fn.entryPoint}); the Terraform checks expect it set`);
        continue;
      }
      if (!(row.name in env)) {
        problems.push(`docs/settings.md says Terraform sets ${row.name} from ${origin}, but terraform/ does not set it for ${fn.entryPoint}`);
        continue;
      }
      const used = variablesIn(config, env[row.name]);
      for (const [, named] of origin.matchAll(/`([a-z_][a-z0-9_]*)`/g)) {
        if (config.variables.has(named!) && !used.has(named!)) problems.push(`docs/settings.md says ${row.name} comes from var.${named} for ${fn.entryPoint}, but terraform/ sets it from ${[...used].map((v) => `var.${v}`).join(', ') || 'no variable'}`);
      }
      const secret = /the secret `<name_prefix>-([a-z0-9-]+)`/.exec(origin)?.[1];
      if (secret) {
        // An optional secret ("... when `fivetran_api_enabled`") is checked with its switch on.
        const enabler = /\bwhen `([a-z_][a-z0-9_]*)`/.exec(origin)?.[1];
        const view = enabler && config.variables.has(enabler) ? plan(config, { ...EXAMPLE_VARIABLES, routing_config_file: routingFile, [enabler]: true }) : apply;
        const enabledEnv = (firstBody(deployedFunctions(config, view, code).get(fn.entryPoint)?.body.service_config).environment_variables ?? {}) as Body;
        const value = String(view.value(enabledEnv[row.name]));
        if (!value.endsWith(`/secrets/postload-${secret}`)) problems.push(`docs/settings.md says ${row.name} is the secret <name_prefix>-${secret}, but Terraform sets it to ${value} (${fn.entryPoint})`);
      }
    }
    const vocabulary = vocabularies[row.name];
    if (vocabulary) {
      const listed = [...(row.cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      const missing = vocabulary.filter((v) => !listed.includes(v));
      const extra = listed.filter((v) => !vocabulary.includes(v));
      if (missing.length || extra.length) problems.push(`docs/settings.md lists ${row.name} as ${listed.join(', ')}; the code takes ${vocabulary.join(', ')}`);
    }
  }
  return problems;
}

