// Issues 12 and 26 wired into the claim commit: which shared documents an event reads (its
// run targets' lease documents and run logs, the joins it is an upstream of), what it plans
// from them (a join's run, its messages, a run-cap alert), what each claimed run action
// comes to at the claim (start, covered by a batch, hold a batch, capped), and what the
// settle writes back (what a batch came to, a firing's run). The decisions are the pure
// modules under planning/ (ORCHESTRATION.md); this file reads their inputs from the
// documents and writes their outputs.
import { createHash } from 'node:crypto';
import { FieldValue, Timestamp } from '@google-cloud/firestore';
import { followedRunFields, followedRunId } from './store/followed-run.js';
import type { SyncEvent } from '../shared/sync-event.js';
import { batchOutcomeFields, decideAtClaim, type ClaimVerdict } from './planning/batch.js';
import { DEFAULT_JOIN_NOTIFY } from './planning/join-messages.js';
import { joinDocId, type JoinFiring, type JoinRun, type JoinStateDoc, type UpstreamFailure } from './planning/join-state.js';
import { applyToJoin, joinRun, joinsFor, type CompiledJoin, type JoinOutcome } from './planning/join.js';
import { slackTargetOf, type LoadedRouting, type RoutePlan } from './planning/routing.js';
import { storedRunLog, type TargetLeaseDoc, type TargetRunLogDoc } from './planning/target-state.js';
import type { CapVerdict } from './planning/run-limits.js';
import { runLogDocId, targetDocId } from './store/document-ids.js';
import type { ActionOutcome, ActionRecord, SharedAttempt, SharedDocs, SharedMerges, SharedRequest, SharedSettle } from './store/event-store.js';
import { runNewsOf } from './targets/kinds.js';
import type { PlannedRun, RunId, TargetKey } from './targets/run-target.js';

export interface OrchestrationSettings {
  jobStateCollection: string;
  joinsCollection: string;
  /** COALESCE_WINDOW_MS: how far apart one option set's batches close. */
  windowMs: number;
  /** The Slack setting name of a webhook reference (for the audit record, never the URL). */
  settingOf: (reference: string) => string;
  /** Where run-cap alerts go (the default webhook). */
  alertWebhook: string;
  /** FOLLOWED_RUNS_COLLECTION: runs the sweep follows to their end (issue 28). */
  followedRunsCollection: string;
  /** Where a run's failure is alerted: the webhook of the route (or join) that planned it. */
  webhookOf: (route: string) => string;
}

const DAY_MS = 86_400_000;

/**
 * How long a target's state or a join is kept after its last write (its `expireAt`, for the
 * TTL policies): as long as the audit trail, and never less than a day past the longest
 * join window, so an upstream success that still counts is never deleted.
 */
export function sharedRetentionMs(retentionDays: number, joins: ReadonlyArray<Pick<CompiledJoin, 'withinMs'>>): number {
  return Math.max(retentionDays * DAY_MS, ...joins.map((join) => join.withinMs + DAY_MS));
}

/**
 * What a run action the event did not perform records instead of a run it started
 * (`actions.<id>.busy`); `runId` on the action means "this event started the run".
 */
export type BusyNote =
  /** Covered: the event's claim read saw `holder`'s batch open; that delivery decides for it. */
  | { outcome: 'joined'; holder: string; closesAt: string }
  /** The batch merged into a run that was still waiting when its holder looked (it reads this load's data). */
  | { outcome: 'coalesced'; runId: RunId; runStatus: string }
  /** The batch found a run active (`skip`). */
  | { outcome: 'skipped'; runId: RunId; runStatus: string }
  /** A target with no queue (Cloud Run) had a run executing (`coalesce`): the sweep starts one run for the batch when it ends. */
  | { outcome: 'deferred'; runId: RunId; runStatus: string }
  /** The target's run limits forbade a run (issue 25 finding 6). */
  | { outcome: 'capped'; cap: CapVerdict['cap']; reason: string; until: string };

/** What the event did to a join, on its audit record (`joins.<name>`). */
export interface JoinNote {
  outcome: JoinOutcome['kind'];
  upstreams: string[];
  missing?: string[];
  /** The firing this event completed. */
  firing?: JoinFiring;
  /** The failure this event recorded, per upstream; `alert` for the first of a streak. */
  failures?: Array<{ upstream: string; failure: UpstreamFailure }>;
  alert?: boolean;
}

