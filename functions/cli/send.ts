import { createHmac } from 'node:crypto';
import { signFivetranPayload } from '../ingest/fivetran/signature.js';
import { DEVELOPMENT_SECRETS } from '../local/local-settings.js';
import { secretSetting } from '../shared/secrets.js';
import { AuditTrail, isFinal, type EventView } from '../read-model/audit-trail.js';
import type { CloudContext } from './context.js';
import { CliError, EXIT, explainGoogleError, isCliError, type ExitCode } from './errors.js';
import { renderTimeline } from './event-report.js';
import { terminalText, type Output } from './output.js';
import { loadRoutingConfig, type LoadedRouting } from '../processor/planning/routing.js';
import { buildPayload, SECRET_SETTINGS, testPayload, VENDORS, type Json, type PayloadOptions, type Vendor } from './payloads.js';
import { planSend, renderPlan, type SendPlan } from './send-plan.js';

export interface SendOptions extends PayloadOptions {
  /** The endpoint; the running local stack's when left out; not needed for a dry run. */
  url?: string;
  secret?: string;
  wait: boolean;
  timeoutSeconds: number;
  /** Send what the vendor's own test sends (starts nothing), and follow it to its audit record. */
  test?: boolean;
  /** Print what would be sent and what it would start; send nothing. */
  dryRun?: boolean;
  /** The routing file to plan a real event with (default ROUTING_CONFIG). */
  routing?: string;
}

export interface SignedRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Authenticates a body exactly as the vendor does (docs/webhooks.md): Fivetran signs the raw
 * bytes (X-Fivetran-Signature-256, hex HMAC-SHA256); Airbyte cannot sign, so the token
 * rides in the URL (?token=); dbt Cloud puts the lowercase hex HMAC-SHA256 of the body in
 * Authorization, with no prefix.
 */
export function signRequest(vendor: Vendor, url: string, body: string, secret: string): SignedRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  switch (vendor) {
    case 'fivetran':
      headers['X-Fivetran-Signature-256'] = signFivetranPayload(body, secret);
      return { url, headers, body };
    case 'airbyte': {
      const withToken = new URL(url);
      withToken.searchParams.set('token', secret);
      return { url: withToken.toString(), headers, body };
    }
    case 'dbt-cloud':
      headers.authorization = createHmac('sha256', secret).update(body, 'utf8').digest('hex');
      return { url, headers, body };
  }
}

/** A URL fit to print: a token in the query string is masked. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.searchParams.has('token')) parsed.searchParams.set('token', '***');
  return parsed.toString().replace('token=***', 'token=…');
}

/** The ingest endpoint's last path segment for each vendor (terraform/outputs.tf, npm start). */
const ENDPOINTS: Record<Vendor, string> = { fivetran: 'fivetran', airbyte: 'airbyte', 'dbt-cloud': 'dbt-cloud' };

/**
 * The URL to send to: --url, else the running local stack's endpoint. A URL that ends in
 * another vendor's endpoint is refused before sending: the answer would be a 401 blaming
 * the wrong secret.
 */
export function targetUrl(vendor: Vendor, given: string | undefined, context: Pick<CloudContext, 'localStack'>): URL {
  if (given === undefined) {
    if (context.localStack) return new URL(`${context.localStack.ingestUrl}/${ENDPOINTS[vendor]}`);
    throw new CliError(
      '--url is required to send: no local stack is running',
      `start the local stack with \`npm start\` in this folder and leave --url out, or pass the ingest function's endpoint, e.g. "$(terraform output -raw ${vendor === 'dbt-cloud' ? 'dbt_cloud' : vendor}_webhook_url)"`,
      EXIT.usage,
    );
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new CliError(`--url "${given}" is not a URL`, `pass the ingest function's URL, e.g. http://127.0.0.1:8080/${ENDPOINTS[vendor]} (npm start prints it)`, EXIT.usage);
  }
  const last = url.pathname.replace(/\/+$/, '').split('/').at(-1) ?? '';
  const other = VENDORS.find((v) => v !== vendor && ENDPOINTS[v] === last);
  if (other) {
    throw new CliError(
      `--url ends in /${last}, the ${other} endpoint, but this is a ${vendor} webhook`,
      `send it to the /${ENDPOINTS[vendor]} endpoint: ${url.origin}${url.pathname.replace(/\/[^/]*\/*$/, '')}/${ENDPOINTS[vendor]}, or send ${other} instead`,
      EXIT.usage,
    );
  }
  return url;
}

