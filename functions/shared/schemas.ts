import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { closest } from './closest.js';
import type addFormatsModule from 'ajv-formats';

/** The schemas folder, found from this file both in functions/ (tests) and in dist/ (deployed). */
export const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url);

export type SchemaName =
  | 'fivetran-webhook'
  | 'airbyte-webhook'
  | 'dbt-cloud-webhook'
  | 'sync-event.v1'
  | 'routing-config';

/** The schemas the ingest function validates webhooks with, compiled at build time (see functions/build/). */
export const WEBHOOK_SCHEMAS = ['fivetran-webhook', 'airbyte-webhook', 'dbt-cloud-webhook'] as const satisfies readonly SchemaName[];
export type WebhookSchemaName = (typeof WEBHOOK_SCHEMAS)[number];

let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/**
 * An ajv instance with postload's options and formats. ajv is required on first use, not
 * imported: the ingest function validates with build-time code and never loads ajv's
 * compiler (about 100 ms and 10 MB of its cold start).
 */
export function createAjv(extra: Options = {}): Ajv {
  const require = createRequire(import.meta.url);
  const { Ajv } = require('ajv') as typeof import('ajv');
  // ajv-formats is CommonJS with a default export.
  const addFormats = (require('ajv-formats') as { default: typeof addFormatsModule.default }).default;
  return addFormats(new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, ...extra }));
}

export function loadSchema(name: SchemaName): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${name}.schema.json`, SCHEMAS_DIR), 'utf8')) as Record<string, unknown>;
}

/** A compiled validator, built once per process and reused. */
export function validator<T>(name: SchemaName): ValidateFunction<T> {
  let validate = compiled.get(name);
  if (!validate) {
    ajv ??= createAjv();
    validate = ajv.compile(loadSchema(name));
    compiled.set(name, validate);
  }
  return validate as ValidateFunction<T>;
}

/**
 * A validator whose errors carry the schema and the value they are about (ajv's `verbose`),
 * for files a person writes: explainErrors() names the unknown key or bad value with them.
 */
export function verboseValidator<T>(name: SchemaName): ValidateFunction<T> {
  let validate = verbose.get(name);
  if (!validate) {
    verboseAjv ??= createAjv({ verbose: true });
    validate = verboseAjv.compile(loadSchema(name));
    verbose.set(name, validate);
  }
  return validate as ValidateFunction<T>;
}

let verboseAjv: Ajv | undefined;
const verbose = new Map<SchemaName, ValidateFunction>();

export interface SchemaProblem {
  /** JSON pointer to the offending field ('' for the whole document). */
  field: string;
  message: string;
}

/** ajv errors as short, field-named problems, at most `limit` of them. */
export function describeErrors(errors: ErrorObject[] | null | undefined, limit = 10): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    const field =
      error.keyword === 'required'
        ? `${error.instancePath}/${String((error.params as { missingProperty: string }).missingProperty)}`
        : error.instancePath;
    const message = error.keyword === 'required' ? 'is required' : (error.message ?? 'is invalid');
    const key = `${field} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ field, message });
    if (problems.length === limit) break;
  }
  return problems;
}

/**
 * ajv errors (of a verboseValidator) as problems that teach: an unknown key is named with
 * the closest known one and every key allowed there; a value outside an enum or a const is
 * quoted with the closest allowed value and the list. Other errors are as describeErrors
 * words them. At most `limit`, duplicates dropped.
 */
export function explainErrors(errors: ErrorObject[] | null | undefined, limit = 50): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    const problem = explainError(error);
    const key = `${problem.field} ${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
    if (problems.length === limit) break;
  }
  return problems;
}

function explainError(error: ErrorObject): SchemaProblem {
  const quote = (value: unknown) => JSON.stringify(value);
  const offer = (given: unknown, allowed: unknown[]) => {
    const words = allowed.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
    const near = typeof given === 'string' ? closest(given, words) : undefined;
    return `${near !== undefined ? `did you mean ${quote(near)}? ` : ''}(allowed: ${words.join(', ')})`;
  };
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    const known = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    return { field: `${error.instancePath}/${key}`, message: `is not a key this object has: ${known.length ? offer(key, known) : 'it takes no other keys'}` };
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    return { field: error.instancePath, message: `is ${quote(error.data)}, not an allowed value: ${offer(error.data, allowed)}` };
  }
  if (error.keyword === 'const') {
    const allowed = (error.params as { allowedValue: unknown }).allowedValue;
    return { field: error.instancePath, message: `is ${quote(error.data)}, but must be ${quote(allowed)}` };
  }
  return describeErrors([error], 1)[0]!;
}
