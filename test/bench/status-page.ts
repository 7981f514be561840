import { randomUUID } from 'node:crypto';
import { DocumentReference, Firestore, Query, Timestamp } from '@google-cloud/firestore';
import { eventId } from '../../functions/ingest/event-id.js';
import { table } from '../../functions/local/console-output.js';
import { mergeConnector } from '../../functions/processor/store/connector-document.js';
import { connectorDocId } from '../../functions/processor/store/document-ids.js';
import { FINAL_ALERT_ACTION_ID, type ActionRecord } from '../../functions/processor/store/event-store.js';
import { startedRunFields } from '../../functions/processor/store/run-index.js';
import { initialEventRecord } from '../../functions/processor/store/event-record.js';
import { StatusReader, type ReadSettings } from '../../functions/read-model/status-reader.js';
import { startStatusServer } from '../../functions/status/server.js';
import type { SyncEvent } from '../../functions/shared/sync-event.js';
import { median } from './ratios.js';

// The status page over a realistic audit trail (BENCH_STATUS_EVENTS events, 10,000 by
// default, over 7 days: 50 connectors' syncs, the dbt Cloud runs they start (one in 25
// never reported on), a few
// quarantined events and dead letters, 3 joins), written as the processor writes them, on
// the Firestore emulator. For each view: the Firestore reads it costs (as Firestore bills
// them: a document returned or asked for by id is one read, a query that returns nothing
// one, a count aggregation one per 1,000 entries counted) and the server's time to answer
// on loopback (median of BENCH_STATUS_REPEATS requests). Reads are counted in this process
// by wrapping the client's read methods; the emulator bills nothing.

export interface ViewFigures {
  view: string;
  reads: number;
  medianMs: number;
  bytes: number;
}

/** Counts billed reads by wrapping the Firestore client's read calls (this process only). */
function meterReads(db: Firestore): { reads: () => number; reset: () => void } {
  let reads = 0;
  const queryGet = Query.prototype.get;
  Query.prototype.get = async function (this: Query) {
    const snapshot = await queryGet.call(this);
    reads += Math.max(1, snapshot.size);
    return snapshot;
  } as typeof queryGet;
  const docGet = DocumentReference.prototype.get;
  DocumentReference.prototype.get = async function (this: DocumentReference) {
    reads += 1;
    return docGet.call(this);
  } as typeof docGet;
  const getAll = Firestore.prototype.getAll;
  Firestore.prototype.getAll = async function (this: Firestore, ...args: Parameters<typeof getAll>) {
    reads += args.filter((a) => a instanceof DocumentReference).length;
    return getAll.apply(this, args);
  } as typeof getAll;
  // The client does not export AggregateQuery: its prototype is reached through an instance.
  const aggregates = Object.getPrototypeOf(db.collection('meter').count()) as { get: () => Promise<{ data(): { count?: number } }> };
  const aggregate = aggregates.get;
  aggregates.get = async function (this: unknown) {
    const snapshot = await aggregate.call(this);
    reads += Math.max(1, Math.ceil((snapshot.data().count ?? 0) / 1000));
    return snapshot;
  };
  return { reads: () => reads, reset: () => (reads = 0) };
}

const SOURCES = ['fivetran', 'airbyte'] as const;

function loadEvent(i: number, at: number, connector: number, type: SyncEvent['type']): SyncEvent {
  const source = SOURCES[connector % 5 === 0 ? 1 : 0];
  const failed = type === 'sync.failed';
  return {
    schemaVersion: '1',
    id: eventId(['bench', i]),
    source,
    type,
    vendorEvent: source === 'fivetran' ? (type === 'sync.started' ? 'sync_start' : 'sync_end') : failed ? 'sync-failed' : 'sync-succeeded',
    occurredAt: new Date(at).toISOString(),
    receivedAt: new Date(at + 300).toISOString(),
    connector: { id: `bench_connector_${connector}`, name: `bench_pg_${connector}`, type: 'google_cloud_postgresql' },
    destination: { id: 'bench_warehouse', name: null },
    sync: { id: randomUUID(), status: type === 'sync.started' ? 'running' : failed ? 'failed' : 'succeeded', vendorStatus: failed ? 'FAILURE' : 'SUCCESSFUL', startedAt: null, finishedAt: new Date(at).toISOString(), durationSeconds: 240 },
    metrics: null,
    error: failed ? { message: `Cannot connect to the database: connection ${connector} refused`, type: null, origin: null } : null,
    summary: `bench ${type}`,
    payload: { event: 'sync_end', data: { status: failed ? 'FAILURE' : 'SUCCESSFUL' } },
  } as SyncEvent;
}