/**
 * The warning for a secret typed on the command line: it stays in the shell's history and
 * shows in `ps` to every user of the machine while the command runs. An `sm://` reference
 * or the environment variable avoids both. The local stack's development values are public
 * and are not warned about.
 */
export function literalSecretWarning(vendor: Vendor, flag: string | undefined, urlToken: string | null): string | undefined {
  const setting = SECRET_SETTINGS[vendor];
  const development = new Set<string>(Object.values(DEVELOPMENT_SECRETS));
  const literal = (value: string | undefined | null): value is string => !!value?.trim() && !value.trim().startsWith('sm://') && !development.has(value.trim());
  const fix = `pass --secret sm://NAME (read from Secret Manager) or set ${setting} in the environment instead`;
  if (literal(flag)) return `warning: --secret was given the secret itself: it stays in your shell history and shows in \`ps\` while postload runs; ${fix}`;
  if (flag === undefined && literal(urlToken)) return `warning: --url carries the Airbyte token itself: it stays in your shell history and shows in \`ps\` while postload runs; ${fix} (postload adds it to the URL)`;
  return undefined;
}

/**
 * `postload send`. A test (`--test`) is what the vendor's own test sends and starts
 * nothing. Anything else is a real event, sent only when named (`--event`, `--status`), and
 * only after the routing file said which dbt jobs and joins it starts (`--dry-run` stops
 * there): a smoke test must never start production jobs by accident. The answer and the
 * event id are printed as soon as the webhook is accepted, so that a failure to follow it
 * afterwards never hides an accepted webhook (exit 5).
 */
