import type { AttemptRecord } from '../../processor/clients/http-retry.js';
import type { SlackClient } from '../../processor/clients/slack.js';
import { SLACK_NOT_SENT } from '../../processor/actions.js';
import { classifyError, describeError } from '../../processor/errors.js';
import { utcDay } from '../../processor/planning/target-state.js';
import { runLogDocId } from '../../processor/store/document-ids.js';
import type { PlannedRun, RunTargetClient, TargetKindName } from '../../processor/targets/run-target.js';
import type { Secret } from '../../shared/secrets.js';
import { isConflict } from '../guard.js';
import type { SweepTask, TickContext } from '../task.js';
import { followDeferred, followOpen, type Observation } from './decide.js';
import { renderRunFailure } from './messages.js';
import type { FollowedRun } from '../../processor/store/followed-run.js';
import type { RunsStore, RunWrite, StoredRun } from './store.js';

/** Records handled per tick at most; more wait for the next tick (the query is ordered by when each is due). */
export const RUNS_PER_TICK = 100;
/** Targets asked at once. */
const CONCURRENCY = 8;
/** A failure alert is given up after this many tries (a tick apart at least). */
const MAX_ALERT_ATTEMPTS = 10;

export interface RunsTaskDeps {
  store: RunsStore;
  /** The run targets' clients by kind (those the routing file names). */
  targets: ReadonlyMap<TargetKindName, RunTargetClient>;
  slack: SlackClient;
  /** A route's webhook by its reference; undefined when it is not set (the alert is then logged). */
  webhook: (reference: string) => Secret | undefined;
  /** Origins links in the alert may point to (the targets' consoles). */
  linkOrigins: readonly string[];
  leaseMs: number;
}

/**
 * "Follow runs to their end", a task of the sweep (issue 28). Each tick:
 *   1. reads the followed runs due (one query);
 *   2. asks each open run's target about it (one GET each), and decides (decide.ts);
 *   3. commits each change: the record (guarded by its update time), `runOutcome` on the
 *      originating action, the run's end in the target's run log, and, for a failure, the
 *      alert claimed by this tick; then sends the claimed alerts and settles them;
 *   4. deferred Cloud Run batches whose running execution ended: starts one execution for
 *      them (claimed first, so two ticks never both start), or records the run that covers them.
 * A tick that dies anywhere leaves each record either as it was or committed with its
 * alert claimed: the next tick sees it due again (a claim runs out after leaseMs).
 */
