// Issue 12 wired into the claim transaction: which shared documents an event reads (its
// jobs' state, the joins it is an upstream of), what it plans from them (a join's job and
// messages), what each claimed dbt job action comes to (trigger, coalesce, skip, confirm,
// wait), and what the settle writes back (the run a trigger started). The decisions are
// the pure modules under planning/ (see planning/ORCHESTRATION.md); this file only reads
// their inputs from the documents and writes their outputs.
import { createHash } from 'node:crypto';
import type { SyncEvent } from '../shared/sync-event.js';
import { busyPolicyOf, decideBusy, observeRun, recordTriggered, releaseTrigger, type ActiveRunsObservation } from './planning/coalesce.js';
import { runNews } from './planning/dbt-observations.js';
import { jobStateDocId, slotFor, slotTrackingRun, withSlot, type JobStateDoc, type RunStatus } from './planning/job-state.js';
import { DEFAULT_JOIN_NOTIFY } from './planning/join-messages.js';
import { joinDocId, type JoinFiring, type JoinStateDoc, type UpstreamFailure } from './planning/join-state.js';
import { applyToJoin, joinJob, joinsFor, recordJoinRun, type CompiledJoin, type JoinOutcome } from './planning/join.js';
import { DEFAULT_WEBHOOK, type LoadedRouting, type PlannedDbtJob, type RoutePlan } from './planning/routing.js';
import type { ActionOutcome, RunToConfirm, SharedAttempt, SharedDocs, SharedRequest } from './store/event-store.js';

export interface OrchestrationSettings {
  jobStateCollection: string;
  joinsCollection: string;
  /** A trigger lease lasts as long as an action's claim. */
  leaseMs: number;
  /** dbt Cloud's list may not show a run triggered this recently yet. */
  listLagMs: number;
  /** The Slack setting name of a webhook reference (for the audit record, never the URL). */
  settingOf: (reference: string) => string;
}

const DAY_MS = 86_400_000;

/**
 * How long a job's state or a join is kept after its last write (its `expireAt`, for the
 * TTL policies): as long as the audit trail, and never less than a day past the longest
 * join window, so an upstream success that still counts is never deleted.
 */
export function sharedRetentionMs(retentionDays: number, joins: ReadonlyArray<Pick<CompiledJoin, 'withinMs'>>): number {
  return Math.max(retentionDays * DAY_MS, ...joins.map((join) => join.withinMs + DAY_MS));
}

/** dbt Cloud's list-runs can lag a just-triggered run; a minute is well past what it documents. */
export const LIST_LAG_MS = 60_000;

/** What a coalesced or skipped job action records instead of a run it started (`actions.<id>.busy`). */
export interface BusyNote {
  outcome: 'coalesced' | 'skipped';
  runId: number;
  runStatus: RunStatus;
  runTriggeredAt: string;
}

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
  /** The action id of the join's dbt job (for `fired`). */
  jobActionId: string;
}

/** Whether the join's `slack.notify` asks for the firing message, given what the job came to. */
export function firingNotified(join: CompiledJoin, outcome: 'triggered' | 'coalesced' | 'skipped' | 'failed'): boolean {
  const notify = join.config.slack?.notify ?? DEFAULT_JOIN_NOTIFY;
  return notify.includes(outcome === 'coalesced' || outcome === 'skipped' ? outcome : 'fired');
}

interface AttemptResult {
  jobs: PlannedDbtJob[];
  messages: JoinMessageAction[];
  joinRounds: Map<string, { join: CompiledJoin; round: number }>;
}

export class EventOrchestration {
  private readonly joins: CompiledJoin[];
  private readonly jobIds: string[];
  private result: AttemptResult;

