import type { HeaderCounts } from '../read-model/status-reader.js';
import { href, html, raw, type Html, type Renderable } from './html.js';

// The frame every page shares: the header counts (each a link to the list it counts), the
// navigation, a refresh without JavaScript (meta refresh), and the one stylesheet, served
// by the page itself (the Content-Security-Policy allows nothing else).

export interface PageOptions {
  title: string;
  /** The section of the navigation it belongs to. */
  section: 'overview' | 'connectors' | 'events' | 'runs' | 'joins' | 'problems' | 'registrations';
  counts: HeaderCounts | undefined;
  /** Seconds between refreshes; 0: none. */
  refreshSeconds: number;
  /** This view's JSON twin. */
  api: string;
  now: Date;
}

const SECTIONS: Array<[PageOptions['section'], string, string]> = [
  ['overview', 'Overview', '/'],
  ['connectors', 'Connectors', '/connectors'],
  ['events', 'Events', '/events'],
  ['runs', 'Runs', '/runs'],
  ['joins', 'Joins', '/joins'],
  ['problems', 'Quarantine & dead letters', '/problems'],
  ['registrations', 'Webhooks', '/registrations'],
];

export function page(options: PageOptions, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds > 0 ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ''}
<title>${options.title} · postload</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Sections"><span class="brand">postload</span><ul>${SECTIONS.map(
    ([key, label, path]) => html`<li><a href="${path}"${key === options.section ? raw(' aria-current="page"') : ''}>${label}</a></li>`,
  )}</ul></nav>
${options.counts ? counts(options.counts) : ''}
</header>
<main id="main">
<h1>${options.title}</h1>
${body}
</main>
<footer><p>Read-only: this page changes nothing. Read at ${options.now.toISOString().replace(/\.\d{3}Z$/, 'Z')}${options.refreshSeconds > 0 ? ` · refreshes every ${options.refreshSeconds} s` : ''} · <a href="${options.api}">JSON</a></p></footer>
</body>
</html>
`;
}

function counts(c: HeaderCounts): Html {
  const item = (n: number, label: string, link: string, level: 'bad' | 'warn') =>
    html`<li><a class="count${n > 0 ? ` ${level}` : ''}" href="${link}"><span class="n">${n}</span> ${label}</a></li>`;
  return html`<ul class="counts" aria-label="Counts">
${item(c.overdueConnectors, 'overdue', '/connectors?state=overdue', 'bad')}
${item(c.lateConnectors, 'late', '/connectors?state=late', 'warn')}
${item(c.failingConnectors, 'latest failed', '/connectors?latest=failed', 'bad')}
${item(c.waitingJoins, 'joins waiting', '/joins?waiting=1', 'warn')}
${item(c.deadLetters, 'dead letters', '/problems#dead-letters', 'bad')}
${item(c.quarantinedToday, 'quarantined today', href('/events', { type: 'quarantined', since: c.todayFrom.toISOString() }), 'warn')}
${item(c.runsFailed24h, 'runs failed (24 h)', '/runs?status=failed&since=24h', 'bad')}
</ul>`;
}

/** A time as UTC and how long ago, in a <time> element. */
export function time(at: Date | null | undefined, now: Date): Html {
  if (!at) return html`<span class="none">—</span>`;
  const iso = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return html`<time datetime="${iso}" title="${iso}">${relative(at, now)}</time>`;
}

export function relative(at: Date, now: Date): string {
  const s = Math.round((now.getTime() - at.getTime()) / 1000);
  const span = duration(Math.abs(s));
  return s >= 0 ? `${span} ago` : `in ${span}`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** A state word with a class for its colour; the word itself says it (never colour alone). */
export function badge(state: string | null | undefined): Html {
  const word = state ?? 'unknown';
  const level = ['failing', 'overdue', 'failed', 'cancelled', 'retrying', 'invalid', 'quarantined'].includes(word)
    ? 'bad'
    : ['late', 'running', 'received', 'waiting', 'rescheduled', 'queued', 'paused', 'unknown'].includes(word)
      ? 'warn'
      : 'good';
  return html`<span class="badge ${level}">${word}</span>`;
}

export function table(caption: string, headers: string[], rows: Renderable[][], empty: string): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="scroll"><table>
<caption>${caption}</caption>
<thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${rows.map((cells) => html`<tr>${cells.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody>
</table></div>`;
}

export const STYLE = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa;
  --bad: #a40e26; --bad-bg: #ffebe9; --warn: #7d4e00; --warn-bg: #fff8c5; --good: #116329; --good-bg: #dafbe1; --link: #0550ae; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
.skip { position: absolute; left: -9999px; } .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; }
header { background: var(--soft); border-bottom: 1px solid var(--line); padding: 8px 16px; }
nav { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; }
nav ul, .counts { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 14px; }
.brand { font-weight: 700; }
nav a[aria-current="page"] { font-weight: 700; color: var(--fg); }
.counts { margin-top: 8px; }
.count { display: inline-block; padding: 2px 8px; border: 1px solid var(--line); border-radius: 12px; text-decoration: none; color: var(--fg); background: var(--bg); }
.count .n { font-weight: 700; }
.count.bad { color: var(--bad); background: var(--bad-bg); border-color: var(--bad); }
.count.warn { color: var(--warn); background: var(--warn-bg); border-color: var(--warn); }
main, footer { padding: 8px 16px 24px; max-width: 1400px; }
footer { color: var(--muted); border-top: 1px solid var(--line); }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding: 4px 0; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); padding: 4px 8px; }
td { overflow-wrap: anywhere; max-width: 40em; }
th { background: var(--soft); }
.badge { display: inline-block; white-space: nowrap; padding: 0 6px; border-radius: 8px; font-size: 0.9em; border: 1px solid; }
.badge.bad { color: var(--bad); background: var(--bad-bg); } .badge.warn { color: var(--warn); background: var(--warn-bg); } .badge.good { color: var(--good); background: var(--good-bg); }
.strip { list-style: none; display: flex; gap: 2px; margin: 0; padding: 0; }
.strip li { width: 10px; height: 18px; border-radius: 2px; border: 1px solid var(--muted); }
.strip li.ok { background: var(--good); border-color: var(--good); } .strip li.bad { background: var(--bad); border-color: var(--bad); } .strip li.other { background: var(--warn-bg); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.none, .empty, .muted, caption { color: var(--muted); }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; background: var(--soft); padding: 8px; border: 1px solid var(--line); }
form.filters label { display: flex; flex-direction: column; font-size: 0.9em; }
input, select, button { font: inherit; padding: 2px 4px; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.92em; }
pre { background: var(--soft); border: 1px solid var(--line); padding: 6px 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
ol.timeline { list-style: none; padding: 0; } ol.timeline li { padding: 2px 0; border-bottom: 1px dotted var(--line); overflow-wrap: anywhere; }
.mark-ok { color: var(--good); } .mark-error { color: var(--bad); } .mark-info { color: var(--muted); }
.pager { margin: 12px 0; display: flex; gap: 16px; }
.notice { background: var(--warn-bg); border: 1px solid var(--warn); padding: 6px 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
`;
