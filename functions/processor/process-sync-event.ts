import { randomUUID } from 'node:crypto';
import { FieldValue, type Firestore } from '@google-cloud/firestore';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { Logger } from 'pino';
import { logger as defaultLogger } from '../shared/logger.js';
import { decodeSyncEvent, InvalidSyncEventError, type SyncEvent } from '../shared/sync-event.js';
import { verifySyncEventSignature, type SignatureVerdict } from '../shared/sync-event-signature.js';
import { failureOutcome, performRun, performSlack, SLACK_NOT_CONFIGURED, targetClient, type ActionContext, type AppIncidentStep, type SlackAppTarget } from './actions.js';
import type { AttemptRecord, FetchLike } from './clients/http-retry.js';
import { renderQuarantineAlert } from './clients/quarantine-message.js';
import { renderCapAlert, renderEventMessage, renderFinalAlert, renderIncidentRecovered, renderInvalidMessage, renderRefusedMessage, renderUnrecordedAlert, type DbtJobReport, type LinkPolicy, type SlackMessage } from './clients/slack-message.js';
import { SlackClient } from './clients/slack.js';
import { SlackApiClient } from './clients/slack-api.js';
import { eventButtons } from './clients/message-buttons.js';
import type { ProcessorConfig } from './config.js';
import { startDeadline } from './deadline.js';
import { classifyError, describeError, PermanentError, TransientError } from './errors.js';
import { eventStatus, isFinal, type ActionStatus, type PlannedAction } from './planning/claims.js';
import { quarantineAlertKeys, quarantineVerdict, utcDay, type QuarantineAlertKey, type QuarantineVerdict } from './planning/quarantine-alerts.js';
import { recoveredDuplicateOf } from './planning/recovered-duplicate.js';
import { appTargetOf, DEFAULT_WEBHOOK, planFor, slackActionId, slackTargetOf, webhookOfRoute, type RoutePlan } from './planning/routing.js';
import { incidentMerge, planIncident, type IncidentPlan } from './planning/slack-incident.js';
import { EventOrchestration, firingNotified, sharedRetentionMs, type BusyNote, type JoinMessageAction } from './orchestration.js';
import { decideBatch, observationFor, type BatchInputs, type ClaimVerdict } from './planning/batch.js';
import { busyLine, joinFiredMessage, joinWaitingMessage, type JoinRunReport } from './planning/join-messages.js';
import { staleReason } from './planning/staleness.js';
import { readPubSubMessage, type PubSubMessage } from './pubsub-message.js';
import { mergeConnector } from './store/connector-document.js';
import { cutText } from './store/document-size.js';
import { connectorDocId, invalidDocId, refusedDocId } from './store/document-ids.js';
import { initialEventRecord } from './store/event-record.js';
import { alertedBy, quarantineAlertDocuments } from './store/quarantine-alert-documents.js';
import { createFirestore, EventStore, FINAL_ALERT_ACTION_ID, type ActionOutcome, type ActionRecord, type Begun, type Claim } from './store/event-store.js';
import { RunLoop } from './run-loop.js';
import type { RunOrigin } from './store/run-origin.js';
import { targetClients } from './targets/clients.js';
import type { PlannedRun, RunObservation, RunTargetClient, TargetKindName } from './targets/run-target.js';

export interface ProcessorDependencies {
  firestore?: Firestore;
  fetch?: FetchLike;
  logger?: Logger;
  now?: () => number;
  /** The run targets' clients (default: from the config; tests give stand-in token sources). */
  targets?: Map<TargetKindName, RunTargetClient>;
  /** How a batch's holder waits for it to close (a fake clock in tests). */
  sleep?: (ms: number) => Promise<void>;
}

export type SyncEventProcessor = (event: CloudEvent<unknown>) => Promise<void>;

const FINAL_ALERT = FINAL_ALERT_ACTION_ID;
/**
 * A holder acts this long after its batch's closing time has passed by Firestore's clock,
 * measured from its claim commit's time (see ORCHESTRATION.md): room for the two clocks
 * running at slightly different rates over a window.
 */
const CLOSE_MARGIN_MS = 20;

/**
 * The processor, one delivery at a time:
 *   1. start the invocation's deadline; decode the message and validate the SyncEvent;
 *   2. plan its actions from the routing file (pure);
 *   3. record the delivery, update the connector and claim every action it may perform
 *      (for a quarantined event, also create the day's alert documents it is first to
 *      report): one read and one commit; a dbt Cloud run event of a run postload started
 *      also records the run's outcome on the originating event's record there (`run-loop.ts`);
 *   4. perform the claimed dbt Cloud jobs in parallel, then the Slack messages (which
 *      wait until every job is started or failed for good), all cut to the deadline;
 *   5. settle every outcome and the event's status in one commit fenced by the claims;
 *   6. return (acknowledged) when everything is final; throw a TransientError (Pub/Sub
 *      redelivers) while something is left, with a final alert on the last delivery.
 */
