import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type { WebhookSchemaName } from '../shared/schemas.js';

// The webhook validators compiled at build time (functions/build/compile-validators.ts):
// loading them is a require of plain functions, with no ajv compiler and no schema compile.
const compiled = createRequire(import.meta.url)('../generated/webhook-validators.cjs') as Record<WebhookSchemaName, ValidateFunction | undefined>;

export function webhookValidator(name: WebhookSchemaName): ValidateFunction {
  const validate = compiled[name];
  if (!validate) throw new Error(`no build-time validator for ${name}: run npm run build`);
  return validate;
}
