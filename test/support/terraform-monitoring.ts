import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { program } from '../../functions/cli/main.js';
import {
  DOCUMENTED_METRICS,
  LOG_BASED_METRIC_PREFIX,
  LOG_BASED_METRIC_RESOURCES,
  MONITORED_RESOURCES,
} from './monitoring-metrics.js';
import { asArray, firstBody, type Body, type Declared, type TerraformConfig } from './terraform-checks.js';

/**
 * Static checks of terraform/monitoring.tf and its dashboard: every alert is documented
 * (with a runbook entry docs/operations.md has and a row in its alert table, both naming
 * `postload` commands the CLI really has), notifies the channel variable and can be
 * switched off; every metric type and label in a filter is one Cloud Monitoring documents; the
 * log-based metrics match log lines the code writes.
 */

// --- alert policies ------------------------------------------------------------------------

export const CHANNELS_VARIABLE = 'alert_notification_channels';
export const SWITCH_VARIABLE = 'alerts_enabled';

/** The alert runbook: its file in the repository and its text. */
export interface Runbook {
  path: string;
  text: string;
}

export function checkAlertPolicies(config: TerraformConfig, runbook: Runbook): string[] {
  const problems: string[] = [];
  const policies = config.resources.filter((r) => r.type === 'google_monitoring_alert_policy');
  if (policies.length === 0) return ['no google_monitoring_alert_policy is declared'];
  if (!config.variables.has(CHANNELS_VARIABLE)) problems.push(`no variable "${CHANNELS_VARIABLE}" is declared`);
  const headings = new Set([...runbook.text.matchAll(/^#{2,6} (.+)$/gm)].map((m) => m[1]!.trim()));
  if (!headings.has('Alerts and dashboard')) problems.push(`${runbook.path} has no "Alerts and dashboard" section`);
  // The section's table lists every alert by its entry's name (first column, any case).
  const tableRows = new Set([...section(runbook.text, 'Alerts and dashboard').matchAll(/^\| *([^|]+?) *\|/gm)].map((m) => m[1]!.toLowerCase()));
  for (const policy of policies) {
    const where = `${policy.file}: google_monitoring_alert_policy.${policy.name}`;
    const content = expandLocals(config, String(firstBody(policy.body.documentation).content ?? ''));
    if (content.trim() === '') {
      problems.push(`${where} has no documentation content`);
    } else {
      const entry = /entry "([^"]+)"/.exec(content)?.[1];
      if (!content.includes(runbook.path) || !/Alerts and dashboard/.test(content) || entry === undefined) {
        problems.push(`${where}: its documentation must point at the runbook (${runbook.path}, section "Alerts and dashboard", entry "...")`);
      } else if (!headings.has(entry)) {
        problems.push(`${where}: its documentation names the runbook entry "${entry}", which ${runbook.path} has no heading for`);
      } else {
        if (!tableRows.has(entry.toLowerCase())) problems.push(`${where}: the alert table of ${runbook.path} ("Alerts and dashboard") has no row for "${entry}"`);
        problems.push(...checkCliMentions(`${where}: its runbook entry "${entry}"`, section(runbook.text, entry)));
      }
      problems.push(...checkCliMentions(`${where}: its documentation`, content));
    }
    if (policy.body.notification_channels !== `\${var.${CHANNELS_VARIABLE}}`) {
      problems.push(`${where} does not notify var.${CHANNELS_VARIABLE}`);
    }
    if (!String(policy.body.count ?? '').includes(`var.${SWITCH_VARIABLE}`)) {
      problems.push(`${where} cannot be switched off: its count does not depend on var.${SWITCH_VARIABLE}`);
    }
    for (const condition of asArray(policy.body.conditions)) {
      const { condition_threshold: threshold, condition_matched_log: matchedLog } = condition as Body;
      if (!firstBody(threshold).filter && !firstBody(matchedLog).filter) problems.push(`${where}: a condition without a filter`);
    }
  }
  return problems;
}

/** The CLI's subcommands and their long options, from the program itself. */
export function cliCommands(): Map<string, Set<string>> {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const root = program({ stdout: sink, stderr: sink, env: {} }, () => {});
  const longs = (command: (typeof root.commands)[number]) => command.options.map((option) => option.long ?? '');
  // A command with subcommands (connect fivetran|airbyte|dbt-cloud) also answers as "command sub", with both's options.
  return new Map(
    root.commands.flatMap((command) => [
      [command.name(), new Set(longs(command))] as const,
      ...command.commands.map((sub) => [`${command.name()} ${sub.name()}`, new Set([...longs(command), ...longs(sub)])] as const),
    ]),
  );
}

/** An alert's help names at least one `postload ...` command, and only commands and options the CLI has. */
export function checkCliMentions(where: string, text: string, commands = cliCommands()): string[] {
  const mentions = [...text.matchAll(/`postload ([a-z-]+)([^`]*)`/g)];
  if (mentions.length === 0) return [`${where} names no \`postload\` command that helps (e.g. \`postload replay --dry-run\`)`];
  const problems: string[] = [];
  for (const [mention, command, rest] of mentions) {
    const options = commands.get(command!);
    if (!options) {
      problems.push(`${where} names ${mention}, but the CLI has no command "${command}"`);
      continue;
    }
    for (const [flag] of rest!.matchAll(/--[a-z-]+/g)) if (!options.has(flag)) problems.push(`${where} names ${mention}, but "postload ${command}" has no option ${flag}`);
  }
  return problems;
}

