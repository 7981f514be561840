import { StatusReader, readSettings } from '../read-model/status-reader.js';
import type { RegistrationsProvider, RegistrationsView } from '../status/registrations.js';
import { startStatusServer } from '../status/server.js';
import type { CloudContext } from './context.js';
import { CliError, EXIT, explainGoogleError, isCliError, type ExitCode } from './errors.js';
import type { Output } from './output.js';

export interface UiOptions {
  port: number;
  refreshSeconds: number;
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
}

/**
 * `postload ui`: the status page on 127.0.0.1, reading the deployment's Firestore with the
 * operator's own credentials (or the local stack's emulator), until Ctrl-C.
 */
export async function uiCommand(options: UiOptions, context: CloudContext, out: Output): Promise<ExitCode> {
  const project = await context.project();
  const settings = readSettings(context.env);
  const reader = new StatusReader(await context.firestore(), settings);
  // One read first, so that missing credentials or a wrong project fail here, with the fix, not in the browser.
  await reader.counts(new Date(), 1).catch((error: unknown) => {
    throw explainGoogleError(error, `reading ${settings.audit} in Firestore`, project);
  });
  const server = await startStatusServer({
    reader,
    port: options.port,
    refreshSeconds: options.refreshSeconds,
    registrations: registrationsCheck(context, (text) => out.error(`postload ui: ${text}`)),
    onError: (error, path) => out.error(`postload ui: ${path}: ${(error as Error).message}`),
  }).catch((error: unknown) => {
    if ((error as { code?: string }).code === 'EADDRINUSE') throw new CliError(`port ${options.port} on 127.0.0.1 is in use`, 'pass --port with another port, or --port 0 for any free one', EXIT.environment);
    throw error;
  });
  out.line(`status page of project ${project} (Firestore ${context.emulated ? 'emulator' : 'with your credentials'}): ${server.url}`);
  out.line('read-only; Ctrl-C stops it');
  await (options.until ?? untilSignal());
  await server.close();
  return EXIT.ok;
}

/** How long one check of the vendors' registrations is shown before it is asked again: their APIs are rate-limited, and the page refreshes every minute. */
export const REGISTRATIONS_TTL_MS = 5 * 60_000;

/**
 * The Webhooks view's data: what `postload connect --check` finds (the vendors whose API
 * credentials are in this environment, the ingest URL from POSTLOAD_INGEST_URL), asked when
 * the view is first opened and again once REGISTRATIONS_TTL_MS has passed. A check that
 * cannot ask says why on the page instead.
 */
export function registrationsCheck(context: CloudContext, say: (text: string) => void, now: () => number = Date.now): RegistrationsProvider {
  let last: { at: number; view: Promise<RegistrationsView> } | undefined;
  const ask = async (): Promise<RegistrationsView> => {
    const checkedAt = new Date(now());
    try {
      const { checkRegistrations } = await import('./connect/command.js');
      const { findings, skipped } = await checkRegistrations({}, context, say);
      return { checkedAt, findings, skipped };
    } catch (error) {
      if (!isCliError(error)) throw error;
      return { checkedAt, notChecked: error.message, ...(error.fix ? { fix: error.fix } : {}) };
    }
  };
  return () => {
    if (!last || now() - last.at >= REGISTRATIONS_TTL_MS) {
      const view = ask();
      last = { at: now(), view };
      // A failure not of the check's own (a bug) is not kept: the next view asks again.
      view.catch(() => (last?.view === view ? (last = undefined) : undefined));
    }
    return last.view;
  };
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