function runEvent(i: number, at: number, job: number, runId: number, origin: string, outcome: 'started' | 'succeeded' | 'failed'): SyncEvent {
  const type = `transformation.${outcome}` as SyncEvent['type'];
  return {
    schemaVersion: '1',
    id: eventId(['dbt-cloud', '1', String(runId), outcome]),
    source: 'dbt-cloud',
    type,
    vendorEvent: outcome === 'started' ? 'job.run.started' : 'job.run.completed',
    occurredAt: new Date(at).toISOString(),
    receivedAt: new Date(at + 200).toISOString(),
    connector: { id: String(job), name: `Bench job ${job}`, type: 'dbt_cloud_job' },
    destination: { id: '1', name: 'prod' },
    sync: { id: String(runId), status: outcome === 'started' ? 'running' : outcome, vendorStatus: null, startedAt: new Date(at - 120_000).toISOString(), finishedAt: outcome === 'started' ? null : new Date(at).toISOString(), durationSeconds: outcome === 'started' ? null : 120 },
    metrics: null,
    error: outcome === 'failed' ? { message: 'Database Error in model stg_orders', type: null, origin: null } : null,
    transformation: { accountId: '1', jobId: String(job), jobName: `Bench job ${job}`, runId: String(runId), projectId: '1', projectName: null, environmentId: '1', environmentName: 'prod', cause: `load [event ${origin}]` },
    summary: `bench run ${runId}`,
    payload: {},
  } as SyncEvent;
}

async function seed(db: Firestore, settings: ReadSettings, total: number, now: number): Promise<{ sampleEvent: string; sampleRun: { job: string; run: string }; sampleConnector: string }> {
  const span = 7 * 86_400_000;
  const docs: Array<[string, string, Record<string, unknown>]> = [];
  const connectors = new Map<string, Record<string, unknown> | undefined>();
  let runId = 90_000_000;
  let sampleRun = { job: '501', run: '' };
  for (let i = 0; docs.length < total; i++) {
    // Spread over the 7 days by documents written (run events are written beside their loads).
    const at = now - span + Math.floor((docs.length * span) / total);
    const connector = i % 50;
    const kind = i % 100;
    if (kind === 0) {
      // Quarantined: an authenticated body ingest could not read.
      const event = { ...loadEvent(i, at, connector, 'quarantined'), quarantine: { problems: [{ code: 'schema_violation', pointer: '/connector_id', message: 'must be string' }], payloadText: null } } as unknown as SyncEvent;
      docs.push([settings.audit, event.id, { ...initialEventRecord(event, []), status: 'processed', deliveries: 1, actions: {} }]);
      continue;
    }
    const type = kind < 10 ? 'sync.failed' : kind < 30 ? 'sync.started' : 'sync.succeeded';
    const event = loadEvent(i, at, connector, type);
    const actions: Record<string, unknown> = {};
    let status = 'processed';
    if (type === 'sync.succeeded' && kind % 3 === 0) {
      const job = 500 + (connector % 4);
      runId++;
      const outcome = runId % 10 === 0 ? 'failed' : 'succeeded';
      // One run in 25 is never reported on (no dbt Cloud webhook came): listed as started.
      const reported = runId % 25 !== 0;
      const runOutcome = reported ? { status: outcome, runStatusCode: null, startedAt: new Date(at + 60_000).toISOString(), finishedAt: new Date(at + 180_000).toISOString(), durationSeconds: 120, errorMessage: null, eventId: eventId(['dbt-cloud', '1', String(runId), outcome]), recordedAt: new Date(at + 180_000).toISOString() } : undefined;
      actions[`dbt-job-${job}`] = { kind: 'dbt', target: String(job), status: 'succeeded', attempts: 1, requests: 1, runId, runHref: `https://cloud.getdbt.com/deploy/1/projects/1/runs/${runId}/`, errors: [], requestLog: [], lastError: null, completedAt: Timestamp.fromMillis(at + 1_000), ...(runOutcome ? { runOutcome } : {}) };
      if (reported) {
        for (const [offset, o] of [[60_000, 'started'], [180_000, outcome]] as const) {
          const run = runEvent(i, at + offset, job, runId, event.id, o);
          docs.push([settings.audit, run.id, { ...initialEventRecord(run, []), status: 'processed', deliveries: 1, actions: {} }]);
        }
      }
      sampleRun = { job: String(job), run: String(runId) };
    } else if (type === 'sync.succeeded' && kind === 99 && i % 500 === 99) {
      // A dead letter: dbt Cloud down through every delivery, the final alert planned.
      status = 'retrying';
      actions['dbt-job-500'] = { kind: 'dbt', target: '500', status: 'retry', attempts: 10, requests: 10, errors: [{ at: new Date(at).toISOString(), attempt: 10, kind: 'transient', message: 'dbt Cloud answered 503', status: 503 }], requestLog: [], lastError: 'dbt Cloud answered 503' };
      actions[FINAL_ALERT_ACTION_ID] = { kind: 'alert', target: 'SLACK_WEBHOOK_URL', status: 'succeeded', attempts: 1, requests: 1, errors: [], requestLog: [], lastError: null };
    }
    docs.push([settings.audit, event.id, { ...initialEventRecord(event, actions ? ['bench'] : []), status, deliveries: status === 'retrying' ? 10 : 1, actions, ...startedRunFields(actions as Record<string, ActionRecord>), occurredAt: Timestamp.fromMillis(at) }]);
    const docId = connectorDocId(event.source, event.connector.id!);
    connectors.set(docId, mergeConnector(connectors.get(docId), event, at));
  }
  for (const [docId, doc] of connectors) if (doc) docs.push([settings.connectors, docId, doc]);
  for (const name of ['finance mart', 'marketing', 'ops']) {
    docs.push([settings.joins, name, { schemaVersion: 1, join: name, jobId: '600', within: 'PT6H', round: 3, upstreams: { a: { success: { eventId: 'x', source: 'fivetran', connector: 'a', occurredAt: new Date(now - 3_600_000).toISOString(), countedAt: new Date(now).toISOString() }, failure: null }, b: { success: null, failure: null } }, firings: [], updatedAt: new Date(now).toISOString() }]);
  }
  for (let i = 0; i < docs.length; i += 400) {
    const batch = db.batch();
    for (const [collection, id, data] of docs.slice(i, i + 400)) batch.set(db.collection(collection).doc(id), data);
    await batch.commit();
  }
  return { sampleEvent: eventId(['bench', 31]), sampleRun, sampleConnector: connectorDocId('fivetran', 'bench_connector_1') };
}