/** The text of a Markdown section, from its heading to the next heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.search(new RegExp(`^#{2,6} ${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  if (start < 0) return '';
  const rest = markdown.slice(start).split('\n').slice(1).join('\n');
  const end = rest.search(/^#{1,6} /m);
  return end < 0 ? rest : rest.slice(0, end);
}

// --- metric types and labels in filters ------------------------------------------------------

export interface Filter {
  where: string;
  text: string;
  /** Whether an alert policy uses it (a dashboard's filters are never validated by the API). */
  alert?: boolean;
}

/** Every Monitoring filter and group-by field in the alert policies and the dashboard. */
export function monitoringFilters(config: TerraformConfig): { filters: Filter[]; groupBy: Filter[]; problems: string[] } {
  const filters: Filter[] = [];
  const groupBy: Filter[] = [];
  const problems: string[] = [];
  for (const policy of config.resources.filter((r) => r.type === 'google_monitoring_alert_policy')) {
    const where = `${policy.file}: google_monitoring_alert_policy.${policy.name}`;
    for (const condition of asArray(policy.body.conditions)) {
      const threshold = firstBody((condition as Body).condition_threshold);
      for (const key of ['filter', 'denominator_filter']) {
        if (typeof threshold[key] === 'string') filters.push({ where, text: expandLocals(config, threshold[key]), alert: true });
      }
      for (const key of ['aggregations', 'denominator_aggregations']) {
        for (const aggregation of asArray(threshold[key])) {
          for (const field of asArray((aggregation as Body).group_by_fields)) groupBy.push({ where, text: String(field) });
        }
      }
    }
  }
  for (const dashboard of config.resources.filter((r) => r.type === 'google_monitoring_dashboard')) {
    const rendered = renderDashboard(config, dashboard, problems);
    if (!rendered) continue;
    const where = `${dashboard.file}: google_monitoring_dashboard.${dashboard.name}`;
    visit(rendered, (key, value) => {
      if (key === 'filter' && typeof value === 'string') filters.push({ where, text: value });
      if (key === 'groupByFields' && Array.isArray(value)) value.forEach((field) => groupBy.push({ where, text: String(field) }));
    });
  }
  return { filters, groupBy, problems };
}

/**
 * The dashboard JSON with each templatefile() variable replaced by the Terraform expression
 * it is given (`${google_logging_metric.x[0].name}`), so filters read like the alerts'.
 */
function renderDashboard(config: TerraformConfig, dashboard: Declared, problems: string[]): unknown {
  const where = `${dashboard.file}: google_monitoring_dashboard.${dashboard.name}`;
  const call = /^\$\{templatefile\("\$\{path\.module\}\/([^"]+)",\s*\{([\s\S]*)\}\)\}$/.exec(String(dashboard.body.dashboard_json ?? ''));
  if (!call) {
    problems.push(`${where}: dashboard_json must be templatefile("\${path.module}/<file in the repository>", { ... })`);
    return undefined;
  }
  const file = join(config.dir, call[1]!);
  if (!existsSync(file)) {
    problems.push(`${where}: ${call[1]} is missing`);
    return undefined;
  }
  const args = new Map([...call[2]!.matchAll(/(\w+)\s*=\s*([^\n,]+)/g)].map((m) => [m[1]!, `\${${m[2]!.trim()}}`]));
  const template = readFileSync(file, 'utf8');
  const used = new Set<string>();
  const text = template.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    used.add(name);
    const value = args.get(name);
    if (value === undefined) problems.push(`${where}: ${call[1]} uses \${${name}}, which templatefile() is not given`);
    return value ?? '';
  });
  for (const name of args.keys()) if (!used.has(name)) problems.push(`${where}: templatefile() passes ${name}, which ${call[1]} never uses`);
  try {
    return JSON.parse(text);
  } catch (error) {
    problems.push(`${where}: ${call[1]} is not valid JSON: ${String(error)}`);
    return undefined;
  }
}

