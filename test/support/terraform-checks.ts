import { indexKey, requiredIndex, type CollectionRole, type QueryShape } from '../../functions/read-model/query-shape.js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getReferencesInExpression, parse } from '@cdktf/hcl2json';
import { resourceSchema, type BlockSchema, type ResourceKind } from './terraform-schema.js';

/**
 * Static checks of the Terraform configuration in terraform/, for a machine with no
 * `terraform` binary. Each check returns the problems it found (empty when all is well),
 * so the tests can run it on the real configuration and on deliberately broken copies.
 */

// --- the configuration as hcl2json reads it ------------------------------------------

/** One block body as hcl2json renders it: nested blocks are arrays of bodies, expressions "${...}" strings. */
export type Body = Record<string, unknown>;

export interface Declared {
  file: string;
  kind: ResourceKind;
  type: string;
  name: string;
  body: Body;
}

export interface TerraformConfig {
  dir: string;
  resources: Declared[];
  data: Declared[];
  variables: Map<string, { file: string; body: Body }>;
  locals: Map<string, { file: string; value: unknown }>;
  outputs: Map<string, { file: string; body: Body }>;
  modules: Map<string, { file: string; body: Body }>;
  /** Every parsed file, for checks that walk all expressions. */
  files: { file: string; json: Record<string, unknown> }[];
}

export interface Loaded {
  config: TerraformConfig;
  /** Files that do not parse, duplicate declarations, an empty directory. */
  problems: string[];
}