/** A Slack message a join asks for, planned as an action of the event that caused it. */
export interface JoinMessageAction {
  actionId: string;
  webhook: string;
  join: CompiledJoin;
  note: JoinNote;
  kind: 'fired' | 'waiting';
  /** The action id of the join's run (for `fired`). */
  jobActionId: string;
}

/** The day's run-cap alert for one target, sent by the event that found the cap reached first. */
export interface CapAlertAction {
  actionId: string;
  webhook: string;
  run: PlannedRun;
  cap: CapVerdict;
}

/** Whether the join's `slack.notify` asks for the firing message, given what the job came to. */
export function firingNotified(join: CompiledJoin, outcome: JoinRun['outcome']): boolean {
  const notify = join.config.slack?.notify ?? DEFAULT_JOIN_NOTIFY;
  return notify.includes(outcome === 'coalesced' || outcome === 'skipped' ? outcome : 'fired');
}

interface AttemptResult {
  runs: PlannedRun[];
  messages: JoinMessageAction[];
  capAlerts: CapAlertAction[];
  joinRounds: Map<string, { join: CompiledJoin; round: number }>;
  /** Per claimed run action, what its claim came to. */
  verdicts: Map<string, ClaimVerdict>;
  /** The target documents as this delivery read them. */
  leases: Map<string, TargetLeaseDoc | undefined>;
  runLogs: Map<string, TargetRunLogDoc | undefined>;
}

export class EventOrchestration {
  private readonly joins: CompiledJoin[];
  private readonly targets: TargetKey[];
  private result: AttemptResult;
  /** Firestore's time of this delivery's first claim read (attempt() runs again after a lost commit race). */
  private firstReadTimeMs: number | undefined;

  constructor(
    private readonly event: SyncEvent,
    private readonly plan: RoutePlan,
    private readonly routing: LoadedRouting,
    private readonly settings: OrchestrationSettings,
    private readonly now: () => number,
  ) {
    this.joins = joinsFor(event, routing.joins);
    const news = runNewsOf(event);
    // Only targets whose state matters are read: a `queue` run without limits needs none.
    const stateful = (run: PlannedRun) => run.policy !== 'queue' || run.limits !== undefined;
    const keyed = new Map<string, TargetKey>();
    for (const run of [...plan.runs, ...this.joins.map(joinRun)].filter(stateful)) keyed.set(targetDocId(run.target), run.target);
    if (news) keyed.set(targetDocId(news.target), news.target);
    this.targets = [...keyed.values()];
    this.result = { runs: plan.runs, messages: [], capAlerts: [], joinRounds: new Map(), verdicts: new Map(), leases: new Map(), runLogs: new Map() };
  }

  /** The runs this event may start (routes, then fired joins) as decided in the committed attempt. */
  get runs(): PlannedRun[] {
    return this.result.runs;
  }

  get messages(): JoinMessageAction[] {
    return this.result.messages;
  }

  get capAlerts(): CapAlertAction[] {
    return this.result.capAlerts;
  }

  /** What the committed claim decided for a run action (absent: not claimed by this delivery). */
  verdict(actionId: string): ClaimVerdict | undefined {
    return this.result.verdicts.get(actionId);
  }

  /** The target documents this delivery read: the holder decides from them. */
  targetDocs(target: TargetKey): { lease: TargetLeaseDoc | undefined; runLog: TargetRunLogDoc | undefined } {
    return { lease: this.result.leases.get(this.leaseKey(target)), runLog: this.result.runLogs.get(this.runLogKey(target)) };
  }

  request(): SharedRequest | undefined {
    if (!this.targets.length && !this.joins.length) return undefined;
    return {
      refs: [
        ...this.joins.map((join) => ({ collection: this.settings.joinsCollection, docId: joinDocId(join.name) })),
        ...this.targets.flatMap((target) => [
          { collection: this.settings.jobStateCollection, docId: targetDocId(target) },
          { collection: this.settings.jobStateCollection, docId: runLogDocId(target) },
        ]),
      ],
      attempt: (audit, docs, readTimeMs) => this.attempt(audit, docs, readTimeMs),
    };
  }

