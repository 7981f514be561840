import type { EventView } from '../read-model/audit-trail.js';
import { actionSummary } from '../read-model/timeline.js';
import type { ConnectorView } from '../read-model/connectors.js';
import type { JoinView } from '../read-model/joins.js';
import type { ProblemList } from '../read-model/problems.js';
import type { RunView } from '../read-model/runs.js';
import { clip, href, html, segment, type Html } from './html.js';
import { badge, duration, table, time } from './layout.js';
import type { ConnectorData, ConnectorsData, EventData, EventsData, JoinsData, OverviewData, ProblemsData, RunsData } from './views.js';

// The HTML of each view, from the data its JSON twin returns. Every vendor text goes
// through html`` (escaped); lists show clipped texts, the event's own page shows them whole.

const LIST_TEXT = 160;

function eventLink(id: string, label?: string): Html {
  return html`<a href="/events/${segment(id)}"><code>${label ?? id.slice(0, 8)}</code></a>`;
}

function connectorLink(c: Pick<ConnectorView, 'docId' | 'connectorId' | 'connectorName'>): Html {
  return html`<a href="/connectors/${segment(c.docId)}">${clip(c.connectorName ?? c.connectorId, 80)}</a>${c.connectorName && c.connectorName !== c.connectorId ? html` <span class="muted">(${clip(c.connectorId, 60)})</span>` : ''}`;
}

function connectorOfEvent(e: EventView): Html {
  if (!e.connectorId && !e.connectorName) return html`<span class="none">—</span>`;
  const label = e.connectorName ?? e.connectorId ?? '';
  return e.connectorId
    ? html`<a href="${href('/events', { connector: e.connectorId, since: '7d' })}">${clip(label, 80)}</a>${e.connectorName && e.connectorName !== e.connectorId ? html` <span class="muted">(${clip(e.connectorId, 60)})</span>` : ''}`
    : html`${clip(label, 80)}`;
}

function runLink(kind: string, target: string, runId: string, label?: string): Html {
  return html`<a href="/runs/${segment(kind)}/${segment(target)}/${segment(runId)}">${label ?? `run ${runId}`}</a>`;
}

const TARGET_NOUNS: Record<string, string> = { 'dbt-cloud': 'dbt Cloud job', 'cloud-run': 'Cloud Run job', airflow: 'Airflow DAG', http: 'HTTP call' };

/** A run's target as people say it: "dbt Cloud job 101", "Cloud Run job projects/…/jobs/dbt". */
export function targetLabel(kind: string, target: string): string {
  return `${TARGET_NOUNS[kind] ?? kind} ${target}`;
}

function strip(c: ConnectorView): Html {
  if (c.strip.length === 0) return html`<span class="none">no finished sync yet</span>`;
  return html`<ol class="strip" aria-label="last ${c.strip.length} syncs, oldest first">${c.strip.map((s) => {
    const level = s.type.endsWith('.succeeded') ? 'ok' : s.type.endsWith('.failed') ? 'bad' : 'other';
    const what = `${s.type.replace(/^(sync|transformation)\./, '')} ${s.occurredAt ? s.occurredAt.toISOString().replace(/\.\d{3}Z$/, 'Z') : ''}`;
    return html`<li class="${level}" title="${what}"><span class="sr">${what}</span></li>`;
  })}</ol>`;
}

function freshnessCells(c: ConnectorView, now: Date): Html[] {
  const f = c.freshness;
  return [
    html`${badge(c.health)}${f?.since ? html` <span class="muted">since ${time(f.since, now)}</span>` : ''}${f?.pausedUntil ? html` <span class="muted">paused until ${time(f.pausedUntil, now)}</span>` : ''}`,
    f ? html`<span title="${f.expectationDetail ?? ''}">${clip(f.expectation ?? '—', LIST_TEXT)}</span>${f.expectationSource ? html` <span class="muted">(${f.expectationSource})</span>` : ''}` : html`<span class="none">not judged yet</span>`,
    time(c.lastSuccess?.occurredAt, now),
    f?.expectedBy ? time(f.expectedBy, now) : html`<span class="none">—</span>`,
  ];
}

function connectorRows(list: ConnectorView[], now: Date): Html[][] {
  return list.map((c) => [
    connectorLink(c),
    html`${c.source}`,
    ...freshnessCells(c, now),
    strip(c),
    c.lastFailure ? html`${time(c.lastFailure.occurredAt, now)} ${clip(c.lastFailure.error, LIST_TEXT)}` : html`<span class="none">—</span>`,
  ]);
}