/** Parses every `.tf` file of dir with HashiCorp's HCL parser (WebAssembly). */
export async function loadTerraform(dir: string): Promise<Loaded> {
  const config: TerraformConfig = {
    dir,
    resources: [],
    data: [],
    variables: new Map(),
    locals: new Map(),
    outputs: new Map(),
    modules: new Map(),
    files: [],
  };
  const problems: string[] = [];
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.tf'))
    .sort();
  if (names.length === 0) problems.push(`${dir}: no .tf files`);
  for (const file of names) {
    let json: Record<string, unknown>;
    try {
      json = await parse(file, readFileSync(join(dir, file), 'utf8'));
    } catch (error) {
      problems.push(`${file} does not parse: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    config.files.push({ file, json });
    collect(config, file, json, problems);
  }
  return { config, problems };
}

function collect(config: TerraformConfig, file: string, json: Record<string, unknown>, problems: string[]): void {
  const seen = (what: string) => problems.push(`${file}: ${what} is declared twice`);
  for (const [kind, key] of [
    ['resource', 'resource'],
    ['data', 'data'],
  ] as const) {
    for (const [type, byName] of entries(json[key])) {
      for (const [name, bodies] of entries(byName)) {
        const list = kind === 'resource' ? config.resources : config.data;
        if (list.some((d) => d.type === type && d.name === name)) seen(`${kind} ${type}.${name}`);
        list.push({ file, kind, type, name, body: firstBody(bodies) });
      }
    }
  }
  for (const [target, key] of [
    [config.variables, 'variable'],
    [config.outputs, 'output'],
    [config.modules, 'module'],
  ] as const) {
    for (const [name, bodies] of entries(json[key])) {
      if (target.has(name)) seen(`${key} ${name}`);
      target.set(name, { file, body: firstBody(bodies) });
    }
  }
  for (const block of asArray(json.locals)) {
    for (const [name, value] of entries(block)) {
      if (config.locals.has(name)) seen(`local ${name}`);
      config.locals.set(name, { file, value });
    }
  }
}

// --- check 1: resource types, arguments and blocks exist in the provider schema -------

const META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection']);

export function checkProviderSchema(config: TerraformConfig): string[] {
  const problems: string[] = [];
  for (const declared of [...config.resources, ...config.data]) {
    const where = `${declared.file}: ${declared.kind === 'data' ? 'data.' : ''}${declared.type}.${declared.name}`;
    const schema = resourceSchema(declared.kind, declared.type);
    if (!schema) {
      problems.push(`${where}: the provider has no ${declared.kind === 'data' ? 'data source' : 'resource type'} "${declared.type}"`);
      continue;
    }
    checkBody(declared.body, schema, where, true, problems);
  }
  return problems;
}

function checkBody(body: Body, schema: BlockSchema, where: string, topLevel: boolean, problems: string[]): void {
  for (const [key, value] of Object.entries(body)) {
    if (topLevel && META_ARGUMENTS.has(key)) continue;
    if (key === 'dynamic') {
      for (const [name, generators] of entries(value)) {
        const nested = schema.blocks.get(name);
        if (!nested) {
          problems.push(`${where}: unknown block "${name}" (dynamic)`);
          continue;
        }
        for (const generator of asArray(generators)) {
          for (const content of asArray((generator as Body).content)) {
            checkBody(content as Body, nested, `${where}.${name}`, false, problems);
          }
        }
      }
    } else if (schema.attributes.has(key)) {
      continue;
    } else if (schema.blocks.has(key)) {
      if (!Array.isArray(value)) {
        problems.push(`${where}: "${key}" is a block, write it as ${key} { ... }`);
        continue;
      }
      for (const nested of value) checkBody(nested as Body, schema.blocks.get(key)!, `${where}.${key}`, false, problems);
    } else {
      problems.push(`${where}: unknown argument or block "${key}"`);
    }
  }
}

// --- check 2: every reference points at something declared ---------------------------

const BUILT_IN_ROOTS = new Set(['each', 'count', 'self', 'path', 'terraform']);

export async function checkReferences(config: TerraformConfig): Promise<string[]> {
  const problems: string[] = [];
  const iterators = dynamicIterators(config);
  for (const { file, json } of config.files) {
    for (const expression of expressions(json)) {
      let references;
      try {
        references = await getReferencesInExpression(file, quoteLiteralParts(expression));
      } catch (error) {
        problems.push(`${file}: cannot read the expression ${expression}: ${String(error)}`);
        continue;
      }
      for (const reference of references) {
        const problem = unresolved(config, reference.value, iterators);
        if (problem) problems.push(`${file}: ${reference.value}: ${problem}`);
      }
    }
  }
  return problems;
}

function unresolved(config: TerraformConfig, reference: string, iterators: Set<string>): string | undefined {
  const [root = '', first, second, third] = reference.split('.');
  switch (root) {
    case 'var':
      return config.variables.has(first ?? '') ? undefined : `no variable "${first}" is declared`;
    case 'local':
      return config.locals.has(first ?? '') ? undefined : `no local "${first}" is declared`;
    case 'module':
      return config.modules.has(first ?? '') ? undefined : `no module "${first}" is declared`;
    case 'data': {
      const declared = config.data.find((d) => d.type === first && d.name === second);
      if (!declared) return `no data source ${first}.${second} is declared`;
      return unknownAttribute(declared, third);
    }
  }
  if (BUILT_IN_ROOTS.has(root) || iterators.has(root)) return undefined;
  const declared = config.resources.find((d) => d.type === root && d.name === first);
  if (!declared) return `no resource ${root}.${first} is declared`;
  return unknownAttribute(declared, second);
}

function unknownAttribute(declared: Declared, attribute: string | undefined): string | undefined {
  if (attribute === undefined || /^\d+$/.test(attribute)) return undefined;
  const schema = resourceSchema(declared.kind, declared.type);
  if (!schema || schema.readable.has(attribute)) return undefined;
  return `${declared.type} has no attribute "${attribute}"`;
}

/** Names a `dynamic` block's content may use as its iterator (the label, or `iterator = x`). */
function dynamicIterators(config: TerraformConfig): Set<string> {
  const names = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, nested] of Object.entries(value)) {
        if (key === 'dynamic') {
          for (const [label, generators] of entries(nested)) {
            names.add(label);
            for (const generator of asArray(generators)) {
              const iterator = (generator as Body).iterator;
              if (typeof iterator === 'string') names.add(iterator.replace(/^\$\{|\}$/g, ''));
            }
          }
        }
        visit(nested);
      }
    }
  };
  config.files.forEach(({ json }) => visit(json));
  return names;
}

/**
 * hcl2json gives a template string with its literal parts unescaped (`a = "${x}"` in a
 * filter); reading it back as a template needs them escaped again, interpolations as they are.
 */
export function quoteLiteralParts(template: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (depth === 0 && c === '$' && template[i + 1] === '{') {
      depth = 1;
      out += '${';
      i++;
    } else if (depth > 0) {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      out += c;
    } else {
      out += c === '"' || c === '\\' ? `\\${c}` : c;
    }
  }
  return out;
}

/** Every string holding an expression, except type constraints, ignore_changes lists and provider names. */
function expressions(json: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown, key: string | undefined, parent: string | undefined): void => {
    if (typeof value === 'string') {
      if (value.includes('${')) found.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, key, parent);
    } else if (value && typeof value === 'object') {
      for (const [child, nested] of Object.entries(value)) {
        if (child === 'ignore_changes' || child === 'provider') continue;
        if (child === 'type' && key !== undefined && parent === 'variable') continue;
        visit(nested, child, key);
      }
    }
  };
  // variable "x" { type = ... }: parse output is variable -> x -> [ { type } ].
  for (const [section, content] of Object.entries(json as Record<string, unknown>)) {
    if (section === 'variable') {
      for (const [, bodies] of entries(content)) visit(bodies, 'x', 'variable');
    } else {
      visit(content, section, undefined);
    }
  }
  return found;
}

// --- what the code expects: registered functions, settings read, secrets ---------------

export interface CodeFunction {
  /** The name registered with the Functions Framework (the deploy's entry point). */
  entryPoint: string;
  /** Its folder under functions/, whose config.ts reads its settings. */
  folder: string;
  /** Every environment variable it reads (its config.ts and functions/shared). */
  settings: Set<string>;
  /** The settings read with secretSetting(): values that may be Secret Manager references. */
  secrets: Set<string>;
}

export interface CodeFacts {
  registered: Set<string>;
  functions: CodeFunction[];
}

/** Which constant in functions/index.ts names which function folder's entry point. */
const FUNCTION_FOLDERS = [
  { folder: 'ingest', constant: 'INGEST_FUNCTION' },
  { folder: 'processor', constant: 'PROCESSOR_FUNCTION' },
  { folder: 'sweep', constant: 'SWEEP_FUNCTION' },
];

/**
 * Reads the code's side of the contract. Fails loudly (throws) when a file is missing or
 * yields nothing, so a refactor cannot silently turn the cross-checks into no-ops.
 */
export function readCodeFacts(root: string): CodeFacts {
  const index = readRequired(join(root, 'functions/index.ts'));
  const constants = new Map([...index.matchAll(/\bconst (\w+)\s*=\s*['"]([^'"]+)['"]/g)].map((m) => [m[1]!, m[2]!]));
  const registered = new Set<string>();
  for (const m of index.matchAll(/\bfunctions\.(?:http|cloudEvent)\(\s*(?:['"]([^'"]+)['"]|(\w+))/g)) {
    const name = m[1] ?? constants.get(m[2]!);
    if (name === undefined) throw new Error(`functions/index.ts registers ${m[2]}, which is not a string constant there`);
    registered.add(name);
  }
  if (registered.size === 0) throw new Error('functions/index.ts registers no function (functions.http / functions.cloudEvent)');

  const shared = settingsRead(sharedSources(root));
  const functions = FUNCTION_FOLDERS.map(({ folder, constant }) => {
    const entryPoint = constants.get(constant);
    if (entryPoint === undefined || !registered.has(entryPoint)) {
      throw new Error(`functions/index.ts has no registered function named by the constant ${constant}`);
    }
    const file = join(root, 'functions', folder, 'config.ts');
    const own = settingsRead(readRequired(file));
    if (own.settings.size === 0) throw new Error(`${file} reads no environment variable: the settings extraction found nothing`);
    return {
      entryPoint,
      folder,
      settings: new Set([...own.settings, ...shared.settings]),
      secrets: new Set([...own.secrets, ...shared.secrets]),
    };
  });
  return { registered, functions };
}

function readRequired(file: string): string {
  if (!existsSync(file)) throw new Error(`${file} is missing: the Terraform cross-checks read it`);
  return readFileSync(file, 'utf8');
}

function sharedSources(root: string): string {
  const dir = join(root, 'functions/shared');
  if (!existsSync(dir)) return '';
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('\n');
}

/**
 * Environment variable names in a source file: the settings helpers
 * (`optionalString(env, 'NAME')`, `requiredString`, `integer`, `secretSetting`, or any
 * helper called as `helper(env, 'NAME', ...)`), and direct `env.NAME` / `process.env.NAME`
 * / `env['NAME']` reads.
 */
export function settingsRead(source: string): { settings: Set<string>; secrets: Set<string> } {
  const settings = new Set<string>();
  const secrets = new Set<string>();
  for (const m of source.matchAll(/\b(\w+)\(\s*\w+\s*,\s*['"]([A-Z][A-Z0-9_]*)['"]/g)) {
    settings.add(m[2]!);
    if (m[1] === 'secretSetting') secrets.add(m[2]!);
  }
  for (const m of source.matchAll(/\b(?:env|process\.env)(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g)) {
    settings.add((m[1] ?? m[2])!);
  }
  return { settings, secrets };
}

// --- check 3: entry points and runtime --------------------------------------------------

export const RUNTIME = 'nodejs22';

export function checkEntryPoints(config: TerraformConfig, code: CodeFacts): string[] {
  const problems: string[] = [];
  const functions = cloudFunctions(config);
  if (functions.length === 0) problems.push('no google_cloudfunctions2_function is declared');
  const deployed = new Set<string>();
  for (const fn of functions) {
    const build = firstBody(fn.body.build_config);
    const entryPoint = resolveString(config, build.entry_point);
    const runtime = resolveString(config, build.runtime);
    if (entryPoint === undefined) {
      problems.push(`${fn.file}: ${fn.name} has no entry_point that resolves to a string`);
    } else if (!code.registered.has(entryPoint)) {
      problems.push(`${fn.file}: ${fn.name} has entry_point "${entryPoint}", which functions/index.ts does not register (it registers ${[...code.registered].join(', ')})`);
    } else {
      deployed.add(entryPoint);
    }
    if (runtime !== RUNTIME) problems.push(`${fn.file}: ${fn.name} runs on ${runtime ?? 'an unknown runtime'}, expected ${RUNTIME}`);
  }
  for (const name of code.registered) {
    if (!deployed.has(name)) problems.push(`the registered function ${name} is deployed by no google_cloudfunctions2_function`);
  }
  return problems;
}

// --- check 4: every setting the code reads is set ----------------------------------------

/**
 * Variables the code reads that Terraform deliberately leaves unset, so the code's own
 * defaults apply:
 * - GCLOUD_PROJECT: legacy fallback of GOOGLE_CLOUD_PROJECT, which Terraform sets.
 * - OUTBOUND_TIMEOUT_MS, OUTBOUND_RETRY_MIN_DELAY_MS, OUTBOUND_RETRY_MAX_DELAY_MS,
 *   OUTBOUND_MAX_ATTEMPTS: the processor's per-call timeout and backoff toward dbt Cloud
 *   and Slack; the defaults fit, and the whole budget (OUTBOUND_BUDGET_MS) is set from
 *   the function's timeout.
 * - FIRESTORE_TIMEOUT_MS: per-operation Firestore timeout, default fits.
 * - SECRET_MANAGER_EMULATOR_HOST: local only, the Secret Manager stand-in's host:port
 *   (functions/shared/secret-manager-client.ts); a deployment reads the real service.
 * - SLACK_API_BASE_URL: local only, the Slack Web API stand-in; a deployment talks to
 *   https://slack.com/api, the default.
 */
export const DELIBERATELY_UNSET = new Set([
  'GCLOUD_PROJECT',
  'OUTBOUND_TIMEOUT_MS',
  'OUTBOUND_RETRY_MIN_DELAY_MS',
  'OUTBOUND_RETRY_MAX_DELAY_MS',
  'OUTBOUND_MAX_ATTEMPTS',
  'FIRESTORE_TIMEOUT_MS',
  'SECRET_MANAGER_EMULATOR_HOST',
  'SLACK_API_BASE_URL',
]);

/** Set by Terraform for the runtime, not read through the settings helpers. */
export const EXPECTED_RUNTIME_SETTINGS: Record<string, string> = {
  // Hides stack traces in the Functions Framework's default error pages.
  NODE_ENV: 'production',
};

export function checkEnvironment(config: TerraformConfig, code: CodeFacts): string[] {
  const problems: string[] = [];
  for (const { fn, code: expected } of matchedFunctions(config, code, problems)) {
    const env = environmentOf(fn);
    for (const name of expected.settings) {
      if (!env.has(name) && !DELIBERATELY_UNSET.has(name)) {
        problems.push(`${fn.file}: ${fn.name} does not set ${name}, which functions/${expected.folder} reads`);
      }
    }
    for (const name of env.keys()) {
      if (!expected.settings.has(name) && !(name in EXPECTED_RUNTIME_SETTINGS)) {
        problems.push(`${fn.file}: ${fn.name} sets ${name}, which functions/${expected.folder} never reads`);
      }
    }
    for (const [name, value] of Object.entries(EXPECTED_RUNTIME_SETTINGS)) {
      if (env.get(name)?.value !== value) problems.push(`${fn.file}: ${fn.name} must set ${name}=${value}`);
    }
  }
  return problems;
}

// --- check 5: every secret is bound to its function and readable by its identity --------

const ACCESS_ROLES = new Set(['roles/secretmanager.secretAccessor', 'roles/secretmanager.admin']);
const LIST_ROLES = new Set(['roles/secretmanager.viewer', 'roles/secretmanager.secretVersionManager', 'roles/secretmanager.admin']);

export function checkSecrets(config: TerraformConfig, code: CodeFacts): string[] {
  const problems: string[] = [];
  const bindings = config.resources.filter((r) =>
    /^google_secret_manager_secret_iam_(member|binding)$/.test(r.type),
  );
  for (const { fn, code: expected } of matchedFunctions(config, code, problems)) {
    const identity = resourceRefs(firstBody(fn.body.service_config).service_account_email).find(
      (r) => r.type === 'google_service_account',
    );
    if (expected.secrets.size > 0 && !identity) {
      problems.push(`${fn.file}: ${fn.name} reads secrets but runs as no google_service_account declared here`);
      continue;
    }
    const env = environmentOf(fn);
    for (const name of expected.secrets) {
      const binding = env.get(name);
      const secret = resourceRefs(binding?.value).find((r) => r.type === 'google_secret_manager_secret');
      // An optional secret: `cond ? "sm://…" : ""`, blank (unset) when switched off.
      const optional = /^\$\{[\w.]+ \? "sm:\/\/[^"]+" : ""\}$/.test(String(binding?.value ?? ''));
      if (!binding || !secret || (binding.kind === 'plain' && !String(binding.value).startsWith('sm://') && !optional)) {
        problems.push(`${fn.file}: ${fn.name} reads the secret ${name}, but it is not set to a google_secret_manager_secret (sm://... reference)`);
        continue;
      }
      const grants = bindings.filter(
        (b) =>
          resourceRefs(b.body.secret_id).some((r) => r.type === secret.type && r.name === secret.name) &&
          resourceRefs(b.body.member ?? b.body.members).some((r) => r.type === identity!.type && r.name === identity!.name),
      );
      const roles = new Set(grants.map((g) => String(g.body.role)));
      if (![...roles].some((role) => ACCESS_ROLES.has(role))) {
        problems.push(`${fn.name} reads ${name} from ${secret.type}.${secret.name}, but google_service_account.${identity!.name} has no roles/secretmanager.secretAccessor on it`);
      }
      // A reference without a version accepts every enabled version, which means listing them.
      if (binding.kind === 'plain' && !String(binding.value).includes('/versions/') && ![...roles].some((role) => LIST_ROLES.has(role))) {
        problems.push(`${fn.name} reads every enabled version of ${secret.type}.${secret.name} (${name}), but google_service_account.${identity!.name} may not list its versions (roles/secretmanager.viewer)`);
      }
    }
  }
  return problems;
}

// --- check 6: the source archive is an allow-list of what the deploy build needs ---------

/** Files the deploy build and the runtime read: the build's inputs and the schemas read at run time. */
export const REQUIRED_IN_ARCHIVE = ['package.json', 'package-lock.json', 'tsconfig.json', 'functions/index.ts'];
/** Directories no deploy may carry: dependencies, tests, Terraform (and its state), build output, local stand-ins. */
export const NOT_DEPLOYED = ['node_modules/', 'test/', 'terraform/', 'dist/', 'functions/generated/', 'functions/local/', 'functions/cli/', '.git/'];

export interface DeploySource {
  /** Repository paths the archive holds (besides package.json), as Terraform's fileset() finds them. */
  files: string[];
  /** The package.json the archive holds instead of the repository's. */
  packageJson: Record<string, unknown>;
}

/**
 * What terraform/source.tf puts in the archive, evaluated here as Terraform would: the
 * fileset() patterns of local.source_patterns minus local.source_excluded_patterns, and
 * the package.json trimmed to local.build_scripts and local.build_dev_dependencies.
 */
export function deploySource(config: TerraformConfig, root: string): { source?: DeploySource; problems: string[] } {
  const problems: string[] = [];
  const list = (name: string): string[] | undefined => {
    const value = config.locals.get(name)?.value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string' && !v.includes('${'))) return value as string[];
    problems.push(`terraform/source.tf: local.${name} must be a literal list of strings`);
    return undefined;
  };
  const [patterns, excluded, scripts, devDependencies] = ['source_patterns', 'source_excluded_patterns', 'build_scripts', 'build_dev_dependencies'].map(list);
  if (!patterns || !excluded || !scripts || !devDependencies) return { problems };
  const all = repositoryFiles(root);
  const matching = (globs: string[]) => new Set(all.filter((file) => globs.some((glob) => filesetMatch(glob, file))));
  const skip = matching(excluded);
  const files = [...matching(patterns)].filter((file) => !skip.has(file)).sort();
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
  const pick = (from: Record<string, string> | undefined, keep: string[]) => Object.fromEntries(Object.entries(from ?? {}).filter(([name]) => keep.includes(name)));
  for (const name of devDependencies) if (!manifest.devDependencies?.[name]) problems.push(`terraform/source.tf: build_dev_dependencies names ${name}, which package.json does not list`);
  for (const name of scripts) if (!manifest.scripts?.[name]) problems.push(`terraform/source.tf: build_scripts names ${name}, which package.json does not define`);
  const packageJson = { ...manifest, scripts: pick(manifest.scripts, scripts), devDependencies: pick(manifest.devDependencies, devDependencies) };
  return { source: { files, packageJson }, problems };
}

export function checkSourceArchive(config: TerraformConfig, root: string): string[] {
  const archives = config.data.filter((d) => d.type === 'archive_file');
  if (archives.length === 0) return ['no archive_file data source builds the deployed source'];
  const problems: string[] = [];
  for (const archive of archives) {
    const where = `${archive.file}: data.archive_file.${archive.name}`;
    if (archive.body.source_dir !== undefined) problems.push(`${where}: source_dir uploads a whole directory; list the files (source blocks) instead`);
    const sources = asArray(archive.body.source).map((s) => s as Body);
    if (!sources.some((s) => s.filename === 'package.json' && s.content === '${local.deploy_package_json}')) {
      problems.push(`${where}: must ship package.json as local.deploy_package_json (trimmed to the build's tools)`);
    }
    const generators = asArray(entries(archive.body.dynamic).find(([name]) => name === 'source')?.[1]).map((g) => g as Body);
    if (!generators.some((g) => g.for_each === '${local.source_files}')) problems.push(`${where}: must add every file of local.source_files (dynamic "source")`);
  }
  const { source, problems: evaluation } = deploySource(config, root);
  problems.push(...evaluation);
  if (!source) return problems;
  const shipped = new Set(['package.json', ...source.files]);
  for (const needed of REQUIRED_IN_ARCHIVE) if (!shipped.has(needed)) problems.push(`the deployed source misses ${needed}, which the deploy build needs`);
  for (const schema of repositoryFiles(root).filter((f) => /^schemas\/[^/]+\.schema\.json$/.test(f))) {
    if (!shipped.has(schema)) problems.push(`the deployed source misses ${schema}, which the functions read at run time`);
  }
  for (const file of source.files) {
    const unwanted = NOT_DEPLOYED.find((prefix) => file.startsWith(prefix));
    if (unwanted) problems.push(`the deployed source uploads ${file} (nothing under ${unwanted} may be deployed)`);
    else if (!/^functions\/.+\.ts$/.test(file) && !/^schemas\//.test(file) && !['package-lock.json', 'tsconfig.json'].includes(file)) {
      problems.push(`the deployed source uploads ${file}, which no build or run reads`);
    }
  }
  problems.push(...leanBuildProblems(source.packageJson, root));
  return problems;
}

/**
 * Every devDependency the deploy build installs must be a tool the build scripts run (its
 * bin is named in them), a library a build step imports (functions/build/), or type
 * definitions tsconfig.json asks for (compilerOptions.types).
 */
function leanBuildProblems(packageJson: Record<string, unknown>, root: string): string[] {
  const problems: string[] = [];
  const scripts = Object.values((packageJson.scripts ?? {}) as Record<string, string>).join(' ');
  const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions?: { types?: string[] } };
  const types = new Set(tsconfig.compilerOptions?.types ?? []);
  const buildSteps = join(root, 'functions/build');
  const imported = new Set(
    readdirSync(buildSteps)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => [...readFileSync(join(buildSteps, name), 'utf8').matchAll(/^import\b[^;]*?\bfrom\s*'([^'.][^']*)'/gm)].map((m) => m[1]!)),
  );
  for (const name of Object.keys((packageJson.devDependencies ?? {}) as Record<string, string>)) {
    if (name.startsWith('@types/') && types.has(name.slice('@types/'.length))) continue;
    if (imported.has(name)) continue;
    const manifest = join(root, 'node_modules', name, 'package.json');
    const bin = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> }).bin : undefined;
    const bins = typeof bin === 'string' ? [name.split('/').pop()!] : Object.keys(bin ?? {});
    if (!bins.some((b) => new RegExp(`(^|[\\s&;|])${escapeRegExp(b)}(\\s|$)`).test(scripts))) {
      problems.push(`the deploy build installs the devDependency ${name}, which no build script runs`);
    }
  }
  return problems;
}