  constructor(
    private readonly event: SyncEvent,
    private readonly plan: RoutePlan,
    routing: LoadedRouting,
    private readonly settings: OrchestrationSettings,
    private readonly now: () => number,
    /** dbt Cloud's answer to list-runs, per job, once a decision asked for it. */
    private readonly observed: ReadonlyMap<string, ActiveRunsObservation>,
  ) {
    this.joins = joinsFor(event, routing.joins);
    const news = runNews(event);
    this.jobIds = [...new Set([...plan.dbtJobs.map((j) => j.jobId), ...this.joins.map((j) => j.jobId), ...(news ? [news.jobId] : [])])].filter((id) => /^[1-9][0-9]{0,19}$/.test(id));
    this.result = { jobs: plan.dbtJobs, messages: [], joinRounds: new Map() };
  }

  /** The dbt jobs this event may start (routes, then fired joins) as decided in the committed attempt. */
  get jobs(): PlannedDbtJob[] {
    return this.result.jobs;
  }

  get messages(): JoinMessageAction[] {
    return this.result.messages;
  }

  request(): SharedRequest | undefined {
    if (!this.jobIds.length && !this.joins.length) return undefined;
    return {
      refs: [
        ...this.joins.map((join) => ({ collection: this.settings.joinsCollection, docId: joinDocId(join.name) })),
        ...this.jobIds.map((jobId) => ({ collection: this.settings.jobStateCollection, docId: jobStateDocId(jobId) })),
      ],
      attempt: (audit, docs) => this.attempt(audit, docs),
    };
  }

  private joinKey(join: CompiledJoin): string {
    return `${this.settings.joinsCollection}/${joinDocId(join.name)}`;
  }

  private jobKey(jobId: string): string {
    return `${this.settings.jobStateCollection}/${jobStateDocId(jobId)}`;
  }

  private attempt(audit: Record<string, unknown> | undefined, docs: SharedDocs): SharedAttempt {
    const now = new Date(this.now());
    const writes: SharedDocs = new Map();
    const read = <T>(key: string) => (writes.get(key) ?? docs.get(key)) as T | undefined;
    const recorded = (audit?.joins as Record<string, JoinNote> | undefined) ?? {};
    const notes: Record<string, JoinNote> = {};
    const jobs = [...this.plan.dbtJobs];
    const messages: JoinMessageAction[] = [];
    const joinRounds = new Map<string, { join: CompiledJoin; round: number }>();

    // Joins first: a firing adds the join's job to this event's jobs. A join this event was
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
      const webhook = join.config.slack?.webhook ?? DEFAULT_WEBHOOK;
      const job = joinJob(join);
      if (note.outcome === 'fired' && note.firing) {
        if (!jobs.some((j) => j.actionId === job.actionId)) jobs.push(job);
        joinRounds.set(job.actionId, { join, round: note.firing.round });
        if (notify.some((n) => n !== 'waiting')) messages.push({ actionId: `join-fired-${short(join.name)}`, webhook, join, note, kind: 'fired', jobActionId: job.actionId });
      }
      if (note.outcome === 'failed' && note.alert && notify.includes('waiting')) {
        messages.push({ actionId: `join-waiting-${short(join.name)}`, webhook, join, note, kind: 'waiting', jobActionId: job.actionId });
      }
    }

    // A dbt Cloud run event tells the job's state what became of a run postload started.
    const news = runNews(this.event);
    if (news && this.jobIds.includes(news.jobId)) {
      const doc = read<JobStateDoc>(this.jobKey(news.jobId));
      const slot = slotTrackingRun(doc, news.runId);
      if (doc && slot) {
        const seen = observeRun(slot, news.runId, news.status, news.at);
        if (seen !== slot) writes.set(this.jobKey(news.jobId), withSlot(doc, news.jobId, seen, now) as unknown as Record<string, unknown>);
      }
    }