  private joinKey(join: CompiledJoin): string {
    return `${this.settings.joinsCollection}/${joinDocId(join.name)}`;
  }

  private leaseKey(target: TargetKey): string {
    return `${this.settings.jobStateCollection}/${targetDocId(target)}`;
  }

  private runLogKey(target: TargetKey): string {
    return `${this.settings.jobStateCollection}/${runLogDocId(target)}`;
  }

  private attempt(audit: Record<string, unknown> | undefined, docs: SharedDocs, readTimeMs: number): SharedAttempt {
    this.firstReadTimeMs ??= readTimeMs;
    const now = new Date(readTimeMs);
    const writes: SharedDocs = new Map();
    const merges: SharedMerges = new Map();
    const read = <T>(key: string) => (writes.get(key) ?? docs.get(key)) as T | undefined;
    const recorded = (audit?.joins as Record<string, JoinNote> | undefined) ?? {};
    const actions = (audit?.actions as Record<string, ActionRecord> | undefined) ?? {};
    const notes: Record<string, JoinNote> = {};
    const runs = [...this.plan.runs];
    const messages: JoinMessageAction[] = [];
    const joinRounds = new Map<string, { join: CompiledJoin; round: number }>();

    // Joins first: a firing adds the join's run to this event's runs. A join this event was
    // already applied to (an earlier delivery) is not applied again: its note stands.
    for (const join of this.joins) {
      let note = recorded[join.name];
      if (!note) {
        const transition = applyToJoin(join, read<JoinStateDoc>(this.joinKey(join)), this.event, now);
        if (transition.changed) writes.set(this.joinKey(join), transition.state as unknown as Record<string, unknown>);
        note = noteOf(transition.outcome, transition.state);
        notes[join.name] = note;
      }
      const notify = join.config.slack?.notify ?? DEFAULT_JOIN_NOTIFY;
      // The join's own target, else the top-level one (as the schema says), app or webhook.
      const webhook = slackTargetOf(join.config.slack, this.routing.config);
      const run = joinRun(join);
      if (note.outcome === 'fired' && note.firing) {
        if (!runs.some((r) => r.actionId === run.actionId)) runs.push(run);
        joinRounds.set(run.actionId, { join, round: note.firing.round });
        if (notify.some((n) => n !== 'waiting')) messages.push({ actionId: `join-fired-${short(join.name)}`, webhook, join, note, kind: 'fired', jobActionId: run.actionId });
      }
      if (note.outcome === 'failed' && note.alert && notify.includes('waiting')) {
        messages.push({ actionId: `join-waiting-${short(join.name)}`, webhook, join, note, kind: 'waiting', jobActionId: run.actionId });
      }
    }

    // A target's run event tells its run log what became of a run postload started: each
    // phase is its own field, written once, so events arriving out of order cannot regress it.
    const news = runNewsOf(this.event);
    if (news) {
      const runLog = storedRunLog(read<Record<string, unknown>>(this.runLogKey(news.target)));
      if (runLog?.runs[String(news.runId)]) {
        const at = news.at.toISOString();
        const fields = news.phase === 'ended' ? { endedAt: at, endStatus: news.status } : news.phase === 'running' ? { startedAt: at } : undefined;
        if (fields) merges.set(this.runLogKey(news.target), { runs: { [String(news.runId)]: fields }, updatedAt: now.toISOString() });
      }
    }

    // What each run's claim would come to, before the claims are decided: a cap alert it
    // owns is an action of its own, planned with the rest.
    const verdicts = new Map<string, ClaimVerdict>();
    const leases = new Map<string, TargetLeaseDoc | undefined>();
    const runLogs = new Map<string, TargetRunLogDoc | undefined>();
    const capAlerts: CapAlertAction[] = [];
    for (const run of runs) {
      const lease = read<TargetLeaseDoc>(this.leaseKey(run.target));
      const runLog = storedRunLog(docs.get(this.runLogKey(run.target)));
      leases.set(this.leaseKey(run.target), lease);
      runLogs.set(this.runLogKey(run.target), runLog);
      if (actions[run.actionId] && ['succeeded', 'failed'].includes(actions[run.actionId]!.status)) continue;
      const verdict = decideAtClaim({
        eventId: this.event.id,
        target: run.target,
        policy: run.policy,
        limits: run.limits,
        fingerprint: run.fingerprint,
        options: run.options,
        readTimeMs,
        firstReadTimeMs: this.firstReadTimeMs,
        windowMs: this.settings.windowMs,
        lease,
        runLog,
        ownBatch: actions[run.actionId]?.batch,
      });
      verdicts.set(run.actionId, verdict);
      if ((verdict.kind === 'capped' || verdict.kind === 'hold') && verdict.alert && verdict.cap) {
        capAlerts.push({ actionId: `run-cap-${short(targetDocId(run.target))}`, webhook: this.settings.alertWebhook, run, cap: verdict.cap });
      }
    }

    // A firing's run known at the claim (covered, capped) goes into the join document the
    // firing writes in this same commit.
    const recordFiring = (actionId: string, run: JoinRun) => {
      const round = joinRounds.get(actionId);
      const doc = round && (writes.get(this.joinKey(round.join)) as JoinStateDoc | undefined);
      if (round && doc) writes.set(this.joinKey(round.join), { ...doc, runs: { ...doc.runs, [String(round.round)]: run } } as unknown as Record<string, unknown>);
    };

    const settingOf = this.settings.settingOf;
    return {
      planned: [
        ...runs.filter((r) => !this.plan.runs.includes(r)).map((r) => ({ actionId: r.actionId, kind: r.actionKind, target: r.target.id })),
        ...messages.map((m) => ({ actionId: m.actionId, kind: 'slack' as const, target: settingOf(m.webhook) })),
        ...capAlerts.map((a) => ({ actionId: a.actionId, kind: 'alert' as const, target: settingOf(a.webhook) })),
      ],
      decide: (decisions) => {
        const done = new Map<string, Record<string, unknown>>();
        const claimFields = new Map<string, Record<string, unknown>>();
        const claimed = new Map<string, ClaimVerdict>();
        for (const run of runs) {
          const verdict = verdicts.get(run.actionId);
          if (!verdict || decisions.get(run.actionId)?.decision !== 'claim') continue;
          claimed.set(run.actionId, verdict);
          const leaseKey = this.leaseKey(run.target);
          switch (verdict.kind) {
            case 'start':
              break;
            case 'reserve':
              writes.set(leaseKey, verdict.lease as unknown as Record<string, unknown>);
              break;
            case 'capped': {
              if (verdict.lease) writes.set(leaseKey, verdict.lease as unknown as Record<string, unknown>);
              const busy: BusyNote = { outcome: 'capped', cap: verdict.cap.cap, reason: verdict.cap.reason, until: verdict.cap.until };
              done.set(run.actionId, { busy });
              recordFiring(run.actionId, { outcome: 'capped', runId: null, at: now.toISOString() });
              break;
            }
            case 'join': {
              const busy: BusyNote = { outcome: 'joined', holder: verdict.batch.holder, closesAt: verdict.batch.closesAt };
              done.set(run.actionId, { busy });
              recordFiring(run.actionId, { outcome: 'joined', runId: null, holder: verdict.batch.holder, at: now.toISOString() });
              break;
            }
            case 'hold':
              if (verdict.lease) writes.set(leaseKey, verdict.lease as unknown as Record<string, unknown>);
              claimFields.set(run.actionId, { batch: verdict.batch });
              break;
          }
        }
        // A cap alert whose run this delivery did not claim is not this delivery's to send.
        for (const alert of capAlerts) {
          const run = claimed.get(alert.run.actionId);
          if (decisions.get(alert.actionId)?.decision === 'claim' && !run) done.set(alert.actionId, { sent: false });
        }
        this.result = { runs, messages, capAlerts, joinRounds, verdicts: claimed, leases, runLogs };
        const auditFields = Object.keys(notes).length ? { joins: { ...recorded, ...notes } } : {};
        return { writes, merges, done, claimFields, auditFields };
      },
    };
  }

