import { Timestamp } from '@google-cloud/firestore';
import type { AttemptRecord } from '../../processor/clients/http-retry.js';
import { classifyError, describeError } from '../../processor/errors.js';
import type { MatchSubject } from '../../processor/planning/routing.js';
import type { SweepConfig } from '../config.js';
import { guarded, isConflict } from '../guard.js';
import type { SweepTask, TickContext } from '../task.js';
import { blockedJoins, jobOutcomes, joinsOf, routedJobs } from './context.js';
import { decide, incidentId, incidentOpenedAt, type Decision } from './decide.js';
import { readConnector } from './evidence.js';
import { describeExpectation, type VendorFacts } from './expectation.js';
import { renderNotice } from './messages.js';
import type { ChangeRecord, FreshnessRecord, IncidentRecord, OutboxMessage } from './record.js';
import type { Notice } from './state-machine.js';
import type { FreshnessSender, SlackThread } from './slack-sender.js';
import { INCIDENTS_SUBCOLLECTION, type FreshnessStore, type FreshnessWrite, type ReadPosition, type StoredFreshness } from './store.js';

/** The sources whose connectors are watched (dbt Cloud jobs are the processor's targets, not loads). */
export const WATCHED_SOURCES = ['fivetran', 'airbyte'] as const;
/** Candidates of each kind read per tick at most; more are left for the next ticks (the queries are ordered). */
const PAGE = 300;
/** A connector document may be committed this long after the processor stamped its updatedAt: re-read, never missed. */
const COMMIT_LAG_MS = 60_000;
const COMMIT_TRIES = 3;
/** Pages per tick at most (each as large as PAGE). */
const MAX_PASSES = 10;
/** A Slack message is given up after this many tries (each one a tick apart at least). */
const MAX_SEND_ATTEMPTS = 10;
const DAY_MS = 86_400_000;

interface Candidate {
  docId: string;
  connector?: Record<string, unknown> | undefined;
  stored?: StoredFreshness | undefined;
  vendor?: { identity: MatchSubject; facts: VendorFacts } | undefined;
  due: boolean;
}

interface Planned {
  candidate: Candidate;
  decision: Decision;
  write: FreshnessWrite;
  /** Outbox messages this tick claimed, to send after the commit. */
  claimed: OutboxMessage[];
}

export interface FreshnessTaskDeps {
  config: SweepConfig;
  store: FreshnessStore;
  /** The freshness target: a webhook, or the Slack app (incidents threaded); undefined when Slack is not configured. */
  slack: FreshnessSender | undefined;
}

/**
 * The freshness task of a tick:
 *   1. candidates: connectors with new events since the last tick, freshness documents due
 *      (a threshold, a reminder, a pause's end or an unsent message), connectors whose
 *      vendor facts changed (from reconciliation); one more read for what the queries did not return;
 *   2. each decided by the pure state machine (decide.ts), with its messages rendered;
 *   3. every change committed at once, guarded by what was read, the messages to send
 *      claimed in the same commit (a conflict: read again and decide again);
 *   4. the claimed messages sent to Slack, then settled (sent, or left for the next tick).
 * A tick that dies anywhere leaves either nothing or a committed state with its messages
 * in the outbox: the next tick finds them due and sends them. Cost grows with the
 * candidates, not with the number of connectors: a quiet tick is three reads.
 */
