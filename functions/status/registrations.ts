import { html, type Html } from './html.js';
import { table, time } from './layout.js';

// The vendors' webhook registrations on the status page, as `postload connect --check`
// finds them: each registration pointing at postload compared with what postload expects
// (URL, events, active, the secret stored), and what to run where it differs. The page
// asks no vendor itself: `postload ui` gives it the check (functions/cli/ui.ts), with the
// operator's vendor API credentials.

export interface RegistrationFinding {
  vendor: 'fivetran' | 'airbyte' | 'dbt-cloud';
  subject: string;
  ok: boolean;
  details: string[];
  fix?: string;
}

export type RegistrationsView =
  | { checkedAt: Date; findings: RegistrationFinding[]; skipped: string[] }
  /** The check could not ask (no credentials, no ingest URL, a vendor refusing them, …): why, and the fix. */
  | { checkedAt: Date; notChecked: string; fix?: string };

export type RegistrationsProvider = () => Promise<RegistrationsView>;

const VENDORS: Record<RegistrationFinding['vendor'], string> = { fivetran: 'Fivetran', airbyte: 'Airbyte', 'dbt-cloud': 'dbt Cloud' };

export function registrationsBody(view: RegistrationsView | undefined, now: Date): Html {
  const intro = html`<p class="muted">What <code>postload connect --check</code> finds: each vendor's webhook pointing at postload compared with what postload expects (URL, events, active, its secret stored). Fix a difference from a terminal with the command shown (this page changes nothing).</p>`;
  if (!view) return html`${intro}<p class="empty">Not checked: this page was started without the vendors' check.</p>`;
  const checked = html`<p>Checked ${time(view.checkedAt, now)}.</p>`;
  if ('notChecked' in view) {
    return html`${intro}${checked}<p class="notice" role="status">Not checked: ${view.notChecked}</p>${view.fix ? html`<p>Fix: <code>${view.fix}</code></p>` : ''}`;
  }
  const differ = view.findings.filter((f) => !f.ok).length;
  const rows = view.findings.map((f) => [
    VENDORS[f.vendor],
    f.subject,
    html`<span class="badge ${f.ok ? 'good' : 'bad'}">${f.ok ? 'as expected' : 'differs'}</span>`,
    f.details.join('; '),
    f.fix ? html`<code>${f.fix}</code>` : html`<span class="none">—</span>`,
  ]);
  return html`${intro}${checked}
<p>${differ === 0 ? 'Every registration is as postload expects.' : `${differ} difference${differ > 1 ? 's' : ''} from what postload expects.`}</p>
${table('Webhook registrations, differences first', ['Vendor', 'Registration', 'State', 'Details', 'Fix'], [...rows.filter((_, i) => !view.findings[i]!.ok), ...rows.filter((_, i) => view.findings[i]!.ok)], 'No vendor was checked.')}
${view.skipped.length > 0 ? html`<ul class="muted">${view.skipped.map((s) => html`<li>${s}</li>`)}</ul>` : ''}`;
}