/** Files of the package as Terraform's fileset() sees them (relative, with /), minus dependencies and git. */
function repositoryFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((name) => name.split('\\').join('/'))
    .filter((name) => !/^(node_modules|\.git)(\/|$)/.test(name) && statSync(join(root, name)).isFile());
}

/** Terraform fileset() glob semantics (doublestar): `*` and `?` within a segment, `**` across segments. */
export function filesetMatch(glob: string, file: string): boolean {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      pattern += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else pattern += escapeRegExp(c);
  }
  return new RegExp(`^${pattern}$`).test(file);
}

// --- check 7: the Pub/Sub service agent is created before anything is granted to it -------

export function checkServiceAgent(config: TerraformConfig): string[] {
  const problems: string[] = [];
  const identity = config.resources.find((r) => r.type === 'google_project_service_identity' && r.body.service === 'pubsub.googleapis.com');
  if (!identity) return ['no google_project_service_identity creates the Pub/Sub service agent (service = "pubsub.googleapis.com")'];
  if (identity.body.provider !== '${google-beta}') problems.push(`${identity.file}: google_project_service_identity.${identity.name} needs provider = google-beta (it exists only there)`);
  const member = `\${google_project_service_identity.${identity.name}.member}`;
  for (const { file, json } of config.files) {
    if (JSON.stringify(json).includes('gcp-sa-pubsub')) problems.push(`${file}: spells out the Pub/Sub service agent's email; grant to google_project_service_identity.${identity.name}.member instead`);
  }
  const grants = config.resources.filter((r) => /_iam_(member|binding)$/.test(r.type));
  const grantTo = (type: string, target: string, role: string, on: RegExp) =>
    grants.find((g) => g.type === type && g.body.role === role && on.test(String(g.body[target] ?? '')) && g.body.member === member);
  for (const subscription of config.resources.filter((r) => r.type === 'google_pubsub_subscription')) {
    const policy = asArray(subscription.body.dead_letter_policy)[0] as Body | undefined;
    if (!policy) continue;
    const topic = /google_pubsub_topic\.(\w+)/.exec(String(policy.dead_letter_topic ?? ''))?.[1];
    const where = `google_pubsub_subscription.${subscription.name}`;
    if (!topic || !grantTo('google_pubsub_topic_iam_member', 'topic', 'roles/pubsub.publisher', new RegExp(`google_pubsub_topic\\.${topic}\\.`))) {
      problems.push(`${where} dead-letters, but the service identity has no roles/pubsub.publisher on its dead-letter topic`);
    }
    if (!grantTo('google_pubsub_subscription_iam_member', 'subscription', 'roles/pubsub.subscriber', new RegExp(`google_pubsub_subscription\\.${subscription.name}\\.`))) {
      problems.push(`${where} dead-letters, but the service identity has no roles/pubsub.subscriber on it`);
    }
  }
  return problems;
}