export function createFreshnessTask({ config, store, slack }: FreshnessTaskDeps): SweepTask {
  const stateRef = store.db.collection(config.sweepCollection).doc('state');
  const withinMs = new Map(config.routing.joins.map((j) => [j.name, j.withinMs]));
  const retentionMs = config.retentionDays * DAY_MS;

  async function run(ctx: TickContext): Promise<Record<string, number>> {
    const totals: Record<string, number> = { passes: 0, candidates: 0, changedConnectors: 0, due: 0, written: 0, stateChanges: 0, messagesSent: 0, messagesLeft: 0 };
    const stored = (await stateRef.get()).get('connectorsReadUpTo') as { at?: Timestamp; id?: string } | undefined;
    const seenAtStart: ReadPosition | null = stored?.at ? { at: stored.at.toMillis(), id: stored.id ?? '' } : null;
    let seenUpTo = seenAtStart;
    const startMs = ctx.deadline.remainingMs();
    // More pages while there is more (a first tick over many connectors, a backlog after an
    // outage) and half the tick's time is left; the rest waits for the next tick.
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      const result = await runPass(ctx, seenUpTo, pass === 1 ? ctx.vendorFacts : new Map());
      for (const [key, n] of Object.entries(result.counts)) totals[key] = (totals[key] ?? 0) + n;
      totals.passes = pass;
      seenUpTo = result.seenUpTo;
      if (!result.more || ctx.deadline.remainingMs() < startMs / 2) break;
    }
    if (seenUpTo && (seenUpTo.at !== seenAtStart?.at || seenUpTo.id !== seenAtStart.id)) {
      const position = { at: Timestamp.fromMillis(seenUpTo.at), id: seenUpTo.id };
      await guarded('remember how far the connectors were read', config.firestoreTimeoutMs, ctx.deadline, () => stateRef.set({ connectorsReadUpTo: position }, { merge: true }));
    }
    return totals;
  }

  /** One page of candidates: read, decided, committed, their messages sent. */
  async function runPass(ctx: TickContext, seenUpTo: ReadPosition | null, vendorFacts: TickContext['vendorFacts']): Promise<{ counts: Record<string, number>; seenUpTo: ReadPosition | null; more: boolean }> {
    const blindSources = ctx.blindVendors.size ? WATCHED_SOURCES.filter((s) => !ctx.blindVendors.has(s)) : undefined;
    const [due, changed] = await Promise.all([store.due(ctx.nowMs, blindSources, PAGE, ctx.deadline), store.connectorsUpdatedSince(seenUpTo, PAGE, ctx.deadline)]);

    const candidates = new Map<string, Candidate>();
    const candidate = (docId: string) => candidates.get(docId) ?? candidates.set(docId, { docId, due: false }).get(docId)!;
    for (const c of changed) if (isWatched(c.data.source)) candidate(c.docId).connector = c.data;
    for (const [docId, stored] of due) Object.assign(candidate(docId), { stored, due: true });
    for (const [docId, vendor] of vendorFacts) candidate(docId).vendor = vendor;

    await readMissing([...candidates.values()], ctx);
    let planned: Planned[] = [];
    for (let attempt = 1; ; attempt++) {
      planned = await plan([...candidates.values()], ctx);
      try {
        const times = await store.commit(planned.map((p) => p.write), ctx.deadline);
        for (const p of planned) p.write.readTime = times.get(p.write.docId) ?? p.write.readTime;
        break;
      } catch (error) {
        if (!isConflict(error) || attempt >= COMMIT_TRIES) throw error;
        ctx.log.info({ attempt }, 'freshness: another sweep wrote first; reading again');
        for (const c of candidates.values()) c.connector = c.stored = undefined;
        await readMissing([...candidates.values()], ctx);
      }
    }
    for (const p of planned) logDecision(p, ctx);

    const sent = await sendClaimed(planned, ctx);
    return {
      counts: {
        candidates: candidates.size,
        changedConnectors: changed.length,
        due: due.size,
        written: planned.length,
        stateChanges: planned.reduce((n, p) => n + p.decision.changes.length, 0),
        messagesSent: sent.sent,
        messagesLeft: sent.left,
      },
      seenUpTo: nextWatermark(seenUpTo, changed, ctx.nowMs),
      more: changed.length >= PAGE || due.size >= PAGE,
    };
  }

  /** Reads the connector and freshness documents the queries did not return (one read). */
  async function readMissing(list: Candidate[], ctx: TickContext): Promise<void> {
    const connectorIds = list.filter((c) => !c.connector).map((c) => c.docId);
    const freshnessIds = list.filter((c) => !c.stored).map((c) => c.docId);
    const { connectors, freshness } = await store.read(connectorIds, freshnessIds, ctx.deadline);
    for (const c of list) {
      c.connector ??= connectors.get(c.docId);
      c.stored ??= freshness.get(c.docId);
    }
  }

  /** Decides every candidate, renders its messages, claims what is to be sent. */
  async function plan(list: Candidate[], ctx: TickContext): Promise<Planned[]> {
    const decided: Array<{ candidate: Candidate; decision: Decision; identity: MatchSubject }> = [];
    for (const c of list) {
      const connector = c.connector ? readConnector(c.connector) : undefined;
      const identity = connector?.identity ?? c.vendor?.identity ?? (c.stored && identityOf(c.stored.record));
      if (!identity || !isWatched(identity.source)) continue;
      const blind = ctx.blindVendors.has(identity.source as 'fivetran' | 'airbyte') ? `the ${identity.source} API could not be read` : undefined;
      const decision = decide({ docId: c.docId, identity, stored: c.stored?.record, connector, vendor: c.vendor?.facts, settings: config.freshness, nowMs: ctx.nowMs, blind });
      if (!decision) continue;
      const claimable = decision.record.outbox.some((m) => claimableNow(m, ctx));
      if (!decision.changed && !claimable) continue;
      decided.push({ candidate: c, decision, identity });
    }
    // What the messages report downstream: the joins' documents and the recovering events' audit records, in one read.
    const joinPaths = new Set<string>();
    const auditPaths = new Set<string>();
    for (const { decision, identity } of decided) {
      if (!decision.notices.length) continue;
      for (const j of joinsOf(identity, config.routing)) joinPaths.add(`${config.joinsCollection}/${j.join}`);
      if (decision.notices.some((n) => n.kind === 'recovery') && decision.record.lastSuccessEventId) auditPaths.add(`${config.auditCollection}/${decision.record.lastSuccessEventId}`);
    }
    const docs = await store.readPaths([...joinPaths, ...auditPaths], ctx.deadline);

    return decided.map(({ candidate, decision, identity }) => {
      const record = { ...decision.record, outbox: [...decision.record.outbox] };
      const incidentFields: Partial<IncidentRecord> = {};
      for (const notice of decision.notices) {
        const id = record.incident?.id ?? incidentId(candidate.docId, notice.incident.openedAt);
        Object.assign(incidentFields, incidentUpdate(notice, record, candidate.docId, id, ctx.nowMs, retentionMs));
        if (!slack) {
          incidentFields.messages = { ...incidentFields.messages, [notice.key]: { kind: notice.kind, decidedAt: ctx.nowMs, sentAt: null, skipped: 'no Slack webhook is configured' } };
          continue;
        }
        if (record.outbox.some((m) => m.key === notice.key)) continue;
        const jobs = routedJobs(identity, config.routing);
        const message = renderNotice(notice, {
          record,
          routedJobs: jobs.map((j) => j.name),
          blockedJoins: blockedJoins(joinsOf(identity, config.routing), new Map([...docs].filter(([p]) => p.startsWith(`${config.joinsCollection}/`)).map(([p, d]) => [p.slice(config.joinsCollection.length + 1), d])), withinMs, ctx.nowMs),
          jobsSince: notice.kind === 'recovery' ? jobOutcomes(jobs, record.lastSuccessEventId ? docs.get(`${config.auditCollection}/${record.lastSuccessEventId}`) : undefined) : [],
          cliRef: `${record.source}:${record.connectorId}`,
          nowMs: ctx.nowMs,
        });
        record.outbox.push({ key: notice.key, kind: notice.kind, incidentId: id, message, createdAt: ctx.nowMs, attempts: 0, claimedBy: null, leaseUntil: null, notBefore: null, lastError: null });
      }
      if (record.state === 'overdue' || record.state === 'failing') {
        if (record.incident && !decision.notices.length && decision.changes.length) incidentFields.state = record.state;
      }
      const claimed: OutboxMessage[] = [];
      record.outbox = record.outbox.map((m) => {
        if (!claimableNow(m, ctx)) return m;
        const claim = { ...m, claimedBy: ctx.tickId, leaseUntil: ctx.nowMs + config.leaseMs, attempts: m.attempts + 1 };
        claimed.push(claim);
        return claim;
      });
      record.nextCheckAt = earliest(record.nextChangeAt, ...record.outbox.map(pendingAt));
      const changes: ChangeRecord[] = decision.changes.map((c) => ({
        connectorDocId: candidate.docId,
        source: record.source,
        connectorId: record.connectorId,
        from: c.from,
        to: c.to,
        at: c.at,
        why: c.why,
        expectation: record.expectation,
        incidentId: record.incident?.id ?? null,
        expireAt: ctx.nowMs + retentionMs,
      }));
      const incidentKey = decision.notices[0]?.incident.openedAt ?? record.incident?.openedAt;
      const write: FreshnessWrite = {
        docId: candidate.docId,
        record,
        readTime: candidate.stored?.updateTime ?? null,
        changes,
        incident: Object.keys(incidentFields).length && incidentKey !== undefined ? { id: incidentKey, fields: incidentFields } : undefined,
      };
      return { candidate, decision: { ...decision, record }, write, claimed };
    });
  }

  /** Sends what this tick claimed, then settles every message: sent (out of the outbox) or back for a later tick. */
  async function sendClaimed(planned: Planned[], ctx: TickContext): Promise<{ sent: number; left: number }> {
    let sent = 0;
    let left = 0;
    const settled: Array<{ p: Planned; outcomes: Map<string, Outcome>; thread: { incident: number; thread: SlackThread } | undefined }> = [];
    for (const p of planned.filter((x) => x.claimed.length)) {
      const outcomes = new Map<string, Outcome>();
      let thread: { incident: number; thread: SlackThread } | undefined;
      // Alerts first: a reminder or recovery decided in the same tick threads under it.
      for (const message of [...p.claimed].sort((a, b) => Number(b.kind === 'alert') - Number(a.kind === 'alert'))) {
        const attempts: AttemptRecord[] = [];
        const connector = `${p.write.record.source}:${p.write.record.connectorId}`;
        try {
          const opened = await slack!.send(message, p.write.docId, thread?.thread ?? p.write.record.slackThread ?? null, { deadline: ctx.deadline, attempts });
          if (opened) thread = { incident: incidentOpenedAt(message.incidentId), thread: opened };
          outcomes.set(message.key, { sentAt: Date.now() });
          sent++;
          ctx.log.info({ connector, incidentId: message.incidentId, kind: message.kind, key: message.key }, 'freshness message sent');
        } catch (error) {
          const permanent = classifyError(error) === 'permanent' || message.attempts >= MAX_SEND_ATTEMPTS;
          outcomes.set(message.key, { error: describeError(error), permanent, retryAfterMs: (error as { retryAfterMs?: number }).retryAfterMs });
          if (!permanent) left++;
          ctx.log.error({ connector, incidentId: message.incidentId, kind: message.kind, err: describeError(error), givenUp: permanent }, permanent ? 'freshness message not sent, given up' : 'freshness message not sent yet; the next tick retries');
        }
      }
      settled.push({ p, outcomes, thread });
    }
    if (!settled.length) return { sent, left };
    try {
      await store.settleAll(
        settled.map(({ p, outcomes, thread }) => {
          const outbox = settleOutbox(p.write.record.outbox, outcomes, ctx);
          return {
            docId: p.write.docId,
            writeTime: p.write.readTime!,
            outbox,
            nextCheckAt: earliest(p.write.record.nextChangeAt, ...outbox.map(pendingAt)),
            messages: [...outcomes].map(([key, outcome]) => ({ incident: incidentOpenedAt(p.claimed.find((m) => m.key === key)!.incidentId), key, fields: messageFields(outcome) })),
            thread,
          };
        }),
        ctx.deadline,
      );
    } catch (error) {
      if (!isConflict(error)) throw error;
      // Another sweep wrote one of them in between: each settled on the document as it is now.
      for (const { p, outcomes, thread } of settled) await settleOne(p, outcomes, thread, ctx);
    }
    return { sent, left };
  }

  async function settleOne(p: Planned, outcomes: Map<string, Outcome>, thread: { incident: number; thread: SlackThread } | undefined, ctx: TickContext): Promise<void> {
    const ref = store.freshnessRef(p.write.docId);
    await guarded('record the messages sent', config.firestoreTimeoutMs, ctx.deadline, () =>
      store.db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        if (!snapshot.exists) return;
        const outbox = settleOutbox((snapshot.get('outbox') as OutboxMessage[] | undefined) ?? [], outcomes, ctx);
        const next = earliest((snapshot.get('nextChangeAt') as Timestamp | null)?.toMillis() ?? null, ...outbox.map(pendingAt));
        tx.update(ref, { outbox, nextCheckAt: next === null ? null : new Date(next), ...(thread ? { slackThread: thread.thread } : {}) });
        if (thread) tx.set(ref.collection(INCIDENTS_SUBCOLLECTION).doc(String(thread.incident)), { slackTs: thread.thread.ts, slackChannel: thread.thread.channel }, { merge: true });
        for (const [key, outcome] of outcomes) {
          const incident = incidentOpenedAt(p.claimed.find((m) => m.key === key)!.incidentId);
          tx.set(ref.collection(INCIDENTS_SUBCOLLECTION).doc(String(incident)), { messages: { [key]: messageFields(outcome) } }, { merge: true });
        }
      }),
    );
  }

  function logDecision(p: Planned, ctx: TickContext): void {
    const r = p.write.record;
    const connector = `${r.source}:${r.connectorId}`;
    for (const change of p.decision.changes) {
      const bad = change.to === 'overdue' || change.to === 'failing';
      // A stable message an alert policy can match on (jsonPayload.message, jsonPayload.to).
      ctx.log[bad ? 'warn' : 'info'](
        { connector, connectorName: r.connectorName, from: change.from, to: change.to, why: change.why, expectation: describeExpectation(r.expectation), expectationSource: r.expectation.source, incidentId: r.incident?.id ?? null },
        'freshness state changed',
      );
    }
    for (const notice of p.decision.notices) {
      if (notice.kind === 'alert') ctx.log.warn({ connector, incidentId: r.incident?.id, state: notice.incident.state }, 'freshness incident opened');
      if (notice.kind === 'recovery' || notice.kind === 'closed') {
        ctx.log.info({ connector, incidentId: incidentId(p.write.docId, notice.incident.openedAt), closedBy: notice.kind, ...(notice.kind === 'recovery' ? { overdueForMs: notice.overdueForMs, missedSyncs: notice.missedSyncs } : { reason: notice.reason }) }, 'freshness incident closed');
      }
    }
  }

  return { name: 'freshness', run };
}