const CONNECTOR_HEADERS = ['connector', 'source', 'state', 'expectation (source)', 'last success', 'next expected', 'last 14 syncs', 'last failure'];

function eventRows(events: EventView[], now: Date): Html[][] {
  return events.map((e) => [
    time(e.occurredAt, now),
    eventLink(e.eventId),
    html`${e.source}`,
    html`${e.type}`,
    connectorOfEvent(e),
    e.syncStatus ? badge(e.syncStatus) : html`<span class="none">—</span>`,
    badge(e.outcome),
    html`${clip(e.actions.map(actionSummary).join('; '), LIST_TEXT) || '—'}`,
    html`${clip(e.lastError ?? e.syncError, LIST_TEXT)}`,
  ]);
}

const EVENT_HEADERS = ['occurred', 'event', 'source', 'type', 'connector', 'sync', 'outcome', 'actions', 'error'];

export function overviewBody(d: OverviewData, now: Date): Html {
  return html`<h2 id="attention">Connectors that need attention</h2>
${table('Failing, overdue and late connectors, most urgent first', CONNECTOR_HEADERS, connectorRows(d.attention, now), 'Every connector is fine: none is failing, overdue or late.')}
${d.moreAttention ? html`<p><a href="/connectors">All connectors needing attention</a></p>` : ''}
<h2 id="joins">Joins waiting</h2>
${joinsTable(d.waitingJoins, now, 'No join is waiting for an upstream.')}
<h2 id="latest">Latest events</h2>
${table('The newest events of the last 24 hours', EVENT_HEADERS, eventRows(d.latest, now), 'No event in the last 24 hours.')}
<p><a href="/events">All events, with filters</a></p>`;
}

export function connectorsBody(d: ConnectorsData, now: Date): Html {
  const filtered = Object.keys(d.filter).some((k) => k !== 'limit');
  const next = d.next ? href('/connectors', { ...d.filter, after: d.next }) : null;
  return html`<form class="filters" method="get" action="/connectors">
<label>State <select name="state"><option value="">any</option>${d.states.map((s) => html`<option${d.filter.state === s ? html` selected` : ''}>${s}</option>`)}</select></label>
<button type="submit">Filter</button>${filtered ? html` <a href="/connectors">Clear</a>` : ''}
</form>
${filtered ? '' : html`<h2 id="attention">Needing attention</h2>${table('Failing, overdue and late connectors, most urgent first', CONNECTOR_HEADERS, connectorRows(d.attention, now), 'None: no connector is failing, overdue or late.')}`}
<h2 id="all">${filtered ? 'Matching connectors' : 'All connectors'}</h2>
${table(`Connectors by id${filtered ? `, ${Object.entries(d.filter).filter(([k]) => k !== 'limit').map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`, CONNECTOR_HEADERS, connectorRows(d.connectors, now), 'No connector matches.')}
<div class="pager">${next ? html`<a rel="next" href="${next}">Next page</a>` : html`<span class="muted">End of the list.</span>`}</div>`;
}

export function connectorBody(d: ConnectorData, now: Date): Html {
  const c = d.connector;
  const f = c.freshness;
  return html`<dl class="facts">
<dt>source</dt><dd>${c.source}</dd>
<dt>id</dt><dd><code>${c.connectorId}</code></dd>
<dt>name</dt><dd>${c.connectorName ?? '—'}</dd>
<dt>type</dt><dd>${c.connectorType ?? '—'}</dd>
<dt>destination</dt><dd>${c.destination ?? '—'}</dd>
<dt>state</dt><dd>${badge(c.health)}${f?.why ? html` ${f.why}` : ''}</dd>
<dt>expectation</dt><dd>${f ? html`${f.expectation ?? '—'} <span class="muted">(source: ${f.expectationSource ?? '—'}${f.expectationDetail ? `: ${f.expectationDetail}` : ''})</span>` : html`<span class="none">not judged by the freshness sweep yet</span>`}</dd>
<dt>next expected</dt><dd>${time(f?.expectedBy, now)}</dd>
<dt>last success</dt><dd>${time(c.lastSuccess?.occurredAt, now)}${c.lastSuccess ? html` ${eventLink(c.lastSuccess.eventId)}` : ''}</dd>
<dt>last failure</dt><dd>${time(c.lastFailure?.occurredAt, now)}${c.lastFailure ? html` ${eventLink(c.lastFailure.eventId)} ${c.lastFailure.error ?? ''}` : ''}</dd>
<dt>latest dbt run</dt><dd>${c.latestRun ? html`${runLink('dbt-cloud', c.latestRun.jobId, String(c.latestRun.runId))} of job ${c.latestRun.jobId} ${badge(c.latestRun.status)}` : '—'}</dd>
<dt>last 14 syncs</dt><dd>${strip(c)}</dd>
</dl>
<h2>Recent events</h2>
${table('This connector\u2019s events of the last 30 days, newest first', EVENT_HEADERS, eventRows(d.events, now), 'No event in the last 30 days.')}
<p><a href="${href('/events', { connector: c.connectorId, since: '30d' })}">All of its events</a></p>`;
}

export function eventsBody(d: EventsData, now: Date): Html {
  const f = d.filter;
  const select = (name: string, label: string, options: readonly string[]) =>
    html`<label>${label} <select name="${name}"><option value="">any</option>${options.map((o) => html`<option${f[name] === o ? html` selected` : ''}>${o}</option>`)}</select></label>`;
  const input = (name: string, label: string, placeholder: string) => html`<label>${label} <input name="${name}" value="${f[name] ?? ''}" placeholder="${placeholder}"></label>`;
  const next = d.next ? href('/events', { ...f, cursor: d.next }) : null;
  return html`<form class="filters" method="get" action="/events" aria-label="Filters">