// --- check 8: the functions deploy after the IAM grants had time to propagate --------------

export function checkPropagationWait(config: TerraformConfig): string[] {
  const problems: string[] = [];
  const waits = config.resources.filter((r) => r.type === 'time_sleep');
  if (waits.length === 0) return ['no time_sleep waits for IAM propagation before the functions'];
  const functions = cloudFunctions(config);
  const identities = new Set(
    functions.flatMap((fn) =>
      [...resourceRefs(firstBody(fn.body.service_config).service_account_email), ...resourceRefs(firstBody(fn.body.build_config).service_account)]
        .filter((r) => r.type === 'google_service_account')
        .map((r) => r.name),
    ),
  );
  for (const fn of functions) {
    const after = asArray(fn.body.depends_on).map(String);
    const wait = waits.find((w) => after.includes(`\${time_sleep.${w.name}}`));
    if (!wait) {
      problems.push(`${fn.file}: google_cloudfunctions2_function.${fn.name} does not depend on a time_sleep after the IAM grants`);
      continue;
    }
    const waited = new Set(asArray(wait.body.depends_on).map(String));
    for (const grant of config.resources.filter((r) => /_iam_(member|binding)$/.test(r.type))) {
      const body = JSON.stringify(grant.body);
      if (body.includes('google_cloudfunctions2_function.')) continue; // invoker grants need the function first
      const grantee = resourceRefs(grant.body.member ?? grant.body.members).find((r) => r.type === 'google_service_account');
      if (grantee && identities.has(grantee.name) && !waited.has(`\${${grant.type}.${grant.name}}`)) {
        problems.push(`time_sleep.${wait.name} does not wait for ${grant.type}.${grant.name} (a grant to google_service_account.${grantee.name}, which a function runs or builds as)`);
      }
    }
  }
  return problems;
}