export function createSyncEventProcessor(config: ProcessorConfig, deps: ProcessorDependencies = {}): SyncEventProcessor {
  const log = deps.logger ?? defaultLogger;
  const now = deps.now ?? Date.now;
  const store = new EventStore(deps.firestore ?? createFirestore(config.projectId), {
    auditCollection: config.auditCollection,
    connectorsCollection: config.connectorsCollection,
    retentionDays: config.retentionDays,
    sharedRetentionMs: sharedRetentionMs(config.retentionDays, config.routing.joins),
    leaseMs: config.leaseMs,
    timeoutMs: config.firestoreTimeoutMs,
    now,
  });
  const http = { policy: config.retry, ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  const targets = deps.targets ?? targetClients(config, http);
  const slack = new SlackClient({ ...http, allowedOrigins: config.slackWebhookOrigins });
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // One Web API client per bot token, shared by the app targets that post with it.
  const apis = new Map<string, SlackApiClient>();
  const slackApps = new Map<string, SlackAppTarget>(
    [...config.slackApps].map(([reference, app]) => {
      const api = apis.get(app.token.setting) ?? new SlackApiClient({ token: app.token, policy: config.retry, baseUrl: config.slackApiBaseUrl, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
      apis.set(app.token.setting, api);
      return [reference, { channel: app.channel, api }];
    }),
  );
  const buttonOptions = { dbt: config.dbtRetry, statusPageUrl: config.statusPageUrl };
  const alertWebhook = slackTargetOf(undefined, config.routing.config);
  // Recording after the last outbound call needs at most two Firestore round trips.
  const reserveMs = Math.min(config.firestoreTimeoutMs, Math.floor(config.outboundBudgetMs / 4));
  const settingOf = (reference: string) => config.slackWebhooks.get(reference)?.setting ?? reference;
  const orchestrationSettings = {
    jobStateCollection: config.jobStateCollection,
    joinsCollection: config.joinsCollection,
    windowMs: config.coalesceWindowMs,
    settingOf,
    alertWebhook,
    followedRunsCollection: config.followedRunsCollection,
    webhookOf: (route: string) => webhookOfRoute(config.routing, route),
  };
  const finalAlert = { actionId: FINAL_ALERT, target: settingOf(alertWebhook), fromDelivery: config.maxDeliveryAttempts };
  // Said once per instance: every message meant for the default webhook is logged instead.
  if (alertWebhook === DEFAULT_WEBHOOK && !config.slackWebhooks.has(DEFAULT_WEBHOOK)) log.warn({ setting: 'SLACK_WEBHOOK_URL' }, SLACK_NOT_CONFIGURED);

  async function processEvent(event: SyncEvent, message: PubSubMessage, ctx: ActionContext): Promise<void> {
    const stale = staleReason(event, now(), config.retentionDays);
    if (stale) return recordStale(event, message, stale, ctx);
    const plan = planFor(event, config.routing);
    const deliveryId = randomUUID();
    const quarantineKeys = quarantineAlertKeys(event, now());
    const planned: Array<PlannedAction & { target: string }> = [
      ...plan.runs.map((run) => ({ actionId: run.actionId, kind: run.actionKind, target: run.target.id })),
      ...plan.slack.map((target) => ({ actionId: target.actionId, kind: 'slack' as const, target: settingOf(target.webhook) })),
    ];
    // A dbt Cloud run event naming a run postload started: its outcome goes on the originating record in the same commit.
    const loop = RunLoop.for(event, config.auditCollection, now);
    // Issues 12 and 26: the run targets' state and the joins are read and written in the
    // claim read and commit; what a run action comes to is decided there, never by waiting
    // for another event.
    const orchestration = new EventOrchestration(event, plan, config.routing, orchestrationSettings, now);
    const shared = orchestration.request();
    const begun = await store
      .begin({
        docId: event.id,
        deliveryId,
        messageId: message.messageId,
        planned,
        initial: () => initialEventRecord(event, plan.routes),
        ...(event.connector.id ? { connector: { docId: connectorDocId(event.source, event.connector.id), merge: (existing) => mergeConnector(existing, event, now()), duplicateOf: (existing) => recoveredDuplicateOf(event, existing) } } : {}),
        ...(shared ? { shared } : {}),
        firstClaim: (actionId, connector) => incidentPlanFor(event, plan, actionId, connector),
        finalAlert,
        also: [...(loop ? [loop.document] : []), ...quarantineAlertDocuments(quarantineKeys, event.id, now())],
        deadline: ctx.deadline.total,
      })
      .catch((error: unknown) => alertUnrecorded(event, error, ctx));
    if (begun.duplicateOf) return recordDuplicate(event, message, begun.duplicateOf, deliveryId, ctx);
    const claimedAt = now();
    if (begun.connectorSkipped) ctx.log.warn({ reason: begun.connectorSkipped }, 'connector document not updated for this event');
    if (begun.finished) {
      ctx.log.info({ deliveries: begun.data.deliveries }, 'event already processed by an earlier delivery; acknowledged');
      return;
    }

    if (loop) await closeLoop(loop, begun, deliveryId, ctx);
    const quarantine = quarantineKeys.length ? quarantineVerdict(event.id, quarantineKeys, (key) => alertedBy(begun, key)) : undefined;
    if (quarantine) {
      const said = quarantine.alertCodes.length ? `alerting ${quarantine.alertCodes.join(', ')}` : `already alerted today by ${quarantine.alreadyAlertedBy.join(', ')}`;
      ctx.log.warn({ problemCodes: quarantineKeys.map((key) => key.code), ...quarantine }, `quarantined event recorded: postload could not interpret it; ${said}`);
    }
    const outcomes = await performActions(event, loop ? loop.plan(plan) : plan, orchestration, begun, ctx, { origin: loop?.origin, quarantine, claimedAt });
    const ids = [...begun.claims.keys()].filter((id) => id !== FINAL_ALERT);
    const status = await store.settle(
      begun,
      deliveryId,
      outcomes,
      (actions) => eventStatus(ids.map((id) => actions[id]?.status ?? 'waiting')),
      ctx.deadline.total,
      (ours) => ({ ...orchestration.settleMerges(ours), lasting: incidentMerges(event, ours) }),
    );
    const fields = { status, routes: plan.routes, actions: Object.fromEntries([...outcomes].map(([id, o]) => [id, o.status])), ...(begun.data.joins ? { joins: begun.data.joins } : {}) };
    if (status === 'retrying') {
      const left = ids.filter((id) => !isFinal(stateAfter(begun, outcomes, id))).map((id) => `${id} (${lastErrorOf(begun, outcomes, id) ?? 'waiting for the jobs it reports'})`);
      throw new TransientError(`event ${event.id} is not done yet: ${left.join('; ')}`, { system: 'postload' });
    }
    ctx.log.info(fields, `event ${status}`);
  }

  /**
   * The late webhook of a sync the sweep already recovered (issue 27): recorded, with the
   * recovered event it duplicates, and nothing else, since routes, joins and dbt runs already
   * followed the recovered event. Costs one more read than an event, and only such an event pays it.
   */
  async function recordDuplicate(event: SyncEvent, message: PubSubMessage, duplicateOf: string, deliveryId: string, ctx: ActionContext): Promise<void> {
    const begun = await store.begin({
      docId: event.id,
      deliveryId,
      messageId: message.messageId,
      planned: [],
      initial: () => ({ ...initialEventRecord(event, []), duplicateOf }),
      ...(event.connector.id ? { connector: { docId: connectorDocId(event.source, event.connector.id), merge: (existing) => mergeConnector(existing, event, now(), duplicateOf) } } : {}),
      deadline: ctx.deadline.total,
    });
    if (!begun.finished) await store.settle(begun, deliveryId, new Map(), () => 'processed', ctx.deadline.total);
    ctx.log.info({ duplicateOf }, 'late webhook of a sync already recovered by reconciliation: recorded as its duplicate, nothing started');
  }

  /**
   * After the claim commit of a dbt Cloud run event: a run whose originating dbt action has
   * no run id yet (the webhook overtook the trigger's answer) waits for it, releasing this
   * delivery's claims, until the last delivery; a linked run's load connector gets its
   * `latestTransformation` (best effort: a second, small preconditioned write, only when the outcome changed).
   */
  async function closeLoop(loop: RunLoop, begun: Begun, deliveryId: string, ctx: ActionContext): Promise<void> {
    const { link, report } = loop;
    const fields = { originEventId: report.originEventId, runId: report.runId, jobId: report.jobId, link: link.kind };
    if (link.kind === 'pending' && begun.messageDeliveries < config.maxDeliveryAttempts) {
      const released = new Map<string, ActionOutcome>([...begun.claims].filter(([, c]) => c.decision.decision === 'claim').map(([id]) => [id, { status: 'waiting' }]));
      await store.settle(begun, deliveryId, released, () => 'retrying', ctx.deadline.total);
      throw new TransientError(`dbt Cloud run ${report.runId} names event ${report.originEventId}, whose ${link.actionId} has no run id recorded yet; waiting for it`, { system: 'postload' });
    }
    if (link.kind !== 'linked') {
      ctx.log.info({ ...fields, reason: link.kind === 'pending' ? 'the originating dbt action never recorded a run id' : link.reason }, 'dbt Cloud run not verified as one postload started; routed like any run');
      return;
    }
    if (loop.skipped) ctx.log.error({ ...fields, actionId: link.actionId, reason: loop.skipped }, 'dbt Cloud run outcome not recorded on the load that started it');
    else ctx.log.info({ ...fields, actionId: link.actionId, status: report.outcome.status, recorded: loop.recorded }, 'dbt Cloud run outcome recorded on the load that started it');
    const connector = loop.connectorLink();
    if (connector) {
      await store.updateConnector(connector.docId, connector.merge, ctx.deadline.total).catch((error: unknown) => {
        ctx.log.warn({ ...fields, err: describeError(error) }, 'the load connector\'s latestTransformation was not updated');
      });
    }
  }

  /**
   * An audit record that can never be written (never expected: sizes are measured and cut
   * first) must not acknowledge the event silently: it is alerted, without a claim, and
   * acknowledged only once the alert is out; a transient failure is rethrown as it is.
   */
  /**
   * Where an event's app message goes (planning/slack-incident.ts), decided when its action
   * is first claimed and kept on its record (null: decided, no incident). Webhook targets
   * and events without a connector have none.
   */
  function incidentPlanFor(event: SyncEvent, plan: RoutePlan, actionId: string, connector: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    const target = plan.slack.find((t) => t.actionId === actionId);
    const app = target && slackApps.has(target.webhook) ? appTargetOf(target.webhook) : undefined;
    if (!app) return undefined;
    return { incidentPlan: (app && event.connector.id ? planIncident(event.type, connector, app.channel) : undefined) ?? null };
  }

  /** The recorded plan as a step; a success whose dbt jobs failed is an alert, not a recovery (stable: the jobs were settled). */
  function incidentStep(event: SyncEvent, plan: IncidentPlan | null | undefined, anyJobFailed: boolean): AppIncidentStep | undefined {
    if (!plan) return undefined;
    if (plan.change !== 'closed') return plan;
    if (anyJobFailed) return undefined;
    return { change: 'closed', ts: plan.ts, recovered: renderIncidentRecovered(event, plan.failedAt, plan.failedEventId) };
  }

  /** The connector document's incidents after this delivery's app messages: written with the outcomes, never expiring. */
  function incidentMerges(event: SyncEvent, ours: Map<string, ActionOutcome>): Map<string, Record<string, unknown>> | undefined {
    if (!event.connector.id) return undefined;
    const changes = [...ours.values()].flatMap((o) =>
      o.status === 'succeeded' && o.incident ? [{ ...o.incident, incident: { ts: o.incident.ts, eventId: event.id, type: event.type, occurredAt: event.occurredAt } }] : [],
    );
    const fields = incidentMerge(changes, FieldValue.delete());
    return fields && new Map([[store.connectorRef(connectorDocId(event.source, event.connector.id)).path, fields]]);
  }

  async function alertUnrecorded(event: SyncEvent, error: unknown, ctx: ActionContext): Promise<never> {
    if (classifyError(error) === 'transient') throw error;
    const reason = describeError(error);
    const sent = await performSlack('unrecorded-alert', alertWebhook, renderUnrecordedAlert(event, reason), ctx, { docId: event.id, claim: undefined });
    if (sent.status !== 'succeeded' || sent.sent === false) {
      throw new TransientError(`the audit record cannot be written (${reason}) and the alert about it did not go out`, { system: 'postload' });
    }
    throw new PermanentError(`the audit record cannot be written: ${reason}; alerted in Slack, acknowledged`, { system: 'Firestore' });
  }

  /**
   * A batch's holder (issue 26): once the batch has closed by Firestore's clock, look at the
   * target once (the runs that could absorb the batch), decide, and start a run only if
   * none can. Every event whose claim read saw the batch open is covered by this decision:
   * their reads came before the close, the look and any new run after it.
   */
  async function performHeld(event: SyncEvent, run: PlannedRun, verdict: Extract<ClaimVerdict, { kind: 'hold' }>, orchestration: EventOrchestration, begun: Begun, claim: Claim, claimedAt: number, ctx: ActionContext): Promise<ActionOutcome> {
    const requests: AttemptRecord[] = [];
    const closesInMs = Date.parse(verdict.batch.closesAt) - begun.writeTime.toMillis() + CLOSE_MARGIN_MS - (now() - claimedAt);
    if (closesInMs > 0) {
      if (closesInMs > ctx.deadline.outbound.remainingMs()) {
        return { status: 'retry', error: `the batch closes at ${verdict.batch.closesAt}, after this invocation's deadline`, httpStatus: null, notBeforeMs: null, uncertain: false, requests };
      }
      await sleep(closesInMs);
    }
    const { lease, runLog } = orchestration.targetDocs(run.target);
    const retry = claim.decision.decision === 'claim' && claim.decision.checkFirst;
    const input: BatchInputs = { eventId: event.id, policy: run.policy, limits: run.limits, fingerprint: run.fingerprint, batch: verdict.batch, lease, runLog, retry, cap: verdict.cap, nowMs: now(), startsAtOnce: run.startsAtOnce === true };
    const ask = observationFor(input);
    let observed: RunObservation | 'unavailable' | undefined;
    if (ask) {
      try {
        observed = await targetClient(run, ctx).observe(run.target, ask, { deadline: ctx.deadline.outbound, attempts: requests });
      } catch (error) {
        ctx.log.warn({ target: run.label, err: describeError(error) }, `${run.label}: could not look at its runs; starting a new run rather than merging into one not confirmed waiting`);
        observed = 'unavailable';
      }
    }
    const decision = decideBatch({ ...input, nowMs: now() }, observed);
    const fields = { target: run.label, batch: verdict.batch, decision: decision.kind };
    switch (decision.kind) {
      case 'adopt':
      case 'trigger':
        return performRun(event, run, claim, ctx, requests);
      case 'coalesce':
      case 'skip': {
        const busy: BusyNote = { outcome: decision.kind === 'coalesce' ? 'coalesced' : 'skipped', runId: decision.runId, runStatus: decision.status };
        ctx.log.info({ ...fields, runId: decision.runId, status: decision.status }, `${run.label}: batch ${busy.outcome} ${decision.kind === 'coalesce' ? 'into' : 'for'} run ${decision.runId}`);
        return { status: 'succeeded', busy, requests };
      }
      case 'defer': {
        const busy: BusyNote = { outcome: 'deferred', runId: decision.runId, runStatus: decision.status };
        ctx.log.info({ ...fields, runId: decision.runId, status: decision.status }, `${run.label}: batch deferred until run ${decision.runId} ends`);
        return { status: 'succeeded', busy, requests };
      }
      case 'capped': {
        const busy: BusyNote = { outcome: 'capped', cap: decision.cap.cap, reason: decision.cap.reason, until: decision.cap.until };
        ctx.log.warn({ ...fields, ...decision.cap }, `${run.label}: run cap reached; no run started for this batch`);
        return { status: 'succeeded', busy, requests };
      }
    }
  }

  /** Step 4: the runs in parallel, then each message once the runs it reports are settled, then (last delivery only) the final alert. */
  async function performActions(
    event: SyncEvent,
    plan: RoutePlan,
    orchestration: EventOrchestration,
    begun: Begun,
    ctx: ActionContext,
    { origin, quarantine, claimedAt }: { origin?: RunOrigin | undefined; quarantine?: QuarantineVerdict | undefined; claimedAt: number },
  ): Promise<Map<string, ActionOutcome>> {
    const outcomes = new Map<string, ActionOutcome>();
    const claimed = (id: string) => begun.claims.get(id)?.decision.decision === 'claim';
    const delivery = (actionId: string) => ({ docId: event.id, claim: begun.claims.get(actionId) });
    const allRuns = orchestration.runs;
    const runs = allRuns.filter((run) => claimed(run.actionId));
    // Each of these never throws and every call inside is cut to the deadline: allSettled
    // waits for all of them, so nothing outlives the invocation.
    const settled = await Promise.allSettled(
      runs.map((run) => {
        const claim = begun.claims.get(run.actionId)!;
        const verdict = orchestration.verdict(run.actionId);
        if (verdict?.kind === 'hold') return performHeld(event, run, verdict, orchestration, begun, claim, claimedAt, ctx).catch((error: unknown) => failureOutcome(run.actionId, error, [], ctx));
        return performRun(event, run, claim, ctx);
      }),
    );
    settled.forEach((result, i) => {
      outcomes.set(runs[i]!.actionId, result.status === 'fulfilled' ? result.value : { status: 'retry', error: describeError(result.reason), httpStatus: null, notBeforeMs: null, uncertain: true, requests: [] });
    });

    const reports = allRuns.map((run) => reportFor(run, recordOf(begun, run.actionId), outcomes.get(run.actionId), new Date(now())));
    const jobsSettled = allRuns.every((run) => isFinal(stateAfter(begun, outcomes, run.actionId)));
    const anyJobFailed = reports.some((r) => r.state === 'failed');
    for (const target of plan.slack.filter((t) => claimed(t.actionId))) {
      if (!jobsSettled) outcomes.set(target.actionId, { status: 'waiting' });
      // A quarantine alert goes out whatever notify says, once a day per problem (see planning/quarantine-alerts.ts).
      else if (quarantine && !quarantine.alertCodes.length) outcomes.set(target.actionId, { status: 'succeeded', sent: false, alreadyAlertedBy: quarantine.alreadyAlertedBy, requests: [] });
      else if (quarantine) outcomes.set(target.actionId, await performSlack(target.actionId, target.webhook, renderQuarantineAlert(event, quarantine.alertCodes), ctx, delivery(target.actionId)));
      else {
        const incident = incidentStep(event, recordOf(begun, target.actionId)?.incidentPlan, anyJobFailed);
        const closing = incident?.change === 'closed';
        // A success the route does not notify is still said when it ends an incident: in its thread.
        if (!target.notify && !anyJobFailed && !closing) outcomes.set(target.actionId, { status: 'succeeded', sent: false, requests: [] });
        else {
          const message = renderEventMessage(event, reports, { links: config.slackLinks, alert: !target.notify && !closing, ...(origin ? { origin } : {}) });
          outcomes.set(target.actionId, await performSlack(target.actionId, target.webhook, message, ctx, { ...delivery(target.actionId), buttons: eventButtons(event, buttonOptions), ...(incident ? { incident } : {}) }));
        }
      }
    }
    for (const join of orchestration.messages.filter((m) => claimed(m.actionId))) {
      const message = joinMessage(join, allRuns, begun, outcomes, config.slackLinks);
      if (message === 'not-notified') outcomes.set(join.actionId, { status: 'succeeded', sent: false, requests: [] });
      else outcomes.set(join.actionId, message ? await performSlack(join.actionId, join.webhook, message, ctx, delivery(join.actionId)) : { status: 'waiting' });
    }
    // The day's run-cap alert for a target, owned by this event since its claim (issue 25 finding 6).
    for (const alert of orchestration.capAlerts.filter((a) => claimed(a.actionId))) {
      outcomes.set(alert.actionId, await performSlack(alert.actionId, alert.webhook, renderCapAlert(event, alert.run.label, alert.cap), ctx, delivery(alert.actionId)));
    }

    if (claimed(FINAL_ALERT)) {
      const unfinished = [...allRuns.map((r) => r.actionId), ...plan.slack.map((s) => s.actionId), ...orchestration.messages.map((m) => m.actionId), ...orchestration.capAlerts.map((a) => a.actionId)]
        .filter((id) => !isFinal(stateAfter(begun, outcomes, id)))
        .map((id) => ({ actionId: id, target: recordOf(begun, id)?.target ?? id, lastError: lastErrorOf(begun, outcomes, id) }));
      outcomes.set(
        FINAL_ALERT,
        unfinished.length ? await performSlack(FINAL_ALERT, alertWebhook, renderFinalAlert(event, unfinished, begun.messageDeliveries), ctx, delivery(FINAL_ALERT)) : { status: 'waiting' },
      );
    }
    return outcomes;
  }

  /**
   * A stale event (planning/staleness.ts): recorded with why, and nothing else: no dbt job,
   * no join, no Slack message, not even an alert (a flood of replays stays quiet; the log
   * line says it). A stale copy of an event already recorded changes nothing.
   */
  async function recordStale(event: SyncEvent, message: PubSubMessage, reason: string, ctx: ActionContext): Promise<void> {
    const deliveryId = randomUUID();
    const begun = await store.begin({
      docId: event.id,
      deliveryId,
      messageId: message.messageId,
      planned: [],
      initial: () => ({ ...initialEventRecord(event, []), stale: reason }),
      deadline: ctx.deadline.total,
    });
    if (begun.finished || begun.data.stale === undefined) {
      ctx.log.info({ reason }, 'stale copy of an event already recorded; nothing done');
      return;
    }
    await store.settle(begun, deliveryId, new Map(), () => 'processed', ctx.deadline.total);
    ctx.log.warn({ reason }, 'stale event recorded: nothing started, nothing alerted');
  }

  /** A message that is not a valid SyncEvent: recorded under its message id and alerted, every one (only a bug in a publisher makes one). */
  function dropInvalid(message: PubSubMessage, error: InvalidSyncEventError, ctx: ActionContext): Promise<void> {
    const report = (log: Logger) => log.error({ problems: error.problems }, `${error.message}; recorded and acknowledged`);
    return dropMessage(message, { kind: 'invalid', docId: invalidDocId, problems: error.problems, report, alert: renderInvalidMessage(message.messageId, error.problems) }, ctx);
  }

  /**
   * A message postload did not sign: never acted on, recorded under its message id, logged
   * at ERROR, and alerted once per UTC day per problem (a flood of forged messages is one
   * alert, through the same day documents as quarantine alerts).
   */
  function dropRefused(message: PubSubMessage, verdict: Extract<SignatureVerdict, { verdict: 'refused' }>, ctx: ActionContext): Promise<void> {
    const alertKey: QuarantineAlertKey = { day: utcDay('', now()), source: 'pubsub', vendorEvent: 'unsigned message', code: verdict.problem };
    return dropMessage(
      message,
      {
        kind: 'refused',
        docId: refusedDocId,
        problems: [{ field: 'attributes.postloadSignature', message: verdict.message }],
        // Stable text: the Cloud Monitoring alert in terraform/signing.tf matches it.
        report: (log) => log.error({ problem: verdict.problem }, `refused a Pub/Sub message that postload did not sign (${verdict.problem}); recorded and acknowledged, nothing started`),
        alert: renderRefusedMessage(message.messageId, verdict.problem, verdict.message, message.attributes),
        alertKey,
      },
      ctx,
    );
  }

  /** Records a message the processor will never act on (its own document, never a shared one), then sends its alert. */
  async function dropMessage(message: PubSubMessage, dropped: DroppedMessage, ctx: ActionContext): Promise<void> {
    // Every message gets its own record, even one that has no id (never a shared document).
    const docId = dropped.docId(message.messageId === 'unknown' ? `unknown-${randomUUID()}` : message.messageId);
    const deliveryId = randomUUID();
    const actionId = slackActionId(alertWebhook);
    const begun = await store.begin({
      docId,
      deliveryId,
      messageId: message.messageId,
      planned: [{ actionId, kind: 'slack', target: settingOf(alertWebhook) }],
      initial: () => ({ kind: dropped.kind, messageId: message.messageId, problems: dropped.problems.slice(0, 50), data: cutText(message.data?.toString('utf8') ?? '', 256_000), attributes: message.attributes }),
      ...(dropped.alertKey ? { also: quarantineAlertDocuments([dropped.alertKey], docId, now()) } : {}),
      deadline: ctx.deadline.total,
    });
    dropped.report(ctx.log);
    if (begun.finished) return;
    const outcomes = new Map<string, ActionOutcome>();
    if (begun.claims.get(actionId)?.decision.decision === 'claim') {
      const alertedFirst = dropped.alertKey ? alertedBy(begun, dropped.alertKey) : undefined;
      outcomes.set(
        actionId,
        alertedFirst !== undefined && alertedFirst !== docId
          ? { status: 'succeeded', sent: false, alreadyAlertedBy: [alertedFirst], requests: [] }
          : await performSlack(actionId, alertWebhook, dropped.alert, ctx, { docId, claim: begun.claims.get(actionId) }),
      );
    }
    const status = await store.settle(begun, deliveryId, outcomes, (actions) => (isFinal(actions[actionId]?.status) ? 'invalid' : 'retrying'), ctx.deadline.total);
    if (status === 'retrying') throw new TransientError(`the alert about ${dropped.kind} message ${message.messageId} is not sent yet`, { system: 'Slack' });
  }

  return async function processSyncEvent(cloudEvent: CloudEvent<unknown>): Promise<void> {
    const deadline = startDeadline(config.outboundBudgetMs, reserveMs);
    const message = readPubSubMessage(cloudEvent);
    let eventLog = log.child({ messageId: message.messageId });
    const ctx = (l: Logger): ActionContext => ({ targets, slack, slackWebhooks: config.slackWebhooks, slackApps, slackFallbackWebhook: config.slackFallbackWebhook, deadline, log: l, now });
    try {
      // Before anything is read from the data: only a message postload signed is acted on.
      const signature = await verifySyncEventSignature(message.data ?? Buffer.alloc(0), message.attributes, config.signingKey, { publishedAtMs: message.publishedAtMs });
      if (signature.verdict === 'unsure') throw new TransientError(`message ${message.messageId}: ${signature.message}`, { system: 'postload' });
      if (signature.verdict === 'refused') return await dropRefused(message, signature, ctx(eventLog));
      let event: SyncEvent;
      try {
        if (!message.data) throw new InvalidSyncEventError([{ field: '', message: 'is missing: the Pub/Sub message has no data' }]);
        event = decodeSyncEvent(message.data);
      } catch (error) {
        if (error instanceof InvalidSyncEventError) return await dropInvalid(message, error, ctx(eventLog));
        throw error;
      }
      eventLog = eventLog.child({ eventId: event.id, source: event.source, type: event.type, connectorId: event.connector.id });
      await processEvent(event, message, ctx(eventLog));
    } catch (error) {
      if (classifyError(error) === 'transient') {
        eventLog.warn({ err: describeError(error) }, 'transient failure; throwing so that Pub/Sub redelivers');
        throw error;
      }
      // A permanent failure to record (never expected: sizes are checked and cut first)
      // must not acknowledge silently: it is an error in the logs and, where Slack works, an alert.
      eventLog.error({ err: describeError(error) }, 'permanent failure; acknowledged');
    }
  };
}

/** A message the processor records and alerts but never acts on. */
interface DroppedMessage {
  /** The record's `kind`: `invalid` (not a SyncEvent) or `refused` (not signed by postload). */
  kind: 'invalid' | 'refused';
  docId: (messageId: string) => string;
  problems: Array<{ field: string; message: string }>;
  /** Logs its ERROR line (stable text an alert policy can match). */
  report: (log: Logger) => void;
  alert: SlackMessage;
  /** Alert once per day and key (absent: alert every one). */
  alertKey?: QuarantineAlertKey;
}

function recordOf(begun: Begun, id: string): ActionRecord | undefined {
  return (begun.data.actions as Record<string, ActionRecord> | undefined)?.[id];
}

/** An action's status after this delivery: its outcome if it performed it, else what is recorded. */
function stateAfter(begun: Begun, outcomes: Map<string, ActionOutcome>, id: string): ActionStatus {
  const outcome = outcomes.get(id);
  if (outcome) return outcome.status;
  // As this delivery's begin left it: an action covered, coalesced or capped there is final already.
  return recordOf(begun, id)?.status ?? 'waiting';
}

function lastErrorOf(begun: Begun, outcomes: Map<string, ActionOutcome>, id: string): string | null {
  const outcome = outcomes.get(id);
  if (outcome && 'error' in outcome) return outcome.error;
  const decision = begun.claims.get(id)?.decision;
  if (decision?.decision === 'deferred') return `waiting until ${new Date(decision.notBeforeMs).toISOString()} as the service asked (Retry-After)`;
  if (decision?.decision === 'busy') return 'held by another delivery';
  return recordOf(begun, id)?.lastError ?? null;
}

/** A join's Slack message, once what it reports is known (the firing waits for its run's outcome). */
function joinMessage(action: JoinMessageAction, runs: PlannedRun[], begun: Begun, outcomes: Map<string, ActionOutcome>, links: LinkPolicy): SlackMessage | 'not-notified' | undefined {
  const now = new Date();
  if (action.kind === 'waiting') {
    const [first] = action.note.failures ?? [];
    return first ? joinWaitingMessage(action.join.name, first.upstream, first.failure, now) : undefined;
  }
  if (!action.note.firing || !isFinal(stateAfter(begun, outcomes, action.jobActionId))) return undefined;
  const record = recordOf(begun, action.jobActionId);
  const outcome = outcomes.get(action.jobActionId);
  const busy = (outcome?.status === 'succeeded' ? outcome.busy : undefined) ?? record?.busy;
  const label = runs.find((r) => r.actionId === action.jobActionId)?.label ?? action.join.label;
  let run: JoinRunReport;
  if (outcome?.status === 'succeeded' && outcome.runId !== undefined) run = { label, outcome: 'triggered', runId: outcome.runId, href: outcome.runHref ?? null };
  else if (outcome?.status === 'failed') run = { label, outcome: 'failed', error: outcome.error };
  else if (busy) {
    const note = busy as BusyNote;
    run = { label, outcome: note.outcome, busy: note, ...('runId' in note ? { runId: note.runId } : {}) };
  }
  else if (record?.status === 'succeeded' && record.runId != null) run = { label, outcome: 'triggered', runId: record.runId, href: record.runHref ?? null };
  else run = { label, outcome: 'failed', error: record?.lastError ?? 'failed' };
  if (!firingNotified(action.join, run.outcome)) return 'not-notified';
  return joinFiredMessage(action.join.name, action.note.firing, run, links);
}

function reportFor(run: PlannedRun, previous: ActionRecord | undefined, outcome: ActionOutcome | undefined, now: Date): DbtJobReport {
  const report = reportOf(run, previous, outcome, now);
  return { ...report, kind: run.target.kind };
}

function reportOf(run: PlannedRun, previous: ActionRecord | undefined, outcome: ActionOutcome | undefined, now: Date): DbtJobReport {
  const jobId = run.target.id;
  const busy = (outcome?.status === 'succeeded' ? outcome.busy : undefined) ?? (!outcome ? previous?.busy : undefined);
  if (busy) {
    const note = busyLine(run.label, busy as BusyNote, now);
    return { jobId, label: run.label, state: (busy as BusyNote).outcome, note };
  }
  const state = outcome ?? (previous && { ...previous, error: previous.lastError ?? 'failed' });
  if (state?.status === 'succeeded') return { jobId, label: run.label, state: 'started', ...(state.runId == null ? {} : { runId: state.runId }), href: state.runHref ?? null };
  if (state?.status === 'failed') return { jobId, label: run.label, state: 'failed', error: 'error' in state ? String(state.error) : 'failed' };
  if (state?.status === 'retry') return { jobId, label: run.label, state: 'retrying', error: 'error' in state ? String(state.error) : '' };
  return { jobId, label: run.label, state: 'in-progress' };
}
