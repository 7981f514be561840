import { evaluate, HclError, type Scope, type Value } from './hcl-eval.js';
import { asArray, firstBody, type Body, type Declared, type TerraformConfig } from './terraform-checks.js';

/**
 * The values a `terraform apply` of terraform/ would produce, computed from the HCL for a
 * given set of variables: what each function's environment holds, what a resource is
 * named, whether a validation accepts a value. Attributes only the API knows (a service's
 * URI, a project number) are unknown: reading one throws an HclError naming it.
 */

/** Marks a resource instance (a lazy object) apart from a for_each map of instances. */
const INSTANCE = Symbol('resource instance');

export function isInstance(value: unknown): value is Record<string, Value> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[INSTANCE] === true;
}

/** The instances a resource value holds: itself, or the elements of its count or for_each. */
export function instancesOf(value: Value): Array<Record<string, Value>> {
  if (isInstance(value)) return [value];
  if (Array.isArray(value)) return value.filter(isInstance);
  return value !== null && typeof value === 'object' ? Object.values(value).filter(isInstance) : [];
}

/** The project every resource lives in (the provider's project is var.project_id). */
const PROJECT_VARIABLE = 'project_id';

export interface Apply {
  scope: Scope;
  /** Evaluates an hcl2json value in this apply. */
  value(value: unknown): Value;
  /** A declared resource's value as the configuration would see it (a list for count/for_each). */
  resource(type: string, name: string): Value;
}

/**
 * An apply with `variables` set (others at their defaults). A variable without a default
 * and without a value throws when it is read, as terraform would refuse to plan.
 */
export function plan(config: TerraformConfig, variables: Record<string, Value> = {}): Apply {
  const scope: Scope = { cwd: config.dir, resolve: (path) => resolve(path) };
  const locals = new Map<string, Value>();

  function variable(name: string): Value {
    if (Object.hasOwn(variables, name)) return variables[name]!;
    const declared = config.variables.get(name);
    if (!declared) throw new HclError(`no variable "${name}" is declared`);
    if (!('default' in declared.body)) throw new HclError(`variable "${name}" has no default and no value`);
    return declared.body.default as Value;
  }

  function resolve(path: string[]): Value {
    const [root = '', first = '', ...rest] = path;
    let value: Value;
    if (root === 'var') value = variable(first);
    else if (root === 'local') {
      if (!locals.has(first)) {
        const declared = config.locals.get(first);
        if (!declared) throw new HclError(`no local "${first}" is declared`);
        locals.set(first, evaluate(declared.value, scope));
      }
      value = locals.get(first)!;
    } else if (root === 'path') {
      if (first !== 'module' && first !== 'root') throw new HclError(`path.${first} is not supported`);
      return '.';
    } else if (root === 'data') {
      throw new HclError(`data.${first}.${rest[0] ?? ''} is known only at apply time`);
    } else {
      value = resourceValue(root, first);
    }
    return rest.reduce<Value>((v, key) => {
      if (v && typeof v === 'object' && !Array.isArray(v) && key in v) return (v as Record<string, Value>)[key]!;
      throw new HclError(`${path.join('.')}: no attribute "${key}"`);
    }, value);
  }

  function resourceValue(type: string, name: string): Value {
    const declared = config.resources.find((r) => r.type === type && r.name === name);
    if (!declared) throw new HclError(`no resource ${type}.${name} is declared`);
    if (declared.body.for_each !== undefined) {
      const each = evaluate(declared.body.for_each, scope);
      const keys = Array.isArray(each) ? each.map(String) : Object.keys(each as Record<string, Value>);
      return Object.fromEntries(keys.map((key) => [key, instance(declared, { key, value: Array.isArray(each) ? key : (each as Record<string, Value>)[key]! })]));
    }
    if (declared.body.count !== undefined) {
      const count = Number(evaluate(declared.body.count, scope));
      return Array.from({ length: count }, (_, index) => instance(declared, { index }));
    }
    return instance(declared, {});
  }

  /**
   * One instance as an object whose attributes are evaluated when read: its own arguments,
   * and the computed attributes whose format the provider documents (ids, emails).
   */
  function instance(declared: Declared, meta: { index?: number; key?: string; value?: Value }): Value {
    const own: Scope = {
      cwd: config.dir,
      resolve: (path) => {
        if (path[0] === 'count' && path[1] === 'index' && meta.index !== undefined) return meta.index;
        if (path[0] === 'each' && meta.key !== undefined) {
          const base = path[1] === 'key' ? meta.key : path[1] === 'value' ? meta.value! : undefined;
          if (base === undefined) throw new HclError(`each.${path[1]} is not each.key or each.value`);
          return path.slice(2).reduce<Value>((v, key) => (v as Record<string, Value>)[key]!, base);
        }
        return scope.resolve(path);
      },
    };
    const argument = (attribute: string): Value | undefined => {
      if (!(attribute in declared.body)) return undefined;
      return evaluate(declared.body[attribute], own);
    };
    const computed = (attribute: string): Value => {
      const project = String(variable(PROJECT_VARIABLE));
      const ids: Record<string, () => Value> = {
        google_pubsub_topic: () => `projects/${project}/topics/${String(argument('name'))}`,
        google_pubsub_subscription: () => `projects/${project}/subscriptions/${String(argument('name'))}`,
        google_secret_manager_secret: () => `projects/${project}/secrets/${String(argument('secret_id'))}`,
        google_service_account: () => `projects/${project}/serviceAccounts/${String(argument('account_id'))}@${project}.iam.gserviceaccount.com`,
        google_bigquery_dataset: () => `projects/${project}/datasets/${String(argument('dataset_id'))}`,
        google_bigquery_table: () => `projects/${project}/datasets/${String(argument('dataset_id'))}/tables/${String(argument('table_id'))}`,
      };
      if (attribute === 'id' && ids[declared.type]) return ids[declared.type]!();
      if (attribute === 'email' && declared.type === 'google_service_account') return `${String(argument('account_id'))}@${project}.iam.gserviceaccount.com`;
      if (attribute === 'project') return argument('project') ?? project;
      throw new HclError(`${declared.type}.${declared.name}.${attribute} is known only after apply`);
    };
    return new Proxy({} as Record<string, Value>, {
      has: () => true,
      get: (_, attribute) => (attribute === INSTANCE ? true : typeof attribute === 'string' ? (argument(attribute) ?? computed(attribute)) : undefined),
      getOwnPropertyDescriptor: (_, attribute) => ({ configurable: true, enumerable: true, value: typeof attribute === 'string' ? (argument(attribute) ?? computed(attribute)) : undefined }),
    });
  }

  return { scope, value: (value) => evaluate(value, scope), resource: resourceValue };
}

