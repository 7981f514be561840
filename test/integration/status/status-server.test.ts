import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { AuditTrail } from '../../../functions/read-model/audit-trail.js';
import { decodeCursor, type EventCursor, type EventFilter } from '../../../functions/read-model/event-query.js';
import { StatusReader, type ReadSettings } from '../../../functions/read-model/status-reader.js';
import type { RunFilter, RunStatusName } from '../../../functions/read-model/runs.js';
import { causeMarker } from '../../../functions/processor/planning/cause-marker.js';
import { CONTENT_SECURITY_POLICY, startStatusServer, type StatusServer } from '../../../functions/status/server.js';
import { emulator } from '../../support/global-hooks.js';
import { emulatorFirestore } from '../../support/processor-harness.js';

// The read model's paging and the status server's own rules, on the Firestore emulator:
// pages read with cursors add up to the whole list, once each, in order, whatever the page
// size, the filters and the ties in time, also while newer events arrive; the server answers
// only GET and HEAD on 127.0.0.1, with its CSP, and refuses wrong parameters by name.

process.env.METADATA_SERVER_DETECTION ??= 'none';

describe('status page: read model on the emulator, and the server', function () {
  this.timeout(120_000);
  let db: Firestore;

  before(async function () {
    db = emulatorFirestore(await emulator('firestore', this));
  });

  after(async () => {
    await db?.terminate();
  });

  const SOURCES = ['fivetran', 'airbyte'] as const;
  const TYPES = ['sync.succeeded', 'sync.failed'] as const;
  const record = fc.record({ source: fc.constantFrom(...SOURCES), type: fc.constantFrom(...TYPES), minute: fc.integer({ min: 0, max: 5 }), text: fc.constantFrom('alpha', 'beta', 'gamma') });

  async function write(collection: string, records: Array<{ source: string; type: string; minute: number; text: string }>, idPrefix: string): Promise<void> {
    const batch = db.batch();
    records.forEach((r, i) => {
      const id = `${idPrefix}${String(i).padStart(3, '0')}`;
      batch.set(db.collection(collection).doc(id), { eventId: id, source: r.source, type: r.type, connectorId: `conn-${r.text}`, status: 'processed', occurredAt: Timestamp.fromMillis(Date.UTC(2026, 0, 1, 0, r.minute)) });
    });
    await batch.commit();
  }

  it('property: paging with cursors lists every matching event once, newest first (ties by id), also while newer events arrive', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.record({ source: fc.option(fc.constantFrom(...SOURCES), { nil: undefined }), text: fc.option(fc.constantFrom('alp', 'BETA'), { nil: undefined }) }),
        fc.array(record, { maxLength: 5 }),
        async (records, limit, filters, arrivals) => {
          const collection = `paging-${randomUUID().slice(0, 8)}`;
          await write(collection, records, 'e');
          const trail = new AuditTrail(db, collection);
          const filter: EventFilter = { since: new Date(Date.UTC(2026, 0, 1)), limit, ...(filters.source ? { source: filters.source } : {}), ...(filters.text ? { text: filters.text } : {}) };
          const expected = records
            .map((r, i) => ({ ...r, id: `e${String(i).padStart(3, '0')}` }))
            .filter((r) => (!filters.source || r.source === filters.source) && (!filters.text || `conn-${r.text}`.includes(filters.text.toLowerCase())))
            .sort((a, b) => b.minute - a.minute || b.id.localeCompare(a.id))
            .map((r) => r.id);
          const seen: string[] = [];
          let cursor: EventCursor | undefined;
          let first = true;
          for (let pages = 0; pages < 100; pages++) {
            const page = await trail.page(filter, cursor, 7);
            assert.ok(page.events.length <= limit);
            seen.push(...page.events.map((e) => e.eventId));
            if (first) {
              // Newer events (later minutes, ids that sort anywhere) arrive after the first page.
              await write(collection, arrivals.map((a) => ({ ...a, minute: a.minute + 10 })), 'n');
              first = false;
            }
            if (!page.next) break;
            cursor = page.next;
          }
          // The newer arrivals sort before every cursor: they never shift a later page (the first page, reloaded, shows them).
          assert.deepEqual(seen, expected);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('dead letters and quarantined events page through every record once; only records still retrying with the final alert are dead letters', async () => {
    const settings: ReadSettings = { audit: `problems-${randomUUID().slice(0, 8)}`, connectors: 'p-c', joins: 'p-j', jobState: 'p-s', freshness: 'p-f', followedRuns: 'p-r' };
    const batch = db.batch();
    const at = (i: number) => Timestamp.fromMillis(Date.UTC(2026, 0, 1, 0, i));
    const retrying = (final: boolean) => ({ 'dbt-job-1': { kind: 'dbt', target: '1', status: 'retry', lastError: 'dbt Cloud answered 503' }, ...(final ? { 'final-alert': { kind: 'alert', target: 'SLACK_WEBHOOK_URL', status: 'succeeded' } } : {}) });
    for (let i = 0; i < 5; i++) batch.set(db.collection(settings.audit).doc(`dead${i}`), { eventId: `dead${i}`, status: 'retrying', occurredAt: at(i), actions: retrying(true) });
    batch.set(db.collection(settings.audit).doc('inflight'), { eventId: 'inflight', status: 'retrying', occurredAt: at(9), actions: retrying(false) });
    batch.set(db.collection(settings.audit).doc('replayed'), { eventId: 'replayed', status: 'processed', occurredAt: at(9), actions: retrying(true) });
    for (let i = 0; i < 3; i++) batch.set(db.collection(settings.audit).doc(`q${i}`), { eventId: `q${i}`, source: 'fivetran', type: 'quarantined', status: 'processed', occurredAt: at(i), problems: [{ code: 'schema_violation', pointer: '/x', message: 'bad' }] });
    await batch.commit();
    const reader = new StatusReader(db, settings);
    const dead: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await reader.problems.deadLetters(2, after);
      dead.push(...page.groups.flatMap((g) => g.events.map((e) => e.eventId)));
      if (!page.next) break;
      after = page.next;
    }
    assert.deepEqual(dead.sort(), ['dead0', 'dead1', 'dead2', 'dead3', 'dead4']);
    assert.equal((await reader.counts(new Date(Date.UTC(2026, 0, 1, 12)), 10)).deadLetters, 5);
    const first = await reader.problems.quarantined(new Date(Date.UTC(2026, 0, 1)), 2);
    assert.deepEqual([first.read, first.more, first.groups[0]!.count], [2, true, 2]);
    const second = await reader.problems.quarantined(new Date(Date.UTC(2026, 0, 1)), 2, decodeCursor(first.next!));
    assert.deepEqual([second.read, second.more, second.groups[0]!.events[0]!.eventId], [1, false, 'q0']);
  });

  it('property: the runs view pages through runs of every kind postload started (reported or not) and dbt Cloud runs it did not start, each once, newest first', async () => {
    const kinds = [
      { actionKind: 'dbt', kind: 'dbt-cloud', target: '101' },
      { actionKind: 'cloud-run', kind: 'cloud-run', target: 'projects/p/locations/europe-west1/jobs/dbt' },
      { actionKind: 'airflow', kind: 'airflow', target: 'https://composer.example/api/v1#dbt_dag' },
    ];
    const started = fc.record({ second: fc.integer({ min: 0, max: 8 }), kind: fc.integer({ min: 0, max: 2 }), outcome: fc.constantFrom(undefined, 'succeeded', 'failed'), reported: fc.boolean(), unrelated: fc.boolean() });
    const scheduled = fc.record({ second: fc.integer({ min: 0, max: 8 }), type: fc.constantFrom('transformation.succeeded', 'transformation.failed') });
    await fc.assert(
      fc.asyncProperty(fc.array(started, { maxLength: 12 }), fc.array(scheduled, { maxLength: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(undefined, 'started', 'failed', 'succeeded'), fc.constantFrom(undefined, 'dbt-cloud', 'cloud-run'), async (loads, schedules, limit, maxScan, status, kindFilter) => {
        const collection = `runs-${randomUUID().slice(0, 8)}`;
        const at = (second: number) => Timestamp.fromMillis(Date.UTC(2026, 0, 1, 0, 1, second));
        // Event ids as ingest makes them (32 hex digits: the cause marker names no other).
        const hexId = (prefix: string, i: number) => `${prefix}${String(i).padStart(2, '0')}`.padEnd(32, '0');
        const batch = db.batch();
        const expected: Array<{ key: string; ms: number; id: string }> = [];
        loads.forEach((load, i) => {
          const id = hexId('a', i);
          const k = kinds[load.kind]!;
          const runId = k.kind === 'dbt-cloud' ? 500 + i : `${k.target}/runs/${i}`;
          const runOutcome = load.outcome ? { status: load.outcome, startedAt: null, finishedAt: null, durationSeconds: 3, errorMessage: null, eventId: hexId('b', i) } : undefined;
          batch.set(db.collection(collection).doc(id), {
            eventId: id, source: 'fivetran', type: 'sync.succeeded', status: 'processed', occurredAt: at(0), runStartedAt: at(load.second), startedRuns: [`${k.kind}/${k.target}/${runId}`],
            actions: { [`${k.actionKind}-job`]: { kind: k.actionKind, target: k.target, status: 'succeeded', runId, completedAt: at(load.second), ...(runOutcome ? { runOutcome } : {}) } },
          });
          // dbt Cloud's own run event of a run postload started: listed through the load, never twice.
          if (k.kind === 'dbt-cloud' && load.reported && load.outcome) {
            batch.set(db.collection(collection).doc(hexId('b', i)), { eventId: hexId('b', i), source: 'dbt-cloud', type: `transformation.${load.outcome}`, status: 'processed', occurredAt: at(8), connectorId: k.target, syncId: String(runId), event: { transformation: { accountId: '1', jobId: k.target, runId: String(runId), cause: `load done ${causeMarker(id)}` } } });
          }
          // A load that started nothing is no run.
          if (load.unrelated) batch.set(db.collection(collection).doc(hexId('d', i)), { eventId: hexId('d', i), source: 'airbyte', type: 'sync.failed', status: 'processed', occurredAt: at(load.second) });
          const shownStatus = load.outcome ?? 'started';
          if ((!status || status === shownStatus) && (!kindFilter || kindFilter === k.kind)) expected.push({ key: `${k.kind}/${k.target}/${runId}`, ms: at(load.second).toMillis(), id });
        });
        schedules.forEach((run, i) => {
          const id = hexId('c', i);
          batch.set(db.collection(collection).doc(id), { eventId: id, source: 'dbt-cloud', type: run.type, status: 'processed', occurredAt: at(run.second), connectorId: '202', syncId: String(900 + i), event: { transformation: { accountId: '1', jobId: '202', runId: String(900 + i), cause: 'Triggered by the schedule' } } });
          if ((!status || `transformation.${status}` === run.type) && (!kindFilter || kindFilter === 'dbt-cloud')) expected.push({ key: `dbt-cloud/202/${900 + i}`, ms: at(run.second).toMillis(), id });
        });
        await batch.commit();
        const reader = new StatusReader(db, { audit: collection, connectors: 'r-c', joins: 'r-j', jobState: 'r-s', freshness: 'r-f', followedRuns: 'r-r' });
        const filter: RunFilter = { since: new Date(Date.UTC(2026, 0, 1)), limit, ...(status ? { status: status as RunStatusName } : {}), ...(kindFilter ? { kind: kindFilter } : {}) };
        const seen: string[] = [];
        let cursor: EventCursor | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = await reader.runs.page(filter, cursor, maxScan);
          assert.ok(page.runs.length <= limit);
          seen.push(...page.runs.map((r) => `${r.kind}/${r.target}/${r.runId}`));
          for (const run of page.runs) if (run.originEventId) assert.equal(run.causes[0]?.eventId, run.originEventId, 'the load that started it is its first cause');
          if (!page.next) break;
          cursor = page.next;
        }
        assert.deepEqual(seen, expected.sort((a, b) => b.ms - a.ms || (a.id < b.id ? 1 : -1)).map((e) => e.key));
      }),
      { numRuns: 10 },
    );
  });

  describe('the server', () => {
    let server: StatusServer;
    const settings: ReadSettings = { audit: `ui-${randomUUID().slice(0, 8)}`, connectors: 'ui-none-connectors', joins: 'ui-none-joins', jobState: 'ui-none-jobs', freshness: 'ui-none-freshness', followedRuns: 'ui-none-followed' };

    before(async () => {
      server = await startStatusServer({ reader: new StatusReader(db, settings), port: 0, refreshSeconds: 45 });
    });

    after(async () => {
      await server?.close();
    });

    function raw(method: string, path: string, host = `127.0.0.1:${server.port}`): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, method, path, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end(method === 'POST' ? '{}' : undefined);
      });
    }

    it('answers GET and HEAD only, with the CSP and no-store, and refreshes itself without JavaScript', async () => {
      const page = await raw('GET', '/');
      assert.equal(page.status, 200);
      assert.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      assert.match(page.body, /<meta http-equiv="refresh" content="45">/);
      assert.doesNotMatch(page.body, /<script/i);
      assert.doesNotMatch(page.body, /https?:\/\//, 'no link or asset elsewhere');
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const refused = await raw(method, '/events');
        assert.equal(refused.status, 405, method);
        assert.equal(refused.headers.allow, 'GET, HEAD');
      }
      const head = await raw('HEAD', '/events');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      const css = await raw('GET', '/static/style.css');
      assert.match(String(css.headers['content-type']), /^text\/css/);
    });

    it('answers only to its own host name: a page reached under another name (DNS rebinding) gets 403', async () => {
      assert.equal((await raw('GET', '/', `localhost:${server.port}`)).status, 200);
      for (const host of ['evil.example:80', `attacker.test:${server.port}`, '127.0.0.1']) assert.equal((await raw('GET', '/api/', host)).status, 403, host);
    });

    it('a wrong parameter is a 400 naming what is allowed, in HTML and in JSON; an unknown event a 404', async () => {
      const bad = await raw('GET', '/events?source=fivetrn');
      assert.equal(bad.status, 400);
      assert.match(bad.body, /source=fivetrn is not one of: fivetran, airbyte, dbt-cloud/);
      const json = await raw('GET', '/api/events?type=sync.fail');
      assert.equal(json.status, 400);
      assert.match(JSON.parse(json.body).error as string, /type=sync\.fail is not one of: .*sync\.failed/);
      assert.equal((await raw('GET', '/api/events?cursor=garbage!')).status, 400);
      assert.equal((await raw('GET', '/api/events?limit=100000')).status, 400);
      assert.equal((await raw('GET', '/api/events?since=yesterday')).status, 400);
      assert.equal((await raw('GET', '/api/events/0123456789abcdef0123456789abcdef')).status, 404);
      assert.equal((await raw('GET', '/nowhere')).status, 404);
      assert.equal((await raw('GET', '/events/%E0%A4%A')).status, 400);
    });
  });
});