  /**
   * What this delivery's own outcomes write when it settles, blind: a holder's batch outcome
   * (and the run it started) in the target's run log; a firing's run in the join document.
   */
  /**
   * A run the sweep must follow (issue 28): one this delivery started or found, of a kind
   * whose runs report nothing by themselves, or a deferred batch it must start a run for.
   */
  private followFields(run: PlannedRun, outcome: ActionOutcome, logged: boolean, nowMs: number): Record<string, unknown> | undefined {
    if (!run.followed || outcome.status !== 'succeeded') return undefined;
    const busy = outcome.busy as BusyNote | undefined;
    const deferred = busy?.outcome === 'deferred' ? { behind: String(busy.runId) } : undefined;
    const started = outcome.runId !== undefined ? { runId: String(outcome.runId), href: outcome.runHref ?? null } : undefined;
    if (!started && !deferred) return undefined;
    return followedRunFields({ event: this.event, run, ...(started ? { started } : {}), ...(deferred ? { deferred } : {}), logged, webhook: this.settings.webhookOf(run.route), nowMs, timestamp: (ms) => Timestamp.fromMillis(ms) });
  }

  settleMerges(ours: Map<string, ActionOutcome>): SharedSettle {
    const merges: SharedMerges = new Map();
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    for (const [actionId, outcome] of ours) {
      const run = this.result.runs.find((r) => r.actionId === actionId);
      if (!run || outcome.status === 'waiting') continue;
      const verdict = this.result.verdicts.get(actionId);
      const joinRunNote = joinRunOf(outcome, at);
      const round = this.result.joinRounds.get(actionId);
      if (round && joinRunNote) merges.set(this.joinKey(round.join), { runs: { [String(round.round)]: joinRunNote }, updatedAt: at });
      const follow = this.followFields(run, outcome, verdict?.kind === 'hold', nowMs);
      if (follow) merges.set(`${this.settings.followedRunsCollection}/${followedRunId(this.event.id, run.actionId)}`, follow);
      if (verdict?.kind !== 'hold' || outcome.status === 'retry') continue;
      const { runLog } = this.targetDocs(run.target);
      const started = outcome.status === 'succeeded' && outcome.runId !== undefined ? { runId: outcome.runId, atMs: nowMs } : undefined;
      const busy = outcome.status === 'succeeded' ? (outcome.busy as BusyNote | undefined) : undefined;
      const batchOutcome = started
        ? { decision: 'triggered' as const, runId: started.runId, detail: null }
        : busy && (busy.outcome === 'coalesced' || busy.outcome === 'skipped' || busy.outcome === 'deferred')
          ? { decision: busy.outcome, runId: busy.runId, detail: busy.runStatus }
          : busy?.outcome === 'capped'
            ? { decision: 'capped' as const, runId: null, detail: busy.reason }
            : { decision: 'failed' as const, runId: null, detail: outcome.status === 'failed' ? outcome.error : null };
      merges.set(
        this.runLogKey(run.target),
        batchOutcomeFields(runLog, { target: run.target, holder: this.event.id, fingerprint: run.fingerprint, ...(started ? { started } : {}), outcome: batchOutcome }, nowMs, FieldValue.delete(), (n) => FieldValue.increment(n)),
      );
    }
    return { merges };
  }
}

