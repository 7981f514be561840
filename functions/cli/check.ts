import { loadIngestConfig, type SlackActionsSettings } from '../ingest/config.js';
import type { FetchLike } from '../processor/clients/http-retry.js';
import { readProcessorConfig, type ProcessorConfig } from '../processor/config.js';
import { SLACK_NOT_SENT } from '../processor/actions.js';
import { DEFAULT_WEBHOOK, loadRoutingConfig, RoutingConfigError, type LoadedRouting } from '../processor/planning/routing.js';
import { isWithoutValue, type Secret } from '../shared/secrets.js';
import { readSweepConfig } from '../sweep/config.js';
import { formatSpan } from '../sweep/freshness/duration.js';
import { ConfigError, ConfigErrors, projectId } from '../shared/settings.js';
import { EXIT, type ExitCode } from './errors.js';
import { terminalText, type Output } from './output.js';
import { checkSlackApps } from './check-slack.js';
import { checkRunTargets } from './check-targets.js';
import type { TargetSettings } from '../processor/targets/settings.js';

type Env = Record<string, string | undefined>;

export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  /** The JSON pointer of the bad field, for routing problems. */
  pointer?: string;
}

export interface CheckOptions {
  /** A routing file to check instead of ROUTING_CONFIG. */
  routing?: string;
  fetch?: typeof fetch;
}

/**
 * Everything a deploy would trip over, before `terraform apply`: the routing file against
 * its schema, every setting either function reads (through the functions' own loaders, so
 * the rules are never restated), every secret readable, every routed dbt Cloud job known
 * to dbt Cloud with the token given. Values are never printed.
 */