function incidentUpdate(notice: Notice, record: FreshnessRecord, docId: string, id: string, nowMs: number, retentionMs: number): Partial<IncidentRecord> {
  const decided = { [notice.key]: { kind: notice.kind, decidedAt: nowMs, sentAt: null, skipped: null } };
  switch (notice.kind) {
    case 'alert':
      return {
        incidentId: id,
        connectorDocId: docId,
        source: record.source,
        connectorId: record.connectorId,
        connectorName: record.connectorName,
        openedAt: notice.incident.openedAt,
        alertedAt: notice.incident.alertedAt,
        state: notice.incident.state,
        lastSuccessAt: notice.incident.lastSuccessAt,
        expectation: record.expectation,
        closedAt: null,
        closedBy: null,
        recoveredAt: null,
        overdueForMs: null,
        missedSyncs: null,
        reminders: 0,
        messages: decided,
        slackTs: null,
        expireAt: nowMs + retentionMs,
      };
    case 'reminder':
      return { reminders: notice.number, state: notice.incident.state, messages: decided };
    case 'recovery':
      return { closedAt: nowMs, closedBy: 'recovery', recoveredAt: notice.recoveredAt, overdueForMs: notice.overdueForMs, missedSyncs: notice.missedSyncs, messages: decided, expireAt: nowMs + retentionMs };
    case 'closed':
      return { closedAt: nowMs, closedBy: 'closed', messages: decided, expireAt: nowMs + retentionMs };
  }
}

