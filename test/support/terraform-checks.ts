import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
 */
export const DELIBERATELY_UNSET = new Set([
  'GCLOUD_PROJECT',
  'OUTBOUND_TIMEOUT_MS',
  'OUTBOUND_RETRY_MIN_DELAY_MS',
  'OUTBOUND_RETRY_MAX_DELAY_MS',
  'OUTBOUND_MAX_ATTEMPTS',
  'FIRESTORE_TIMEOUT_MS',
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
      if (!binding || !secret || (binding.kind === 'plain' && !String(binding.value).startsWith('sm://'))) {
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

// --- check 6: the source archive carries what the deploy build needs, and no more --------

/** What `npm ci && npm run gcp-build` on Cloud Build reads from the uploaded source. */
export const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'functions', 'schemas'];
/** What must stay out of the upload: dependencies, tests, Terraform (and its state), build output. */
export const NOT_DEPLOYED = ['node_modules', 'test', 'terraform', 'dist'];

export function checkSourceArchive(config: TerraformConfig, root: string): string[] {
  const problems: string[] = [];
  const archives = config.data.filter((d) => d.type === 'archive_file');
  if (archives.length === 0) return ['no archive_file data source builds the deployed source'];
  for (const archive of archives) {
    const where = `${archive.file}: data.archive_file.${archive.name}`;
    const sourceDir = resolveString(config, String(archive.body.source_dir ?? '').replace('${path.module}', '.'));
    if (sourceDir === undefined || join(config.dir, sourceDir) !== join(config.dir, '..')) {
      problems.push(`${where}: source_dir must be the package root ("\${path.module}/..")`);
    }
    const excludes = asArray(archive.body.excludes).map(String);
    for (const needed of BUILD_INPUTS) {
      if (!existsSync(join(root, needed))) problems.push(`${needed} is missing from the package`);
      if (excludes.some((e) => e === needed || needed.startsWith(`${e}/`))) problems.push(`${where}: excludes ${needed}, which the deploy build needs`);
    }
    for (const unwanted of NOT_DEPLOYED) {
      if (!excludes.includes(unwanted)) problems.push(`${where}: does not exclude ${unwanted}`);
    }
  }
  return problems;
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

function firstBody(value: unknown): Body {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return first && typeof first === 'object' ? (first as Body) : {};
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function entries(value: unknown): [string, unknown][] {
  return value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
}