export async function runChecks(given: Env, options: CheckOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const env = await withProjectForShortReferences(given, results);
  const processorEnv = options.routing ? { ...env, ROUTING_CONFIG: options.routing } : env;

  // Every problem is a line of its own, so one run shows all there is to fix.
  const failures = (check: string, error: unknown, skip = new Set<string>()): CheckResult[] => {
    if (error instanceof RoutingConfigError) {
      return error.problems.map((p) => ({ check, ok: false, detail: `ROUTING_CONFIG: ${error.source}: ${p.pointer || '(root)'} ${p.message}`, ...(p.pointer ? { pointer: p.pointer } : { pointer: '/' }) }));
    }
    const problems = error instanceof ConfigErrors ? error.problems : [error as Error];
    return problems.filter((p) => !(p instanceof ConfigError && skip.has(p.variable))).map((p) => ({ check, ok: false, detail: p.message }));
  };

  let routing: LoadedRouting | undefined;
  const routingValue = processorEnv.ROUTING_CONFIG?.trim();
  if (!routingValue) {
    results.push({ check: 'routing', ok: false, detail: 'no routing file: pass --routing FILE or set ROUTING_CONFIG' });
  } else {
    try {
      routing = loadRoutingConfig(routingValue);
      results.push({ check: 'routing', ok: true, detail: `${routing.source}: valid, ${routing.routes.length} route(s)` });
    } catch (error) {
      results.push(...failures('routing', error));
    }
  }

  const secrets: Secret[] = [];
  let slackActions: SlackActionsSettings | undefined;
  let processorConfig: ProcessorConfig | undefined;
  try {
    const ingest = loadIngestConfig(env);
    slackActions = ingest.slack;
    const ranges = Object.entries(ingest.sourceRanges).map(([source, r]) => `${source} from ${r.setting}`);
    results.push({
      check: 'ingest settings',
      ok: true,
      detail: `topic ${ingest.topic}, body limit ${ingest.maxBodyBytes} bytes, publish timeout ${ingest.publishTimeoutMs} ms, source ranges: ${ranges.join(', ') || 'none (any address)'}, ${ingest.trustedProxyHops} trusted proxy hop(s)`,
    });
    secrets.push(ingest.fivetranSecret, ingest.airbyteToken, ingest.dbtCloudSecret, ingest.signingKey, ...(ingest.slack.signingSecret.configured ? [ingest.slack.signingSecret] : []));
  } catch (error) {
    results.push(...failures('ingest settings', error));
  }

  let dbt: ReturnType<typeof readProcessorConfig>['dbt'];
  let targets: TargetSettings | undefined;
  try {
    const processor = readProcessorConfig(processorEnv);
    results.push({
      check: 'processor settings',
      ok: true,
      detail: `audit in ${processor.auditCollection}, dbt Cloud ${processor.dbt ? `${processor.dbt.baseUrl} account ${processor.dbt.accountId}` : 'not used'}, ${processor.slackWebhooks.size} Slack webhook(s), ${processor.slackApps.size} Slack app channel(s), final alert on delivery ${processor.maxDeliveryAttempts} (MAX_DELIVERY_ATTEMPTS)`,
    });
    dbt = processor.dbt;
    processorConfig = processor;
    targets = processor.targets;
    if (dbt) secrets.push(dbt.token);
    // An HTTP call's signing secret and header secrets (issue 28), like every other secret.
    for (const call of processor.targets.http.values()) secrets.push(call.signingSecret, ...call.headers.flatMap((h) => ('secret' in h ? [h.secret] : [])));
    secrets.push(...processor.slackWebhooks.values());
    secrets.push(...new Set([...processor.slackApps.values()].map((app) => app.token)));
    // Slack is optional: its absence is a state to report, not a failure.
    if (!processor.slackWebhooks.has(DEFAULT_WEBHOOK) && !processor.slackApps.size) {
      results.push({ check: 'Slack', ok: true, detail: `not configured (SLACK_WEBHOOK_URL is not set): no message goes to Slack; each is logged as "${SLACK_NOT_SENT}", which an alert policy matches` });
    }
  } catch (error) {
    // The routing file's own problems are listed above; the settings that depend on it are read only once it loads.
    const own = failures('processor settings', error, new Set(['ROUTING_CONFIG']));
    results.push(...own);
    if (!routing && !own.length) results.push({ check: 'processor settings', ok: false, detail: 'the settings the routing file needs (dbt Cloud, Slack) are checked once it loads' });
  }

  if (routing) {
    try {
      const sweep = readSweepConfig(processorEnv);
      const vendors = [sweep.fivetran && `Fivetran API ${sweep.fivetran.baseUrl}`, sweep.airbyte && `Airbyte API ${sweep.airbyte.baseUrl}`].filter(Boolean);
      results.push({
        check: 'sweep settings',
        ok: true,
        detail: `${sweep.freshness.ruleCount} freshness rule(s), reminders ${sweep.freshness.realertMs === null ? 'off' : `every ${formatSpan(sweep.freshness.realertMs)}`}, messages ${sweep.slackWebhook ? `to ${sweep.slackWebhook.setting}` : 'only logged (no Slack webhook set)'}, reconciliation with ${vendors.join(' and ') || 'no vendor API (freshness from the webhooks alone)'}`,
      });
      for (const vendor of [sweep.fivetran, sweep.airbyte]) {
        if (!vendor) continue;
        secrets.push(...('apiKey' in vendor ? [vendor.apiKey, vendor.apiSecret] : [vendor.clientId, vendor.clientSecret]));
      }
    } catch (error) {
      const pointer = error instanceof RoutingConfigError ? error.field || '/' : undefined;
      results.push({ check: 'sweep settings', ok: false, detail: (error as Error).message, ...(pointer ? { pointer } : {}) });
    }
  } else {
    results.push({ check: 'sweep settings', ok: false, detail: 'not checked: the routing file is not usable' });
  }

  // Without credentials the Secret Manager client throws from a callback nobody can catch
  // (it would end this process), so references are only read once credentials are there.
  const references = secrets.filter((secret) => isReference(secret, env));
  const noCredentials = references.length ? await credentialsProblem() : undefined;
  for (const secret of secrets) {
    results.push(noCredentials && references.includes(secret) ? { check: `secret ${secret.setting}`, ok: false, detail: `unreadable: ${noCredentials}` } : await checkSecret(secret));
  }

  if (processorConfig && !noCredentials) results.push(...(await checkSlackApps(processorConfig, slackActions, options.fetch as FetchLike | undefined)));

  if (routing && dbt) {
    const jobs = routedJobs(routing);
    let token: string | undefined;
    try {
      token = await dbt.token.currentValue();
    } catch {
      // Reported by the secret check above.
    }
    for (const job of jobs) results.push(token === undefined ? { check: `dbt job ${job}`, ok: false, detail: 'not checked: DBT_CLOUD_API_TOKEN is unreadable' } : await checkDbtJob(dbt.baseUrl, dbt.accountId, job, token, options.fetch ?? fetch));
  }
  if (routing && targets) results.push(...(await checkRunTargets(routing.config, targets, options.fetch)));
  return results;
}

/**
 * `sm://NAME` is in the project of GOOGLE_CLOUD_PROJECT, which Terraform sets for the
 * functions. Run by hand, `check` may have no such setting: then the project is the one
 * Application Default Credentials name (as gcloud's), said in a line of its own.
 */
