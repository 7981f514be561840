import type { SyncEvent } from '../shared/sync-event.js';
import { runReport, type Link, type RunReport } from './planning/run-outcome.js';
import type { RoutePlan } from './planning/routing.js';
import { mergeTransformationLink } from './store/connector-document.js';
import { connectorDocId } from './store/document-ids.js';
import type { BeginRequest } from './store/event-store.js';
import { originUpdate, type RunOrigin } from './store/run-origin.js';

/**
 * The dbt Cloud loop for one dbt-cloud run event (issue 13): the originating audit record
 * is read in the event's own claim read and its dbt action's `runOutcome` written in the
 * same commit (`begin({ also })`), so the loop costs no extra round trip there and two
 * run events of one run (started, completed, redeliveries) serialise on that record.
 */
export class RunLoop {
  private result: ReturnType<typeof originUpdate> | undefined;

  private constructor(
    readonly report: RunReport,
    private readonly auditCollection: string,
    private readonly now: () => number,
  ) {}

  /** The loop for this event, or undefined when it names no run postload may have started. */
  static for(event: SyncEvent, auditCollection: string, now: () => number): RunLoop | undefined {
    const report = runReport(event);
    return report ? new RunLoop(report, auditCollection, now) : undefined;
  }

  /** The originating audit record as a document of the claim commit. Decided again on every read (a conflict re-reads). */
  get document(): NonNullable<BeginRequest['also']>[number] {
    return {
      collection: this.auditCollection,
      docId: this.report.originEventId,
      update: (existing) => {
        this.result = originUpdate(this.report, existing, this.now());
        return this.result.fields;
      },
    };
  }

  /** How the run relates to the originating record, as last decided (unverified until the claim read ran). */
  get link(): Link {
    return this.result?.link ?? { kind: 'unverified', reason: 'the originating record was not read' };
  }

  /** The load that started the run, when linked. */
  get origin(): RunOrigin | undefined {
    return this.result?.origin;
  }

  /** Why a changed outcome could not be written (logged), if so. */
  get skipped(): string | undefined {
    return this.result?.skipped;
  }

  /** True when this delivery changed the run outcome on the originating record. */
  get recorded(): boolean {
    return this.result?.fields !== undefined;
  }

  /**
   * A failed or cancelled run postload started is always worth a Slack message (routes
   * decide the webhook); any other run event is notified only as its routes ask.
   */
  plan(plan: RoutePlan): RoutePlan {
    const alert = this.origin && (this.report.outcome.status === 'failed' || this.report.outcome.status === 'cancelled');
    return alert ? { ...plan, slack: plan.slack.map((target) => ({ ...target, notify: true })) } : plan;
  }

  /** The load connector's document and its new `latestTransformation`, when the outcome was recorded. */
  connectorLink(): { docId: string; merge: (existing: Record<string, unknown>) => Record<string, unknown> | undefined } | undefined {
    const origin = this.origin;
    if (!origin?.connectorId || !this.recorded) return undefined;
    const { report } = this;
    const link = {
      originEventId: origin.eventId,
      jobId: report.jobId,
      runId: report.runId,
      status: report.outcome.status,
      eventId: report.outcome.eventId,
      finishedAt: report.outcome.finishedAt,
      recordedAt: new Date(this.now()).toISOString(),
    };
    return { docId: connectorDocId(origin.source, origin.connectorId), merge: (existing) => mergeTransformationLink(existing, link) };
  }
}