const METRIC_TYPE = /\bmetric\.type\s*=\s*"([^"]+)"/g;
const RESOURCE_TYPE = /\bresource\.type\s*=\s*"([^"]+)"/g;
const LABEL = /\b(resource|metric)\.labels?\.(?:"(\w+)"|(\w+))/g;

export function checkMonitoringFilters(config: TerraformConfig): string[] {
  const { filters, groupBy, problems } = monitoringFilters(config);
  if (filters.length === 0) problems.push('no Monitoring filter found in alert policies or dashboards');
  const logMetrics = config.resources.filter((r) => r.type === 'google_logging_metric').map((r) => r.name);
  for (const { where, text, alert } of filters) {
    const metrics = [...text.matchAll(METRIC_TYPE)].map((m) => m[1]!);
    const resources = [...text.matchAll(RESOURCE_TYPE)].map((m) => m[1]!);
    if (metrics.length !== 1) problems.push(`${where}: a filter must name exactly one metric.type: ${text}`);
    if (resources.length !== 1) problems.push(`${where}: a filter must name exactly one resource.type: ${text}`);
    const [metric = '', resource = ''] = [metrics[0], resources[0]];
    let allowedResources: string[] = [];
    let metricLabels: string[] = [];
    if (metric.startsWith(LOG_BASED_METRIC_PREFIX)) {
      const name = /^\$\{google_logging_metric\.(\w+)(?:\[\d+\])?\.name\}$/.exec(metric.slice(LOG_BASED_METRIC_PREFIX.length))?.[1];
      if (name === undefined || !logMetrics.includes(name)) {
        problems.push(`${where}: ${metric} is not the name of a google_logging_metric declared here`);
      } else if (alert) {
        // Cloud Monitoring refuses it for up to 10 minutes after the metric is created
        // (hashicorp/terraform-provider-google#11102): the first apply would fail.
        problems.push(`${where}: an alert threshold on a log-based metric created in the same apply fails the first apply (404 "Cannot find metric(s)"); use condition_matched_log`);
      }
      allowedResources = LOG_BASED_METRIC_RESOURCES;
    } else if (metric in DOCUMENTED_METRICS) {
      allowedResources = DOCUMENTED_METRICS[metric]!.resources;
      metricLabels = DOCUMENTED_METRICS[metric]!.labels;
    } else if (metric !== '') {
      problems.push(`${where}: metric type ${metric} is not one Cloud Monitoring documents (test/support/monitoring-metrics.ts)`);
    }
    if (resource !== '' && !allowedResources.includes(resource) && allowedResources.length > 0) {
      problems.push(`${where}: ${metric} is not written for resource type ${resource} (documented: ${allowedResources.join(', ')})`);
    }
    problems.push(...labelProblems(where, text, MONITORED_RESOURCES[resource] ?? [], metricLabels));
  }
  for (const { where, text } of groupBy) {
    problems.push(...labelProblems(where, text, Object.values(MONITORED_RESOURCES).flat(), Object.values(DOCUMENTED_METRICS).flatMap((m) => m.labels)));
  }
  return problems;
}

function labelProblems(where: string, text: string, resourceLabels: string[], metricLabels: string[]): string[] {
  const problems: string[] = [];
  for (const m of text.matchAll(LABEL)) {
    const label = (m[2] ?? m[3])!;
    const known = m[1] === 'resource' ? resourceLabels : metricLabels;
    if (!known.includes(label)) problems.push(`${where}: ${m[1]} label "${label}" is not a documented label there`);
  }
  return problems;
}

// --- log-based metrics match what the code logs -------------------------------------------------

const LOG_LEVELS: Record<string, string> = { ERROR: 'error', WARNING: 'warn', INFO: 'info', CRITICAL: 'fatal' };