${select('source', 'Source', d.vocabulary.sources)}
${input('connector', 'Connector id', 'e.g. demo_orders_pg')}
${select('type', 'Type', d.vocabulary.types)}
${select('status', 'Sync status', d.vocabulary.statuses)}
${select('outcome', 'Outcome', d.vocabulary.outcomes)}
${input('since', 'Since', '24h, 7d or a date')}
${input('until', 'Until', 'a date (optional)')}
${input('q', 'Text', 'id, name, error…')}
<button type="submit">Filter</button> <a href="/events">Clear</a>
</form>
${d.partial ? html`<p class="notice" role="status">Read ${d.scanned} records back to ${time(d.scannedTo, now)} and found ${d.events.length} matching; the next page searches on from there.</p>` : ''}
${table(`Events from ${d.since.toISOString()}${d.until ? ` to ${d.until.toISOString()}` : ''}, newest first`, EVENT_HEADERS, eventRows(d.events, now), 'No event matches these filters.')}
<div class="pager">${next ? html`<a rel="next" href="${next}">Older events</a>` : html`<span class="muted">No older event matches.</span>`}${d.atCursor ? html` <a href="${href('/events', f)}">Newest</a>` : ''}</div>`;
}

export function eventBody(d: EventData, now: Date): Html {
  const e = d.event;
  return html`<dl class="facts">
<dt>event</dt><dd><code>${e.eventId}</code></dd>
<dt>source · type</dt><dd>${e.source} · ${e.type} <span class="muted">(${e.vendorEvent || 'no vendor event name'})</span></dd>
<dt>connector</dt><dd>${connectorOfEvent(e)}</dd>
<dt>sync</dt><dd>${e.syncId ?? '—'} ${e.syncStatus ? badge(e.syncStatus) : ''}</dd>
<dt>outcome</dt><dd>${badge(e.outcome)}, ${e.deliveries} ${e.deliveries === 1 ? 'delivery' : 'deliveries'}</dd>
<dt>occurred</dt><dd>${time(e.occurredAt, now)}</dd>
<dt>routes</dt><dd>${e.routes.join(', ') || '—'}</dd>
${d.runs.length ? html`<dt>runs</dt><dd>${d.runs.map((r) => html`${runLink(r.kind, r.target, r.runId, `run ${r.runId} of ${targetLabel(r.kind, r.target)}`)} (${r.how}) `)}</dd>` : ''}
${e.joins.length ? html`<dt>joins</dt><dd>${e.joins.map((j) => html`<a href="/joins/${segment(j.join)}">${j.join}</a>: ${j.outcome}${j.missing.length ? ` (missing ${j.missing.join(', ')})` : ''} `)}</dd>` : ''}
${e.syncError ? html`<dt>vendor's error</dt><dd>${e.syncError}</dd>` : ''}
${e.lastError ? html`<dt>last error</dt><dd>${e.lastError}</dd>` : ''}
</dl>
<h2>Story</h2>
<ol class="timeline">${d.timeline.map(
    (t) => html`<li><span class="mark-${t.level}">${t.level === 'ok' ? '✔' : t.level === 'error' ? '✖' : '·'}<span class="sr"> ${t.level}</span></span> ${t.at ? html`<time datetime="${t.at.toISOString()}">${t.at.toISOString()}</time>` : html`<span class="muted">(no time)</span>`} ${t.what}</li>`,
  )}</ol>