type Outcome = { sentAt: number } | { error: string; permanent: boolean; retryAfterMs?: number | undefined };

/** The outbox once this tick's messages are settled: sent or given up ones out, the others back with a later notBefore (only what this tick still holds). */
function settleOutbox(outbox: OutboxMessage[], outcomes: Map<string, Outcome>, ctx: TickContext): OutboxMessage[] {
  return outbox.flatMap((m): OutboxMessage[] => {
    const outcome = outcomes.get(m.key);
    if (!outcome || m.claimedBy !== ctx.tickId) return [m];
    if ('sentAt' in outcome || outcome.permanent) return [];
    return [{ ...m, claimedBy: null, leaseUntil: null, lastError: outcome.error, notBefore: ctx.nowMs + Math.max(outcome.retryAfterMs ?? 0, Math.min(3_600_000, 60_000 * m.attempts)) }];
  });
}

function messageFields(outcome: Outcome): Record<string, unknown> {
  return 'sentAt' in outcome ? { sentAt: outcome.sentAt } : { lastError: outcome.error, ...(outcome.permanent ? { skipped: `not sent: ${outcome.error}` } : {}) };
}

/** When an unsent message needs a sweep: after its Retry-After, or when the lease of the sweep sending it runs out. */
function pendingAt(m: OutboxMessage): number {
  return Math.max(m.notBefore ?? 0, m.leaseUntil ?? 0);
}

