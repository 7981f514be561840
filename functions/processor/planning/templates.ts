// Targeted runs (issue 28): `{{field}}` templates in a target's args, env values, dbt Cloud
// steps, Airflow conf and HTTP bodies, filled from the event. Pure. Every value is the
// vendor's (a connector's name is whatever someone typed in Fivetran or Airbyte), so each is
// checked against a character set chosen for its field before it is placed anywhere, and a
// value that fails is a permanent error on that action (alerted), never a run with it:
// - no value can hold whitespace, quotes, `-` at its start, `=`, `:`, `,`, `+`, `*`, `@`,
//   `/`, `.` or braces, so a name can never become an extra argument or option (`--vars …`),
//   a second selector (`a b`), a graph operator (`stripe+`), a selector method (`tag:pii`),
//   a path, or a template of its own;
// - a value always lands inside the one argument (or JSON string) the team wrote: args are
//   filled one by one (Cloud Run passes them to the container without a shell), JSON strings
//   are filled after parsing, and a dbt Cloud step is a command line whose tokens each value
//   stays inside because it has no whitespace;
// - a list (tables) fills one argument with its items separated by spaces (dbt's `--select`
//   reads that as a union), a JSON string that is only `{{tables}}` becomes a JSON array, and
//   a list is refused in a dbt Cloud step (a command line would split it into arguments).

import type { SyncEvent } from '../../shared/sync-event.js';

/** Where a template is: an exec-form argument or env value, a command line (dbt Cloud steps), or a JSON string. */
export type TemplateContext = 'argument' | 'command' | 'json';

interface FieldRule {
  /** What it is, for docs and errors. */
  describe: string;
  /** The characters (and length) a value may have. */
  pattern: RegExp;
  /** In words, for the error. */
  allowed: string;
  read: (event: SyncEvent) => string | string[] | null;
  /** Why an event may lack it. */
  absentBecause: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const MAX_TABLES = 100;

/** The fields a template may name, each with the characters its values may have. */
export const TEMPLATE_FIELDS: Record<string, FieldRule> = {
  source: {
    describe: 'the tool that sent the webhook: fivetran, airbyte or dbt-cloud',
    pattern: /^(fivetran|airbyte|dbt-cloud)$/,
    allowed: 'fivetran, airbyte or dbt-cloud',
    read: (event) => event.source,
    absentBecause: 'every event has one',
  },
  'connector.id': {
    describe: "the Fivetran connection id or Airbyte connection id (the dbt Cloud job id for dbt Cloud's own events)",
    pattern: NAME,
    allowed: 'letters, digits, _ and -, starting with a letter or digit, at most 128',
    read: (event) => event.connector.id,
    absentBecause: "Fivetran's dbt and transformation events and some Airbyte notifications name no connector",
  },
  'connector.name': {
    describe: 'the connection name as the vendor shows it',
    pattern: NAME,
    allowed: 'letters, digits, _ and -, starting with a letter or digit, at most 128 (a name with spaces, dots or other characters fails)',
    read: (event) => event.connector.name,
    absentBecause: 'the webhook named no connector',
  },
  'connector.schema': {
    describe: "the destination schema the connector loads into: for Fivetran the connection's name, which Fivetran uses as its destination schema (or schema prefix, for database connectors)",
    pattern: IDENTIFIER,
    allowed: 'an identifier: letters, digits and _, not starting with a digit, at most 128',
    read: (event) => (event.source === 'fivetran' ? event.connector.name : null),
    absentBecause: "only Fivetran's webhooks say it (a Fivetran connection's name is its destination schema); Airbyte's and dbt Cloud's do not",
  },
  tables: {
    describe: 'the tables the event is about, when the vendor lists them (Fivetran resync_table: data.table)',
    pattern: IDENTIFIER,
    allowed: `identifiers (letters, digits and _, not starting with a digit, at most 128 each), at most ${MAX_TABLES}`,
    read: (event) => tablesOf(event),
    absentBecause: 'the vendor listed no tables for this event (sync_end and Airbyte notifications list none)',
  },
  'sync.id': {
    describe: "the vendor's sync id (Fivetran sync_id, Airbyte job id)",
    pattern: NAME,
    allowed: 'letters, digits, _ and -, at most 128',
    read: (event) => event.sync.id,
    absentBecause: 'the webhook gave no sync id',
  },
  'event.id': {
    describe: "postload's event id (32 hex characters)",
    pattern: /^[0-9a-f]{32}$/,
    allowed: '32 lower-case hex characters',
    read: (event) => event.id,
    absentBecause: 'every event has one',
  },
};

const PLACEHOLDER = /\{\{\s*([A-Za-z.]+)\s*\}\}/g;

/** The problems with one template string at start-up: unknown fields, a list in a command line, stray braces. */
export function templateProblems(text: string, context: TemplateContext): string[] {
  const problems: string[] = [];
  for (const [, field] of text.matchAll(PLACEHOLDER)) {
    if (!TEMPLATE_FIELDS[field!]) problems.push(`{{${field}}} is not a template field (allowed: ${Object.keys(TEMPLATE_FIELDS).map((f) => `{{${f}}}`).join(', ')})`);
    else if (field === 'tables' && context === 'command') problems.push('{{tables}} cannot be used in a dbt Cloud step: a command line would split the list into separate arguments; use it in a Cloud Run job\'s args, an Airflow conf or an HTTP body');
  }
  const rest = text.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) problems.push('has "{{" or "}}" that is not a {{field}} placeholder');
  return problems;
}