/** A firing's run, from its job action's outcome. */
function joinRunOf(outcome: ActionOutcome, at: string): JoinRun | undefined {
  if (outcome.status === 'failed') return { outcome: 'failed', runId: null, at };
  if (outcome.status !== 'succeeded') return undefined;
  if (outcome.runId !== undefined) return { outcome: 'triggered', runId: outcome.runId, at };
  const busy = outcome.busy as BusyNote | undefined;
  if (busy?.outcome === 'coalesced' || busy?.outcome === 'skipped' || busy?.outcome === 'deferred') return { outcome: busy.outcome, runId: busy.runId, at };
  if (busy?.outcome === 'capped') return { outcome: 'capped', runId: null, at };
  return undefined;
}

function noteOf(outcome: JoinOutcome, state: JoinStateDoc): JoinNote {
  const note: JoinNote = { outcome: outcome.kind, upstreams: 'upstreams' in outcome ? outcome.upstreams : [] };
  if (outcome.kind === 'waiting') note.missing = outcome.missing;
  if (outcome.kind === 'fired') note.firing = outcome.firing;
  if (outcome.kind === 'failed') {
    note.alert = outcome.alert;
    note.failures = outcome.upstreams.flatMap((upstream) => {
      const failure = state.upstreams[upstream]?.failure;
      return failure ? [{ upstream, failure }] : [];
    });
  }
  return note;
}

/** Action ids must not carry a join's spaces: a short hash of its name. */
function short(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 12);
}