function claimableNow(m: OutboxMessage, ctx: TickContext): boolean {
  if ((m.notBefore ?? 0) > ctx.nowMs) return false;
  return m.claimedBy === null || m.claimedBy === ctx.tickId || (m.leaseUntil ?? 0) <= ctx.nowMs;
}

/**
 * How far the connectors have been read after this page: past its last document when the
 * page was full (the next page starts there), else up to a minute ago at most: the processor
 * stamps updatedAt before its commit lands, so a document stamped within the last minute may
 * still appear behind the position; those are read again next tick (without a write unless
 * something changed).
 */
function nextWatermark(seenUpTo: ReadPosition | null, changed: Array<{ docId: string; updatedAt: number }>, nowMs: number): ReadPosition | null {
  const last = changed.at(-1);
  if (!last) return seenUpTo;
  if (changed.length >= PAGE) return { at: last.updatedAt, id: last.docId };
  if (last.updatedAt <= nowMs - COMMIT_LAG_MS) return { at: last.updatedAt, id: last.docId };
  return { at: Math.max(seenUpTo?.at ?? 0, nowMs - COMMIT_LAG_MS), id: '' };
}

function identityOf(record: FreshnessRecord): MatchSubject {
  return {
    source: record.source as MatchSubject['source'],
    connector: { id: record.connectorId, name: record.connectorName, type: record.connectorType },
    destination: record.destination,
  };
}

function isWatched(source: unknown): boolean {
  return (WATCHED_SOURCES as readonly unknown[]).includes(source);
}

function earliest(...times: Array<number | null>): number | null {
  const known = times.filter((t): t is number => t !== null && t > 0);
  return known.length ? Math.min(...known) : null;
}