<p>The same story in a terminal: <code>npx postload event ${e.eventId}</code></p>`;
}

function joinsTable(joins: JoinView[], now: Date, empty: string): Html {
  return table(
    'Each join: its upstreams, what it waits for, and the job it starts',
    ['join', 'present', 'missing', 'waiting since', 'deadline (within)', 'job', 'last firing'],
    joins.map((j) => [
      html`<a href="/joins/${segment(j.name)}">${j.name}</a>${j.waiting ? html` ${badge('waiting')}` : ''}`,
      html`${j.present.join(', ') || '—'}`,
      html`${j.missing.join(', ') || '—'}${j.upstreams.some((u) => u.failure) ? html` ${badge('failing')} ${j.upstreams.filter((u) => u.failure).map((u) => u.name).join(', ')}` : ''}`,
      time(j.waitingSince, now),
      html`${time(j.deadline, now)} <span class="muted">(${j.within})</span>`,
      html`dbt Cloud job ${j.jobId}`,
      j.lastFiring ? html`round ${j.lastFiring.round} ${time(j.lastFiring.firedAt, now)}${j.lastFiring.run?.id != null ? html` ${runLink('dbt-cloud', j.jobId, String(j.lastFiring.run.id))} (${j.lastFiring.run.outcome})` : ''}` : html`<span class="none">never fired</span>`,
    ]),
    empty,
  );
}

export function joinsBody(d: JoinsData, now: Date): Html {
  return html`${joinsTable(d.joins, now, 'No join has a document yet (a join gets one when an upstream event first matches it).')}
<div class="pager">${d.next ? html`<a rel="next" href="${href('/joins', { after: d.next })}">Next page</a>` : ''}</div>`;
}

export function joinBody(j: JoinView, now: Date): Html {
  return html`<dl class="facts">
<dt>job</dt><dd>dbt Cloud job ${j.jobId}</dd>
<dt>within</dt><dd>${j.within}</dd>
<dt>state</dt><dd>${j.waiting ? html`${badge('waiting')} since ${time(j.waitingSince, now)}, until ${time(j.deadline, now)}` : j.present.length ? 'complete' : 'nothing counted since the last firing'}</dd>
<dt>rounds fired</dt><dd>${j.round}</dd>
</dl>
${table(
  'Upstreams',
  ['upstream', 'success counted', 'goes stale', 'failure streak'],
  j.upstreams.map((u) => [
    html`${u.name}`,
    u.success ? html`${eventLink(u.success.eventId)} ${u.success.connector} ${time(u.success.occurredAt, now)}` : html`${badge('missing')}`,
    time(u.success?.staleAt, now),
    u.failure ? html`${badge('failing')} ${u.failure.count}× since ${time(u.failure.since, now)}: ${clip(u.failure.message, LIST_TEXT)} ${eventLink(u.failure.eventId)}` : html`<span class="none">—</span>`,
  ]),
  'This join names no upstream.',
)}`;
}

function runRows(runs: RunView[], now: Date): Html[][] {
  return runs.map((r) => [
    runLink(r.kind, r.target, r.runId, `run ${clip(r.runId, 60)}`),
    html`${clip(targetLabel(r.kind, r.target), 120)}${r.targetName ? html` <span class="muted">${clip(r.targetName, 60)}</span>` : ''}`,
    badge(r.status),
    time(r.finishedAt ?? r.startedAt ?? r.triggeredAt ?? r.listedAt, now),
    html`${duration(r.durationSeconds)}`,
    r.causes.length
      ? html`${r.causes.map((c) => html`${eventLink(c.eventId)} ${clip(c.connector, 60)} <span class="muted">(${c.how})</span> `)}`
      : html`<span class="none">${r.originEventId ? 'the load that started it is no longer in the audit trail' : 'not started by postload'}</span>`,
    html`${clip(r.errorMessage, LIST_TEXT)}`,
  ]);
}

export function runsBody(d: RunsData, now: Date): Html {
  const f = d.filter;
  const next = d.next ? href('/runs', { ...f, cursor: d.next }) : null;
  return html`<form class="filters" method="get" action="/runs" aria-label="Filters">