/** True when the string names a template field. */
export function isTemplate(text: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(text);
}

/** A template value that cannot be used: the action fails for good, with this said. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** A field's value for this event, checked; throws TemplateError naming the field and why. */
function valueOf(event: SyncEvent, field: string, where: string): string | string[] {
  const rule = TEMPLATE_FIELDS[field];
  if (!rule) throw new TemplateError(`${where}: {{${field}}} is not a template field`);
  const value = rule.read(event);
  if (value === null || (Array.isArray(value) && value.length === 0)) throw new TemplateError(`${where}: {{${field}}} has no value for this event: ${rule.absentBecause}`);
  const values = Array.isArray(value) ? value : [value];
  if (values.length > MAX_TABLES) throw new TemplateError(`${where}: {{${field}}} lists ${values.length} items, more than ${MAX_TABLES}`);
  for (const item of values) {
    if (!rule.pattern.test(item)) throw new TemplateError(`${where}: {{${field}}} is ${JSON.stringify(item.length > 80 ? `${item.slice(0, 80)}…` : item)}, which is not safe to use: allowed are ${rule.allowed}`);
  }
  return value;
}

/** A string with its placeholders filled; a list is joined with spaces (never in a command line: refused at start-up). */
export function renderString(text: string, event: SyncEvent, where: string): string {
  return text.replace(PLACEHOLDER, (_, field: string) => {
    const value = valueOf(event, field, where);
    return Array.isArray(value) ? value.join(' ') : value;
  });
}

/**
 * A JSON value with every string filled (keys are not templates); a string that is only
 * `{{tables}}` becomes the list itself.
 */
export function renderJson(value: unknown, event: SyncEvent, where: string): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([A-Za-z.]+)\s*\}\}$/.exec(value);
    if (whole && TEMPLATE_FIELDS[whole[1]!]) return valueOf(event, whole[1]!, where);
    return renderString(value, event, where);
  }
  if (Array.isArray(value)) return value.map((item, i) => renderJson(item, event, `${where}/${i}`));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderJson(v, event, `${where}/${k}`)]));
  return value;
}

/** Every template string in a JSON value, with its pointer, for start-up checks. */
export function jsonStrings(value: unknown, at: string): Array<{ pointer: string; text: string }> {
  if (typeof value === 'string') return [{ pointer: at, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, i) => jsonStrings(item, `${at}/${i}`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => jsonStrings(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  return [];
}

/** Tables an event lists: Fivetran's resync_table names one in data.table. */
function tablesOf(event: SyncEvent): string[] | null {
  const data = (event.payload as { data?: { table?: unknown } } | null)?.data;
  return event.source === 'fivetran' && typeof data?.table === 'string' ? [data.table] : null;
}