// --- check 9: the routing file fits the processor's environment -----------------------------

/** Cloud Run: every environment variable's name and value together, at most 32 KiB. */
export const ENVIRONMENT_LIMIT_BYTES = 32768;

/** Terraform's jsonencode(): compact, with <, >, &, U+2028 and U+2029 escaped as \uXXXX. */
export function terraformJsonEncode(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The processor passes the routing file in ROUTING_CONFIG; a precondition refuses, at plan
 * time, a file larger than local.routing_config_max_bytes. This checks that the
 * precondition is there, that the reserve it leaves holds the other variables, and (given a
 * routing file) that the file fits, measured as Terraform measures it.
 */
export function checkRoutingSize(config: TerraformConfig, routingFile?: string): string[] {
  const problems: string[] = [];
  const fn = cloudFunctions(config).find((f) => environmentOf(f).has('ROUTING_CONFIG'));
  if (!fn) return ['no function sets ROUTING_CONFIG'];
  const where = `${fn.file}: google_cloudfunctions2_function.${fn.name}`;
  const env = environmentOf(fn);
  if (env.get('ROUTING_CONFIG')?.value !== '${local.routing_config_json}') problems.push(`${where}: ROUTING_CONFIG must be local.routing_config_json`);
  const max = evaluateNumber(config.locals.get('routing_config_max_bytes')?.value);
  if (max === undefined) return [...problems, 'local.routing_config_max_bytes must be a number (or a difference of two)'];
  const preconditions = asArray(firstBody(fn.body.lifecycle).precondition).map((p) => String((p as Body).condition ?? ''));
  if (!preconditions.some((c) => /local\.routing_config_bytes\s*<=\s*local\.routing_config_max_bytes/.test(c))) {
    problems.push(`${where}: no precondition refuses a routing file over local.routing_config_max_bytes`);
  }
  const bytesExpression = String(config.locals.get('routing_config_bytes')?.value ?? '');
  if (!/base64encode\(local\.routing_config_json\)/.test(bytesExpression)) {
    problems.push('local.routing_config_bytes must measure the UTF-8 bytes of local.routing_config_json (length of its base64 * 3 / 4)');
  }
  // The other variables: names plus values, an interpolation counted as up to 64 bytes.
  let others = 0;
  for (const [name, { value }] of env) {
    if (name === 'ROUTING_CONFIG') continue;
    const text = String(value);
    others += name.length + text.replace(/\$\{[^}]*\}/g, '').length + 64 * (text.match(/\$\{/g)?.length ?? 0);
  }
  if (others + max > ENVIRONMENT_LIMIT_BYTES) {
    problems.push(`${where}: the other environment variables take up to ${others} bytes, more than the ${ENVIRONMENT_LIMIT_BYTES - max} the routing limit leaves`);
  }
  if (routingFile !== undefined) {
    const bytes = Buffer.byteLength(terraformJsonEncode(JSON.parse(readFileSync(routingFile, 'utf8'))));
    if (bytes > max) problems.push(`the routing file ${routingFile} is ${bytes} bytes compacted, more than the ${max} bytes the processor's environment leaves it`);
  }
  return problems;
}

function evaluateNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const m = /^\$\{(\d+)\s*-\s*(\d+)\}$/.exec(String(value));
  return m ? Number(m[1]) - Number(m[2]) : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// --- helpers ----------------------------------------------------------------------------

function cloudFunctions(config: TerraformConfig): Declared[] {
  return config.resources.filter((r) => r.type === 'google_cloudfunctions2_function');
}

function matchedFunctions(config: TerraformConfig, code: CodeFacts, problems: string[]): { fn: Declared; code: CodeFunction }[] {
  const matched: { fn: Declared; code: CodeFunction }[] = [];
  for (const expected of code.functions) {
    const fn = cloudFunctions(config).find((f) => resolveString(config, firstBody(f.body.build_config).entry_point) === expected.entryPoint);
    if (!fn) problems.push(`no google_cloudfunctions2_function deploys ${expected.entryPoint} (functions/${expected.folder})`);
    else matched.push({ fn, code: expected });
  }
  return matched;
}

interface EnvBinding {
  kind: 'plain' | 'secret';
  value: unknown;
}

function environmentOf(fn: Declared): Map<string, EnvBinding> {
  const service = firstBody(fn.body.service_config);
  const env = new Map<string, EnvBinding>();
  for (const [name, value] of entries(service.environment_variables)) env.set(name, { kind: 'plain', value });
  for (const secret of asArray(service.secret_environment_variables)) {
    const { key, secret: value } = secret as Body;
    if (typeof key === 'string') env.set(key, { kind: 'secret', value });
  }
  return env;
}

/** A literal string, or `${local.x}` / `${var.x}` (its default) resolved; otherwise undefined. */
export function resolveString(config: TerraformConfig, value: unknown, depth = 0): string | undefined {
  if (typeof value !== 'string' || depth > 10) return undefined;
  const reference = /^\$\{(local|var)\.(\w+)\}$/.exec(value);
  if (!reference) return value.includes('${') ? undefined : value;
  if (reference[1] === 'local') return resolveString(config, config.locals.get(reference[2]!)?.value, depth + 1);
  return resolveString(config, config.variables.get(reference[2]!)?.body.default, depth + 1);
}

/** Resource references (type.name) inside a value's expressions. */
function resourceRefs(value: unknown): { type: string; name: string }[] {
  const text = JSON.stringify(value ?? null);
  return [...text.matchAll(/\$\{[^}]*/g)].flatMap((expression) =>
    [...expression[0].matchAll(/\b((?:google|archive)_\w+)\.(\w+)/g)].map((m) => ({ type: m[1]!, name: m[2]! })),
  );
}

export function firstBody(value: unknown): Body {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return first && typeof first === 'object' ? (first as Body) : {};
}

export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function entries(value: unknown): [string, unknown][] {
  return value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
}

// --- Firestore composite indexes ----------------------------------------------------

/** The Terraform variable that names each collection the read model queries (variables.tf). */
export const COLLECTION_VARIABLES: Record<CollectionRole, string> = {
  audit: 'audit_collection',
  connectors: 'connectors_collection',
  joins: 'joins_collection',
  jobState: 'job_state_collection',
  freshness: 'freshness_collection',
  followedRuns: 'followed_runs_collection',
};

/** The composite indexes terraform/ declares on the collections the read model reads, by role (indexKey form). */
export function declaredIndexes(config: TerraformConfig): { indexes: Set<string>; problems: string[] } {
  const indexes = new Set<string>();
  const problems: string[] = [];
  for (const resource of config.resources.filter((r) => r.type === 'google_firestore_index')) {
    const collection = String(resource.body.collection ?? '');
    const role = (Object.entries(COLLECTION_VARIABLES) as Array<[CollectionRole, string]>).find(([, variable]) => collection === `\${var.${variable}}`)?.[0];
    // Another part's collection (the sweep's own state, …): not the read model's to check.
    if (!role) continue;
    if (resource.body.query_scope !== 'COLLECTION') problems.push(`${resource.file}: google_firestore_index.${resource.name} must have query_scope "COLLECTION"`);
    const fields = asArray(resource.body.fields).map((f) => {
      const body = f as Body;
      return { field: String(body.field_path), order: body.order === 'DESCENDING' ? ('DESCENDING' as const) : ('ASCENDING' as const) };
    });
    indexes.add(indexKey({ collection: role, fields }));
  }
  return { indexes, problems };
}

/** The queries (by shape) whose composite index terraform/ does not declare. */
export function checkQueryIndexes(config: TerraformConfig, shapes: Iterable<QueryShape>): string[] {
  const { indexes, problems } = declaredIndexes(config);
  for (const shape of shapes) {
    const needed = requiredIndex(shape);
    if (needed && !indexes.has(indexKey(needed))) problems.push(`no google_firestore_index for ${indexKey(needed)} (query ${JSON.stringify(shape)})`);
  }
  return problems;
}