    this.result = { jobs, messages, joinRounds };
    const settingOf = this.settings.settingOf;
    return {
      planned: [
        ...jobs.filter((j) => !this.plan.dbtJobs.includes(j)).map((j) => ({ actionId: j.actionId, kind: 'dbt' as const, target: j.jobId })),
        ...messages.map((m) => ({ actionId: m.actionId, kind: 'slack' as const, target: settingOf(m.webhook) })),
      ],
      decide: (decisions) => {
        const done = new Map<string, Record<string, unknown>>();
        const held = new Map<string, string>();
        const confirm: RunToConfirm[] = [];
        for (const job of jobs) {
          if (decisions.get(job.actionId)?.decision !== 'claim') continue;
          const key = this.jobKey(job.jobId);
          const doc = read<JobStateDoc>(key);
          const policy = busyPolicyOf(job.options);
          const observed = this.observed.get(job.jobId);
          const decision = decideBusy(policy, slotFor(doc, job.options), {
            eventId: this.event.id,
            now,
            leaseMs: this.settings.leaseMs,
            listLagMs: this.settings.listLagMs,
            ...(observed ? { observed } : {}),
          });
          switch (decision.kind) {
            case 'trigger':
              if (policy !== 'queue') writes.set(key, withSlot(doc, job.jobId, decision.slot, now) as unknown as Record<string, unknown>);
              break;
            case 'coalesce':
            case 'skip': {
              writes.set(key, withSlot(doc, job.jobId, decision.slot, now) as unknown as Record<string, unknown>);
              const run = decision.slot.run!;
              const busy: BusyNote = { outcome: decision.kind === 'coalesce' ? 'coalesced' : 'skipped', runId: run.id, runStatus: run.status, runTriggeredAt: run.triggeredAt };
              // No runId: that field means "this event started the run" (issue 13 follows it).
              done.set(job.actionId, { busy });
              const joined = joinRounds.get(job.actionId);
              const joinDoc = joined && read<JoinStateDoc>(this.joinKey(joined.join));
              if (joined && joinDoc) writes.set(this.joinKey(joined.join), recordJoinRun(joinDoc, joined.round, { id: run.id, outcome: busy.outcome }, now) as unknown as Record<string, unknown>);
              break;
            }
            case 'confirm':
              confirm.push({ jobId: job.jobId, runId: decision.runId });
              break;
            case 'wait':
              held.set(job.actionId, `waiting: event ${decision.holder} is starting dbt job ${job.jobId} with the same options right now; the next delivery will ${policy === 'skip' ? 'skip or start' : 'coalesce into or start'} a run`);
              break;
            case 'triggered':
              break;
          }
        }
        const auditFields = Object.keys(notes).length ? { joins: { ...recorded, ...notes } } : {};
        return { writes, done, held, confirm, auditFields };
      },
    };
  }

  /**
   * The shared documents after this delivery's own outcomes: the run a trigger started
   * becomes the job's tracked run (only while the event still holds the job's trigger
   * lease: under `queue` nothing is tracked, so queued triggers never contend), a trigger that failed for good releases its lease, and a
   * fired join records the run it started.
   */
  sharedAfter(docs: SharedDocs, ours: Map<string, ActionOutcome>): SharedDocs {
    const out: SharedDocs = new Map();
    const now = new Date(this.now());
    for (const [actionId, outcome] of ours) {
      const job = this.result.jobs.find((j) => j.actionId === actionId);
      if (!job) continue;
      const key = this.jobKey(job.jobId);
      const doc = (out.get(key) ?? docs.get(key)) as JobStateDoc | undefined;
      const slot = slotFor(doc, job.options);
      const mine = slot.trigger?.eventId === this.event.id;
      if (outcome.status === 'succeeded' && outcome.runId !== undefined) {
        if (mine) out.set(key, withSlot(doc, job.jobId, recordTriggered(slot, this.event.id, outcome.runId, now), now) as unknown as Record<string, unknown>);
        const joined = this.result.joinRounds.get(actionId);
        const joinKey = joined && this.joinKey(joined.join);
        const joinDoc = joinKey && ((out.get(joinKey) ?? docs.get(joinKey)) as JoinStateDoc | undefined);
        if (joined && joinKey && joinDoc) out.set(joinKey, recordJoinRun(joinDoc, joined.round, { id: outcome.runId, outcome: 'triggered' }, now) as unknown as Record<string, unknown>);
      } else if (outcome.status === 'failed' && mine) {
        out.set(key, withSlot(doc, job.jobId, releaseTrigger(slot, this.event.id), now) as unknown as Record<string, unknown>);
      }
    }
    return out;
  }
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