/**
 * The lifecycle preconditions of every resource, evaluated in this apply: the ones that fail
 * (Terraform refuses to plan), as "type.name: condition". A condition that reads what only
 * the API knows cannot be judged here and is left out.
 */
export function failedPreconditions(config: TerraformConfig, apply: Apply): string[] {
  const failed: string[] = [];
  for (const declared of config.resources) {
    for (const precondition of asArray(firstBody(declared.body.lifecycle).precondition)) {
      const condition = (precondition as Body).condition;
      let holds: Value;
      try {
        holds = apply.value(condition);
      } catch (error) {
        if (error instanceof HclError) continue;
        throw error;
      }
      if (holds !== true) failed.push(`${declared.type}.${declared.name}: ${String(condition)}`);
    }
  }
  return failed;
}

/** Every argument of a declared variable's validation blocks, evaluated for `value`: true when all hold. */
export function validates(config: TerraformConfig, name: string, value: Value, others: Record<string, Value> = {}): boolean {
  const declared = config.variables.get(name);
  if (!declared) throw new Error(`no variable "${name}" is declared`);
  const apply = plan(config, { ...others, [name]: value });
  return asArray(declared.body.validation).every((validation) => {
    try {
      return apply.value((validation as Body).condition) === true;
    } catch (error) {
      // An error in a condition fails the plan just as a false one does.
      if (error instanceof HclError) return false;
      throw error;
    }
  });
}

/** The environment a function gets: every variable evaluated (NODE_ENV and the settings). */
export function functionEnvironment(apply: Apply, fn: Declared): Record<string, string> {
  const service = firstBody(fn.body.service_config);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries((service.environment_variables ?? {}) as Body)) env[name] = String(apply.value(value));
  for (const secret of asArray(service.secret_environment_variables)) {
    const { key } = secret as Body;
    throw new Error(`${fn.name}: ${String(key)} is a secret_environment_variables binding; the processor reads sm:// references instead`);
  }
  return env;
}