export function createRunsTask({ store, targets, slack, webhook, linkOrigins, leaseMs }: RunsTaskDeps): SweepTask {
  async function run(ctx: TickContext): Promise<Record<string, number>> {
    const totals = { due: 0, checked: 0, ended: 0, failed: 0, alertsSent: 0, alertsLeft: 0, deferredStarted: 0, deferredCovered: 0, conflicts: 0, unavailable: 0 };
    const due = await store.due(ctx.nowMs, RUNS_PER_TICK, ctx.deadline);
    totals.due = due.length;
    const open = due.filter((d) => d.record.state === 'open');
    const alerts = due.filter((d) => d.record.state === 'ended' && d.record.alert?.state === 'pending');
    const deferred = due.filter((d) => d.record.state === 'deferred' || (d.record.state === 'starting' && (d.record.leaseUntil ?? 0) <= ctx.nowMs));

    // Open runs first: what they say is news for the batches deferred behind them.
    const seen = new Map<string, Observation>();
    await inBatches(open, async (stored) => {
      const observation = await observe(stored.record.target, stored.record.runId!, ctx);
      seen.set(`${stored.record.target.kind}/${stored.record.target.id}/${stored.record.runId}`, observation);
      totals.checked++;
      if (observation.kind === 'unavailable') totals.unavailable++;
      const decision = followOpen(stored.record, observation, ctx.nowMs);
      if (decision.alert) decision.record.alert = claim(decision.record, ctx);
      const write: RunWrite = {
        docId: stored.docId,
        record: decision.record,
        readTime: stored.updateTime,
        ...(decision.outcome ? { action: { runOutcome: decision.outcome } } : {}),
        ...(decision.runLog && stored.record.logged && stored.record.runId ? { runLog: { target: stored.record.target, runId: stored.record.runId, fields: decision.runLog } } : {}),
      };
      const committed = await commit(write, ctx, totals);
      if (!committed) return;
      if (decision.outcome && decision.outcome.status !== 'running') {
        totals.ended++;
        if (decision.alert) totals.failed++;
        ctx.log[decision.alert ? 'warn' : 'info'](
          { target: stored.record.label, runId: stored.record.runId, status: decision.outcome.status, originEventId: stored.record.origin.eventId, actionId: stored.record.actionId },
          decision.alert ? 'run postload started did not succeed; recorded on the load that started it' : 'run postload started ended; recorded on the load that started it',
        );
      }
      if (decision.alert) await sendAlert({ ...stored, record: decision.record, updateTime: committed }, ctx, totals);
    });

    // Alerts a tick claimed but could not send (or died before sending).
    for (const stored of alerts) {
      const alert = stored.record.alert!;
      if (alert.claimedBy !== null && (alert.leaseUntil ?? 0) > ctx.nowMs) continue;
      const record = { ...stored.record, alert: claim(stored.record, ctx) };
      const committed = await commit({ docId: stored.docId, record, readTime: stored.updateTime }, ctx, totals);
      if (committed) await sendAlert({ ...stored, record, updateTime: committed }, ctx, totals);
    }

    await handleDeferred(deferred, seen, ctx, totals);
    return totals;
  }

  async function observe(target: FollowedRun['target'], runId: string, ctx: TickContext): Promise<Observation> {
    const client = targets.get(target.kind);
    if (!client?.status) return { kind: 'unavailable', error: `${target.kind} is not configured for the sweep` };
    try {
      const status = await client.status(target, runId, { deadline: ctx.deadline, attempts: [] });
      return status ? { kind: 'seen', status } : { kind: 'gone' };
    } catch (error) {
      return { kind: 'unavailable', error: describeError(error), ...((error as { retryAfterMs?: number }).retryAfterMs === undefined ? {} : { retryAfterMs: (error as { retryAfterMs: number }).retryAfterMs }) };
    }
  }

  async function handleDeferred(deferred: StoredRun[], seen: Map<string, Observation>, ctx: TickContext, totals: Record<string, number>): Promise<void> {
    if (!deferred.length) return;
    const logs = await store.runLogs(uniqueTargets(deferred.map((d) => d.record.target)), ctx.deadline);
    // Oldest decision first: it starts the execution, the later ones find it and are covered.
    const ordered = [...deferred].sort((a, b) => Date.parse(a.record.decidedAt ?? a.record.createdAt) - Date.parse(b.record.decidedAt ?? b.record.createdAt));
    const startedNow: Array<{ target: string; fingerprint: string; runId: string; triggeredAt: string }> = [];
    for (const stored of ordered) {
      const record = stored.record;
      const key = `${record.target.kind}/${record.target.id}/${record.behind}`;
      const behind = seen.get(key) ?? (await observe(record.target, record.behind!, ctx));
      seen.set(key, behind);
      const logged = Object.values(((logs.get(runLogDocId(record.target)) ?? {}).runs ?? {}) as Record<string, { runId: unknown; fingerprint?: string; triggeredAt?: string }>)
        .filter((r) => r.fingerprint === record.fingerprint && typeof r.triggeredAt === 'string')
        .map((r) => ({ runId: String(r.runId), triggeredAt: r.triggeredAt! }));
      const later = [...logged, ...startedNow.filter((s) => s.target === `${record.target.kind}/${record.target.id}` && s.fingerprint === record.fingerprint)];
      const decision = followDeferred(record, behind, later, ctx.tickId, ctx.nowMs);
      if (decision.kind === 'wait') {
        await commit({ docId: stored.docId, record: decision.record, readTime: stored.updateTime }, ctx, totals);
        continue;
      }
      if (decision.kind === 'covered') {
        const committed = await commit({ docId: stored.docId, record: decision.record, readTime: stored.updateTime, action: { deferredRun: { runId: decision.runId, covered: true, at: new Date(ctx.nowMs).toISOString() } } }, ctx, totals);
        if (committed) {
          totals.deferredCovered!++;
          ctx.log.info({ target: record.label, runId: decision.runId, originEventId: record.origin.eventId }, 'deferred loads covered by a run started since');
        }
        continue;
      }
      // Claim the start, then start: a tick that dies after the call leaves the claim, and
      // the next one (after the lease) looks for the execution by the action id first.
      const claimed = await commit({ docId: stored.docId, record: decision.record, readTime: stored.updateTime }, ctx, totals);
      if (!claimed) continue;
      const started = await startDeferred(decision.record, record.state === 'starting', ctx);
      if (!started) continue;
      const triggeredAt = new Date(ctx.nowMs).toISOString();
      const next: FollowedRun = { ...decision.record, state: 'open', runId: started.runId, href: started.href, triggeredAt, leaseUntil: null, nextCheckAt: ctx.nowMs, logged: true };
      const done = await commit(
        {
          docId: stored.docId,
          record: next,
          readTime: claimed,
          action: { deferredRun: { runId: started.runId, href: started.href, recovered: started.recovered, at: triggeredAt } },
          startedRun: { runId: started.runId, atMs: ctx.nowMs },
          runLog: {
            target: record.target,
            runId: started.runId,
            fields: { runId: started.runId, fingerprint: record.fingerprint, holder: record.origin.eventId, triggeredAt },
            ...(started.recovered ? {} : { countDay: utcDay(ctx.nowMs) }),
            batch: { holder: record.origin.eventId, outcome: { fingerprint: record.fingerprint, decision: 'triggered', runId: started.runId, detail: `deferred behind ${record.behind}`, at: triggeredAt } },
          },
        },
        ctx,
        totals,
      );
      if (done) {
        totals.deferredStarted!++;
        startedNow.push({ target: `${record.target.kind}/${record.target.id}`, fingerprint: record.fingerprint, runId: started.runId, triggeredAt });
        ctx.log.info({ target: record.label, runId: started.runId, behind: record.behind, originEventId: record.origin.eventId, recovered: started.recovered }, 'deferred run started');
      }
    }
  }

  async function startDeferred(record: FollowedRun, retry: boolean, ctx: TickContext): Promise<{ runId: string; href: string | null; recovered: boolean } | undefined> {
    const client = targets.get(record.target.kind);
    if (!client?.startDeferred) return undefined;
    const run: PlannedRun = {
      actionId: record.actionId,
      actionKind: record.target.kind,
      target: record.target,
      label: record.label,
      route: record.route,
      policy: 'queue',
      limits: undefined,
      options: record.options ?? {},
      fingerprint: record.fingerprint,
      action: undefined,
    };
    const attempts: AttemptRecord[] = [];
    try {
      const started = await client.startDeferred(record.origin.eventId, run, { deadline: ctx.deadline, attempts, checkFirst: retry, since: new Date(Date.parse(record.decidedAt ?? record.createdAt)) });
      return { runId: String(started.runId), href: started.href, recovered: started.recovered };
    } catch (error) {
      // Left claimed: after the lease the next tick tries again, looking for the execution first.
      ctx.log[classifyError(error) === 'permanent' ? 'error' : 'warn']({ target: record.label, originEventId: record.origin.eventId, err: describeError(error) }, 'deferred run not started yet; the next tick tries again');
      return undefined;
    }
  }

  async function sendAlert(stored: StoredRun, ctx: TickContext, totals: Record<string, number>): Promise<void> {
    const record = stored.record;
    const secret = webhook(record.webhook);
    const message = renderRunFailure(record, linkOrigins);
    let alert = record.alert!;
    if (!secret) {
      ctx.log.warn({ actionId: record.actionId, webhook: record.webhook, why: 'not set', text: message.text }, SLACK_NOT_SENT);
      alert = { ...alert, state: 'not-sent', claimedBy: null, leaseUntil: null };
    } else {
      try {
        await slack.post(secret, message, { deadline: ctx.deadline, attempts: [] });
        alert = { ...alert, state: 'sent', claimedBy: null, leaseUntil: null, lastError: null };
        totals.alertsSent!++;
        ctx.log.info({ target: record.label, runId: record.runId, originEventId: record.origin.eventId }, 'run failure alerted');
      } catch (error) {
        const givenUp = classifyError(error) === 'permanent' || alert.attempts >= MAX_ALERT_ATTEMPTS;
        alert = { ...alert, state: givenUp ? 'not-sent' : 'pending', claimedBy: null, leaseUntil: null, lastError: describeError(error) };
        if (!givenUp) totals.alertsLeft!++;
        ctx.log.error({ target: record.label, runId: record.runId, err: describeError(error), givenUp }, givenUp ? 'run failure alert not sent, given up' : 'run failure alert not sent yet; the next tick retries');
      }
    }
    const next = { ...record, alert, nextCheckAt: alert.state === 'pending' ? ctx.nowMs + 60_000 : null };
    await commit({ docId: stored.docId, record: next, readTime: stored.updateTime }, ctx, totals);
  }

  function claim(record: FollowedRun, ctx: TickContext): NonNullable<FollowedRun['alert']> {
    const alert = record.alert ?? { state: 'pending' as const, claimedBy: null, leaseUntil: null, attempts: 0, lastError: null };
    return { ...alert, state: 'pending', claimedBy: ctx.tickId, leaseUntil: ctx.nowMs + leaseMs, attempts: alert.attempts + 1 };
  }

  /** One run's commit; undefined when another tick wrote it first (it decided; this one stands aside). */
  async function commit(write: RunWrite, ctx: TickContext, totals: Record<string, number>) {
    try {
      return await store.commit(write, ctx.nowMs, ctx.deadline);
    } catch (error) {
      if (!isConflict(error)) throw error;
      totals.conflicts!++;
      return undefined;
    }
  }

  return { name: 'runs', run };
}

function uniqueTargets(targets: FollowedRun['target'][]): FollowedRun['target'][] {
  return [...new Map(targets.map((t) => [`${t.kind}/${t.id}`, t])).values()];
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY) await Promise.all(items.slice(i, i + CONCURRENCY).map(work));
}