export async function send(vendor: Vendor, options: SendOptions, context: CloudContext, out: Output): Promise<ExitCode> {
  const setting = SECRET_SETTINGS[vendor];
  if (options.test && (options.event || options.status || options.connector)) {
    throw new CliError('--test sends the vendor\'s own test payload: --event, --status and --connector do not apply', 'leave them out, or leave out --test to send a real event', EXIT.usage);
  }
  if (!options.test && options.event === undefined && options.status === undefined) {
    throw new CliError(
      `say what to send: --test, or a real ${vendor} event`,
      `--test sends what ${vendor}'s own test sends and starts nothing; ${REAL_EVENT_EXAMPLE[vendor]} sends a real event, which starts the dbt jobs routed to it (postload names them first; --dry-run only names them)`,
      EXIT.usage,
    );
  }
  const payload = options.test ? testPayload(vendor) : buildPayload(vendor, options);
  const plan = await planOf(vendor, payload, options, context, out);
  if (options.dryRun) {
    if (out.json) out.data({ vendor, dryRun: true, payload, plan: plan ?? null });
    else out.line(`dry run: nothing sent (${vendor} ${payloadLabel(vendor, payload, options)})`);
    return EXIT.ok;
  }
  const url = targetUrl(vendor, options.url, context);
  // The running local stack's public development value, when it uses one and nothing else is given.
  const development = context.localStack?.developmentSecrets.includes(setting) ? DEVELOPMENT_SECRETS[setting as keyof typeof DEVELOPMENT_SECRETS] : undefined;
  const raw = options.secret ?? context.env[setting] ?? development;
  // An Airbyte URL may already carry its token, as Airbyte is configured.
  const urlToken = vendor === 'airbyte' ? url.searchParams.get('token') : null;
  if (!raw?.trim() && !urlToken) {
    throw new CliError(`no ${vendor} secret`, `pass --secret, or set ${setting} to the value or to an sm:// Secret Manager reference (with the local stack running, \`npm start\`, its development values are used: docs/development.md)`, EXIT.usage);
  }
  const warning = literalSecretWarning(vendor, options.secret, urlToken);
  if (warning) out.error(`postload: ${warning}`);
  // A test is followed to its audit record: that is what proves the deployment works.
  const wait = options.wait || Boolean(options.test);
  // Where the event will be followed is settled before anything is sent, so a missing
  // project or credentials stop the command while nothing has happened yet.
  if (wait) await context.ready('Firestore');
  const secret = raw?.trim() ? await readSecret(setting, raw, context) : urlToken!;
  const body = JSON.stringify(payload);
  const request = signRequest(vendor, url.toString(), body, secret);

  out.progress(`sending a ${vendor} webhook to ${redactUrl(request.url)}…`);
  let response: Response;
  try {
    response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    throw new CliError(`${redactUrl(request.url)} did not answer (${(error as Error).cause ?? (error as Error).message})`, 'check --url, and that the ingest function runs (npm start, or `terraform output fivetran_webhook_url`)');
  }
  const text = await response.text();
  out.endProgress();
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch {
    // Not JSON: shown as it came.
  }
  const accepted = response.ok;
  const eventId = accepted ? (answer as { id?: string }).id : undefined;
  const sent = { vendor, test: Boolean(options.test), url: redactUrl(request.url), status: response.status, answer, payload, ...(plan ? { plan } : {}) };

  if (!out.json) {
    // At once: whatever happens while following it, the webhook was accepted (a re-send of a new sync would start more runs).
    const mark = accepted ? out.colour('green', '✔') : out.colour('red', '✖');
    out.line(`${mark} ${vendor} ${payloadLabel(vendor, payload, options)} → ${redactUrl(request.url)}: ${response.status} ${terminalText(typeof answer === 'string' ? answer : JSON.stringify(answer))}`);
    if (!accepted) out.line(hintFor(response.status, vendor, setting, answer));
  }
  if (!accepted || !wait || !eventId) {
    if (out.json) out.data(sent);
    return accepted ? EXIT.ok : EXIT.failed;
  }

  let followed: { view: EventView | undefined; timedOut: boolean };
  try {
    followed = await follow(eventId, options.timeoutSeconds, context, out);
  } catch (error) {
    out.endProgress();
    const problem = isCliError(error) ? error : explainGoogleError(error, 'reading the audit trail', context.env.GOOGLE_CLOUD_PROJECT ?? '?');
    if (out.json) out.data({ ...sent, event: null, waited: false, followError: problem.message });
    out.error(`postload: accepted as ${eventId}; could not follow it: ${problem.message}`);
    out.error(`  fix: ${problem.fix ? `${problem.fix}; then ` : ''}follow it with: postload event ${eventId}`);
    return EXIT.notFollowed;
  }
  const { view, timedOut } = followed;
  const code: ExitCode = timedOut ? EXIT.timeout : view && view.outcome !== 'processed' ? EXIT.failed : EXIT.ok;
  if (out.json) {
    out.data({ ...sent, event: view ?? null, waited: !timedOut });
  } else {
    if (view) renderTimeline(view, out);
    if (timedOut) out.line(out.colour('yellow', `… event ${eventId} not finished after ${options.timeoutSeconds} s (${view ? `outcome so far: ${view.outcome}` : 'no audit record yet'}); follow it with: postload event ${eventId}`));
  }
  return code;
}

/** The `--event` that sends a real event, per vendor, for the messages. */
const REAL_EVENT_EXAMPLE: Record<Vendor, string> = {
  fivetran: '--event sync_end [--status FAILURE]',
  airbyte: '--event sync-succeeded (or --status failed)',
  'dbt-cloud': '--event job.run.completed [--status Errored]',
};

/**
 * The routing file's plan for the payload, printed before anything is sent. A test needs
 * no routing file (it starts nothing, except what a route asks of dbt Cloud's sample run);
 * a real event does: postload will not send what it cannot first name the effects of.
 */
