import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives one level deep.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** The schemas folder, found from this file both in functions/ (tests) and in dist/ (deployed). */
export const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url);

export type SchemaName =
  | 'fivetran-webhook'
  | 'airbyte-webhook'
  | 'dbt-cloud-webhook'
  | 'sync-event.v1'
  | 'routing-config';

let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

export function loadSchema(name: SchemaName): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${name}.schema.json`, SCHEMAS_DIR), 'utf8')) as Record<string, unknown>;
}

/** A compiled validator, built once per process and reused. */
export function validator<T>(name: SchemaName): ValidateFunction<T> {
  let validate = compiled.get(name);
  if (!validate) {
    ajv ??= addFormats(new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }));
    validate = ajv.compile(loadSchema(name));
    compiled.set(name, validate);
  }
  return validate as ValidateFunction<T>;
}

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