export async function benchStatusPage(firestoreHost: string, total: number, repeats: number): Promise<{ events: number; views: ViewFigures[] }> {
  const db = new Firestore({ projectId: 'postload-bench', host: firestoreHost, ssl: false });
  const run = randomUUID().slice(0, 8);
  const settings: ReadSettings = { audit: `syncEvents-${run}`, connectors: `connectors-${run}`, joins: `joins-${run}`, jobState: `jobs-${run}`, freshness: `freshness-${run}`, followedRuns: `followed-${run}` };
  const now = Date.now();
  const meter = meterReads(db);
  const sample = await seed(db, settings, total, now);
  const server = await startStatusServer({ reader: new StatusReader(db, settings), port: 0, refreshSeconds: 0 });
  try {
    const page2 = (await (await fetch(`${server.url}api/events`)).json()) as { next: string | null };
    const views: Array<[string, string]> = [
      ['overview (counts, attention, joins, latest 15)', '/'],
      ['connectors', '/connectors'],
      ['one connector', `/connectors/${encodeURIComponent(sample.sampleConnector)}`],
      ['events, last 24 h', '/events'],
      ['events, page 2 (cursor)', `/events?cursor=${page2.next ?? ''}`],
      ['events, 7 d, type sync.failed', '/events?since=7d&type=sync.failed'],
      ['events, 7 d, source airbyte + outcome', '/events?since=7d&source=airbyte&outcome=processed'],
      ['events, 7 d, text (bounded read)', '/events?since=7d&q=refused'],
      ['one event', `/events/${sample.sampleEvent}`],
      ['runs, 7 d', '/runs'],
      ['runs failed, 24 h', '/runs?status=failed&since=24h'],
      ['runs started, not reported on, 7 d', '/runs?status=started'],
      ['one run', `/runs/dbt-cloud/${sample.sampleRun.job}/${sample.sampleRun.run}`],
      ['joins', '/joins'],
      ['quarantined and dead letters, 7 d', '/problems'],
      ['header counts alone (/api/counts)', '/api/counts'],
    ];
    const figures: ViewFigures[] = [];
    for (const [view, path] of views) {
      const times: number[] = [];
      let reads = 0;
      let bytes = 0;
      for (let i = 0; i < repeats; i++) {
        meter.reset();
        const started = performance.now();
        const response = await fetch(`${server.url.replace(/\/$/, '')}${path}`);
        const body = await response.text();
        times.push(performance.now() - started);
        if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${body.slice(0, 300)}`);
        reads = meter.reads();
        bytes = body.length;
      }
      figures.push({ view: `${view}  ${path.length > 40 ? `${path.slice(0, 40)}…` : path}`, reads, medianMs: Number(median(times).toFixed(1)), bytes });
    }
    console.log(`\nStatus page over ${total} events (Firestore reads per view as billed; server time on loopback, median of ${repeats})\n`);
    console.log(table(['view', 'Firestore reads', 'server time', 'HTML/JSON bytes'], figures.map((f) => [f.view, String(f.reads), `${f.medianMs} ms`, String(f.bytes)])));
    return { events: total, views: figures };
  } finally {
    await server.close();
    await db.terminate();
  }
}