async function planOf(vendor: Vendor, payload: Json, options: SendOptions, context: CloudContext, out: Output): Promise<SendPlan | undefined> {
  const value = options.routing ?? context.env.ROUTING_CONFIG?.trim();
  if (!value) {
    if (options.test) {
      if (!out.json) out.line(vendor === 'dbt-cloud' ? 'a test: dbt Cloud\'s sample run of job 123 starts a dbt job only where a route\'s "on" lists transformation.succeeded for it' : `a test: ${vendor}'s test event starts nothing`);
      return undefined;
    }
    throw new CliError(
      `a real ${vendor} event starts the dbt jobs routed to it: postload names them before sending, and has no routing file to read them from`,
      'pass --routing FILE (the routing file you deploy, e.g. terraform/routing.json) or set ROUTING_CONFIG; or send --test, which starts nothing',
      EXIT.usage,
    );
  }
  let routing: LoadedRouting;
  try {
    routing = loadRoutingConfig(value);
  } catch (error) {
    throw new CliError((error as Error).message, 'fix the routing file (`postload check --routing FILE` says what is wrong)', EXIT.usage);
  }
  const plan = planSend(vendor, payload, routing);
  if (!out.json) renderPlan(plan, routing.source, out);
  return plan;
}

/** Polls the audit record until the processor is done with the event, or the time is up. */
export async function follow(eventId: string, timeoutSeconds: number, context: CloudContext, out: Output): Promise<{ view: EventView | undefined; timedOut: boolean }> {
  const trail = new AuditTrail(await context.firestore(), context.auditCollection);
  const deadline = Date.now() + timeoutSeconds * 1000;
  let view: EventView | undefined;
  const project = await context.project();
  for (;;) {
    view = await trail.get(eventId).catch((error: unknown) => {
      throw explainGoogleError(error, `reading the audit record ${context.auditCollection}/${eventId} from Firestore`, project);
    });
    if (view && isFinal(view)) break;
    if (Date.now() > deadline) {
      out.endProgress();
      return { view, timedOut: true };
    }
    out.progress(`waiting for the processor: event ${eventId.slice(0, 8)} ${view ? view.outcome : 'not delivered yet'}…`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  out.endProgress();
  return { view, timedOut: false };
}

async function readSecret(setting: string, raw: string, context: CloudContext): Promise<string> {
  try {
    // Through the command's environment, as every other read (SECRET_MANAGER_EMULATOR_HOST included).
    return await secretSetting({ ...context.env, [setting]: raw }, setting, raw.startsWith('sm://') ? { projectId: await context.project() } : {}).currentValue();
  } catch (error) {
    throw new CliError(`${(error as Error).message}`, `check the reference and your access (gcloud secrets versions access latest --secret=NAME)`);
  }
}

function payloadLabel(vendor: Vendor, payload: Record<string, unknown>, options: PayloadOptions & { test?: boolean }): string {
  if (vendor === 'fivetran') {
    const status = (payload.data as { status?: string } | undefined)?.status;
    return `${payload.event}${status ? ` ${status}` : ''}${payload.connector_id ? ` (connector ${payload.connector_id})` : ''}`;
  }
  if (vendor === 'airbyte') {
    const name = options.test ? 'test notification' : (options.event ?? (options.status ? `sync-${options.status.toLowerCase()}` : 'sync-succeeded'));
    const connection = ((payload.data as { connection?: { id?: string } } | undefined)?.connection?.id ?? /\/connections\/([0-9a-f-]{36})/.exec(JSON.stringify(payload))?.[1]) as string | undefined;
    return `${name}${connection ? ` (connection ${connection})` : ''}`;
  }
  const data = payload.data as { jobId: string; runStatus: string };
  return `${payload.eventType} ${data.runStatus} (job ${data.jobId})`;
}

function hintFor(status: number, vendor: Vendor, setting: string, answer: unknown): string {
  const said = typeof answer === 'object' && answer !== null ? (answer as { message?: unknown }).message : undefined;
  if (status === 401 || status === 403) {
    return `  the ${vendor} endpoint refused the credentials${typeof said === 'string' ? ` (${said})` : ''}: pass the value of the ingest function's ${setting} with --secret, or set ${setting}`;
  }
  if (status === 404) return `  no such route: is the URL the ingest function's /${vendor} endpoint (and is this version deployed)?`;
  if (status === 503) return `  the function could not store the event or has no ${setting}: see its logs`;
  return '  see the answer above and the ingest function\'s logs';
}