async function withProjectForShortReferences(env: Env, results: CheckResult[]): Promise<Env> {
  const short = Object.entries(env).filter(([, v]) => /^\s*sm:\/\/(?!projects\/)/.test(v ?? '')).map(([k]) => k);
  if (!short.length || projectId(env)) return env;
  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  const client = new SecretManagerServiceClient();
  try {
    const project = await client.auth.getProjectId();
    results.push({ check: 'project', ok: true, detail: `${project} (from Application Default Credentials) for the sm://NAME references in ${short.join(', ')}; --project chooses another` });
    return { ...env, GOOGLE_CLOUD_PROJECT: project };
  } catch {
    // The loaders then say which setting names no project, and how to give one.
    return env;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Every dbt Cloud job the routing file may start: in routes, the default route and joins. */
export function routedJobs(routing: LoadedRouting): Set<string> {
  const { config } = routing;
  const jobs = new Set<string>();
  for (const actions of [...config.routes, config.defaultRoute ?? {}]) for (const job of actions.dbtJobs ?? []) jobs.add(String(job.jobId));
  for (const join of config.joins ?? []) if (join.dbtJob) jobs.add(String(join.dbtJob.jobId));
  return jobs;
}

function isReference(secret: Secret, env: Env): boolean {
  return secret.setting.includes('sm://') || (env[secret.setting]?.trim().startsWith('sm://') ?? false);
}

async function credentialsProblem(): Promise<string | undefined> {
  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  const client = new SecretManagerServiceClient();
  try {
    await client.auth.getClient();
    return undefined;
  } catch (error) {
    return `no Google Cloud credentials to read Secret Manager with (${(error as Error).message.split('.')[0]}): run \`gcloud auth application-default login\``;
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function checkSecret(secret: Secret): Promise<CheckResult> {
  const check = `secret ${secret.setting}`;
  if (!secret.configured) return { check, ok: false, detail: 'not set: its endpoint would answer 503 (set it to the value or to an sm:// reference)' };
  try {
    const values = await secret.acceptedValues();
    // The function's loader marks the secrets senders prove they hold, which must not be guessable.
    const short = values.filter((value) => value.toString('utf8').length < secret.warnShorterThan).length;
    const warning = short ? `; ${short === values.length ? (short === 1 ? 'it is' : 'all are') : `${short} of them are`} shorter than ${secret.warnShorterThan} characters: use a long random value` : '';
    return { check, ok: true, detail: `readable (${values.length} value${values.length === 1 ? '' : 's'} accepted)${warning}` };
  } catch (error) {
    const optional = secret.setting === 'SLACK_WEBHOOK_URL' && isWithoutValue(error) ? ': add a version (the Slack incoming-webhook URL), or set slack_enabled = false for no Slack' : '';
    return { check, ok: false, detail: `unreadable: ${(error as Error).message}${optional}` };
  }
}

/**
 * GET {base}/api/v2/accounts/{account}/jobs/{job}/ (dbt Cloud Administrative API v2):
 * 200 when the job exists and the token may read it, 404 when there is no such job,
 * 401/403 when the token is wrong or lacks permission. Whether the token may *run* the
 * job is only known when it does; Job Runner permission is the documented requirement.
 */
async function checkDbtJob(baseUrl: string, accountId: string, job: string, token: string, fetchImpl: typeof fetch): Promise<CheckResult> {
  const check = `dbt job ${job}`;
  let response: Response;
  try {
    response = await fetchImpl(`${baseUrl}/api/v2/accounts/${accountId}/jobs/${job}/`, {
      headers: { authorization: `Token ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return { check, ok: false, detail: `${baseUrl} did not answer (${String((error as Error).cause ?? (error as Error).message)}): check DBT_CLOUD_BASE_URL` };
  }
  const body = (await response.json().catch(() => ({}))) as { data?: { name?: string; state?: number } | null; status?: { user_message?: string } };
  if (response.ok) return { check, ok: true, detail: `exists in account ${accountId}${body.data?.name ? `: "${body.data.name}"` : ''}` };
  if (response.status === 404) return { check, ok: false, detail: `not found in account ${accountId} at ${baseUrl}: fix the jobId in the routing file, or DBT_CLOUD_ACCOUNT_ID / DBT_CLOUD_BASE_URL` };
  if (response.status === 401 || response.status === 403) return { check, ok: false, detail: `dbt Cloud refused the token (${response.status}): DBT_CLOUD_API_TOKEN needs Job Runner (or higher) permission on this job` };
  return { check, ok: false, detail: `dbt Cloud answered ${response.status} ${body.status?.user_message ?? ''}`.trim() };
}

export async function checkCommand(env: Env, options: CheckOptions, out: Output): Promise<ExitCode> {
  const results = await runChecks(env, options);
  const failed = results.filter((r) => !r.ok);
  if (out.json) out.data({ ok: failed.length === 0, results });
  else {
    for (const r of results) out.line(`${r.ok ? out.colour('green', '✔') : out.colour('red', '✖')} ${terminalText(r.check).padEnd(34)} ${terminalText(r.detail)}${r.pointer && !r.detail.includes(r.pointer) ? ` (at ${terminalText(r.pointer)})` : ''}`);
    out.line(failed.length ? out.colour('red', `${failed.length} of ${results.length} checks failed`) : out.colour('green', `all ${results.length} checks passed`));
  }
  return failed.length ? EXIT.failed : EXIT.ok;
}