<label>Status <select name="status"><option value="">any</option>${d.statuses.map((s) => html`<option${f.status === s ? html` selected` : ''}>${s}</option>`)}</select></label>
<label>Kind <select name="kind"><option value="">any</option>${d.kinds.map((k) => html`<option${f.kind === k ? html` selected` : ''}>${k}</option>`)}</select></label>
<label>Target <input name="target" value="${f.target ?? ''}" placeholder="job id or name"></label>
<label>Since <input name="since" value="${f.since ?? ''}" placeholder="7d"></label>
<button type="submit">Filter</button> <a href="/runs">Clear</a>
</form>
${d.partial ? html`<p class="notice" role="status">The read stopped at its bound; the next page searches on.</p>` : ''}
${table('Runs postload started, of every kind, by when it started them, and dbt Cloud runs it did not start, by their run events; newest first', ['run', 'target', 'outcome', 'when', 'duration', 'caused by', 'error'], runRows(d.runs, now), 'No run matches.')}
<div class="pager">${next ? html`<a rel="next" href="${next}">Older runs</a>` : html`<span class="muted">No older run matches.</span>`}</div>`;
}

export function runBody(d: { run: RunView; events: EventView[]; moreCoalesced: boolean }, now: Date): Html {
  const r = d.run;
  return html`<dl class="facts">
<dt>target</dt><dd>${targetLabel(r.kind, r.target)} ${r.targetName ?? ''}</dd>
<dt>outcome</dt><dd>${badge(r.status)}${r.errorMessage ? html` ${r.errorMessage}` : ''}${r.status === 'started' ? html` <span class="muted">(postload started it; nothing has reported on it yet)</span>` : ''}</dd>
<dt>started by postload</dt><dd>${r.triggeredAt ? time(r.triggeredAt, now) : html`<span class="none">no</span>`}</dd>
<dt>started</dt><dd>${time(r.startedAt, now)}</dd>
<dt>finished</dt><dd>${time(r.finishedAt, now)}</dd>
<dt>duration</dt><dd>${duration(r.durationSeconds)}</dd>
${r.href ? html`<dt>at the target</dt><dd><code>${r.href}</code></dd>` : ''}
</dl>
<h2>Loads that caused it</h2>
${table('The load that started it, the loads coalesced into it or covered by its batches, and a join\u2019s upstreams', ['event', 'connector', 'how', 'occurred'], r.causes.map((c) => [eventLink(c.eventId), html`${c.connector ?? '—'}`, html`${c.how}`, time(c.occurredAt, now)]), 'Not started by postload: no load caused it.')}
${d.moreCoalesced ? html`<p class="muted">More loads were coalesced into it than are shown.</p>` : ''}
<h2>Run events</h2>
${table('What the target reported (dbt Cloud\u2019s run webhooks)', ['occurred', 'event', 'type', 'outcome'], d.events.map((e) => [time(e.occurredAt, now), eventLink(e.eventId), html`${e.type}`, badge(e.outcome)]), 'None.')}`;
}

function groups(list: ProblemList, now: Date, empty: string, nextLink: string | null): Html {
  if (list.groups.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`${list.more ? html`<p class="notice" role="status">These groups are made of ${list.read} records; more exist: <a rel="next" href="${nextLink ?? ''}">the next ${list.read}</a>.</p>` : ''}
${list.groups.map(
  (g) => html`<section class="group">
<h3>${clip(g.problem, 300)} <span class="muted">× ${g.count}</span></h3>
<p>First ${time(g.firstSeen, now)}, last ${time(g.lastSeen, now)}; connectors: ${g.connectors.map((c) => clip(c, 60)).join(', ')}</p>
<p>Events: ${g.events.map((e) => html`${eventLink(e.eventId)} `)}</p>
<pre aria-label="Commands to copy">${g.commands.join('\n')}</pre>
</section>`,
)}`;
}

export function problemsBody(d: ProblemsData, now: Date): Html {
  return html`<h2 id="dead-letters">Dead letters</h2>
<p class="muted">Events the processor gave up on after the subscription's maximum delivery attempts; Pub/Sub holds them on the dead-letter subscription. Fix the cause, then replay from a terminal (this page changes nothing).</p>
${groups(d.deadLetters, now, 'No dead letter.', d.deadLetters.next ? `${href('/problems', { ...d.filter, dlafter: d.deadLetters.next })}#dead-letters` : null)}
<h2 id="quarantined">Quarantined events since ${d.since.toISOString()}</h2>
<p class="muted">Authenticated payloads ingest could not interpret: recorded whole and alerted, never acted on. A replay would be quarantined the same way, so there is nothing to replay; the commands show an event and its kind.</p>
${groups(d.quarantined, now, 'No quarantined event.', d.quarantined.next ? `${href('/problems', { ...d.filter, qcursor: d.quarantined.next })}#quarantined` : null)}`;
}
