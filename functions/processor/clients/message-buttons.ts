import type { SyncEvent } from '../../shared/sync-event.js';
import { actionButton, linkButton } from '../../shared/slack-buttons.js';

// Which buttons a Slack app message about an event offers. Only buttons with a safe effect:
// retrying a dbt Cloud run only on a run that failed (dbt Cloud retries it from its point of
// failure, and refuses any run that is not its job's latest failed one), and only when the
// deployment has dbt Cloud's settings; the status page only when the operator gave its
// address. Webhook messages never carry them: there is no app behind a webhook.

export interface ButtonOptions {
  /** dbt Cloud is configured (the ingest function retries runs with the same settings). */
  dbt: boolean;
  /** SLACK_STATUS_PAGE_URL, e.g. http://127.0.0.1:8089 for `postload ui` on the operator's machine. */
  statusPageUrl: string | undefined;
}

export function eventButtons(event: SyncEvent, options: ButtonOptions): Array<Record<string, unknown>> {
  const buttons: Array<Record<string, unknown> | undefined> = [];
  const jobId = event.connector.id;
  const runId = event.sync.id;
  if (options.dbt && event.source === 'dbt-cloud' && event.type === 'transformation.failed' && jobId && /^\d{1,20}$/.test(jobId) && runId && /^\d{1,15}$/.test(runId)) {
    buttons.push(
      actionButton({ kind: 'retry-run', jobId, runId: Number(runId), eventId: event.id }, 'Retry this dbt run', {
        title: 'Retry this dbt run?',
        text: `dbt Cloud retries run ${runId} of job ${jobId} from the point where it failed.`,
        confirm: 'Retry',
      }),
    );
  }
  if (options.statusPageUrl) buttons.push(statusPageButton(options.statusPageUrl, `/events/${encodeURIComponent(event.id)}`));
  return buttons.filter((b): b is Record<string, unknown> => b !== undefined);
}

/** "Open in the status page" at one of its permanent paths (docs/status-page.md). */
export function statusPageButton(statusPageUrl: string, path: string): Record<string, unknown> | undefined {
  return linkButton(`${statusPageUrl}${path}`, 'Open in the status page');
}
