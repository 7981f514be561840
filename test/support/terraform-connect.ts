import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstBody, type Body, type TerraformConfig } from './terraform-checks.js';

/**
 * The `connect_env` output (terraform/connect.tf) prints shell exports for `postload connect`
 * and `postload send`. Each must say exactly what the deployed functions are given, or connect
 * would add secret versions where no function looks: every exported variable is set to the
 * same expression a function's environment holds (POSTLOAD_INGEST_URL: the `ingest_url`
 * output's), and the CLI reads it.
 */
export function checkConnectEnv(config: TerraformConfig, cliSources: string): string[] {
  const problems: string[] = [];
  const output = config.outputs.get('connect_env');
  if (!output) return ['terraform/: no output "connect_env"'];
  const value = output.body.value;
  if (typeof value !== 'string') return [`${output.file}: connect_env's value is not a template string`];
  const functionEnv = new Map<string, Set<string>>();
  for (const fn of config.resources.filter((r) => r.type === 'google_cloudfunctions2_function')) {
    for (const [name, expression] of Object.entries((firstBody(fn.body.service_config).environment_variables ?? {}) as Body)) {
      if (typeof expression === 'string') functionEnv.set(name, new Set([...(functionEnv.get(name) ?? []), expression]));
    }
  }
  const ingestUrl = config.outputs.get('ingest_url')?.body.value;
  const lines = value.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) problems.push(`${output.file}: connect_env exports nothing`);
  for (const line of lines) {
    const match = /^export ([A-Z][A-Z0-9_]*)=(\S+)$/.exec(line.trim());
    if (!match) {
      problems.push(`${output.file}: connect_env line "${line}" is not "export NAME=VALUE" (no spaces, so eval needs no quoting)`);
      continue;
    }
    const [, name, expression] = match as unknown as [string, string, string];
    const expected = name === 'POSTLOAD_INGEST_URL' ? (typeof ingestUrl === 'string' ? new Set([ingestUrl]) : undefined) : functionEnv.get(name);
    if (!expected || expected.size === 0) problems.push(`${output.file}: connect_env exports ${name}, which no function is given`);
    else if (!expected.has(expression)) problems.push(`${output.file}: connect_env exports ${name}=${expression}, but the functions are given ${[...expected].join(' / ')}`);
    if (!new RegExp(`\\b${name}\\b`).test(cliSources)) problems.push(`${output.file}: connect_env exports ${name}, which the CLI never reads`);
  }
  return problems;
}

/** Every .ts file of functions/cli, concatenated (what the CLI reads). */
export function cliSources(root: string): string {
  const dir = join(root, 'functions/cli');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('\n');
}