/** Logging filters: those of log-based metrics and of log-match alert conditions. */
function logFilters(config: TerraformConfig): Filter[] {
  const filters: Filter[] = [];
  for (const metric of config.resources.filter((r) => r.type === 'google_logging_metric')) {
    filters.push({ where: `${metric.file}: google_logging_metric.${metric.name}`, text: expandLocals(config, String(metric.body.filter ?? '')) });
  }
  for (const policy of config.resources.filter((r) => r.type === 'google_monitoring_alert_policy')) {
    for (const condition of asArray(policy.body.conditions)) {
      const filter = firstBody((condition as Body).condition_matched_log).filter;
      if (typeof filter === 'string') filters.push({ where: `${policy.file}: google_monitoring_alert_policy.${policy.name}`, text: expandLocals(config, filter) });
    }
  }
  return filters;
}

/**
 * A log-based metric or log-match alert counts what its filter matches; a message or field
 * the code no longer logs makes it match nothing, silently. Each `jsonPayload.message:"text"`
 * must appear in a log call of that level under functions/, in a file that also names each
 * other jsonPayload field the filter uses.
 */
export function checkLogMetricsMatchCode(config: TerraformConfig, root: string): string[] {
  const problems: string[] = [];
  const sources = readSources(join(root, 'functions'));
  const filters = logFilters(config);
  if (filters.length === 0) problems.push('no log-based metric or log-match alert is declared');
  for (const { where, text: filter } of filters) {
    const message = /jsonPayload\.message:"([^"]+)"/.exec(filter)?.[1];
    const severity = /\bseverity\s*=\s*(\w+)/.exec(filter)?.[1];
    const level = severity === undefined ? undefined : LOG_LEVELS[severity];
    if (message === undefined || level === undefined) {
      problems.push(`${where}: the filter must match a severity and a jsonPayload.message:"..." the code logs`);
      continue;
    }
    const fields = [...filter.matchAll(/jsonPayload\.(\w+)/g)].map((m) => m[1]!).filter((f) => f !== 'message');
    const call = new RegExp(`\\.${level}\\([^;]*${escapeRegExp(message)}`);
    const files = sources.filter(({ text }) => call.test(text));
    if (files.length === 0) {
      problems.push(`${where}: no log.${level}(...) under functions/ logs a message containing "${message}"`);
      continue;
    }
    for (const field of fields) {
      if (!files.some(({ text }) => new RegExp(`\\b${field}\\b`).test(text))) {
        problems.push(`${where}: the filter needs jsonPayload.${field}, which the file logging "${message}" never names`);
      }
    }
  }
  return problems;
}

/**
 * The code's sources, with each log call's message constant replaced by its text
 * (`log.warn(fields, SLACK_NOT_SENT)` where `const SLACK_NOT_SENT = '…'` in the same file),
 * so a message kept in a constant is matched like a literal one.
 */
function readSources(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.startsWith('generated'))
    .map((name) => {
      const text = readFileSync(join(dir, name), 'utf8');
      const constants = new Map([...text.matchAll(/\bconst ([A-Z][A-Z0-9_]*)\s*=\s*'([^'\n]*)'/g)].map((m) => [m[1]!, m[2]!]));
      const expanded = text.replace(/(\.(?:trace|debug|info|warn|error|fatal)\([^;]*?)\b([A-Z][A-Z0-9_]*)\)/g, (call, head: string, name: string) =>
        constants.has(name) ? `${head}'${constants.get(name)}')` : call,
      );
      return { file: name, text: expanded };
    });
}

// --- helpers ---------------------------------------------------------------------------------------

/** `${local.x}` replaced by the local's own text (which may hold references), recursively. */
export function expandLocals(config: TerraformConfig, text: string, depth = 0): string {
  if (depth > 10) return text;
  return text.replace(/\$\{local\.(\w+)\}/g, (whole, name: string) => {
    const value = config.locals.get(name)?.value;
    return typeof value === 'string' ? expandLocals(config, value, depth + 1) : whole;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function visit(value: unknown, onEntry: (key: string, value: unknown) => void): void {
  if (Array.isArray(value)) value.forEach((item) => visit(item, onEntry));
  else if (value && typeof value === 'object') {
    for (const [key, nested] of Object.entries(value)) {
      onEntry(key, nested);
      visit(nested, onEntry);
    }
  }
}
