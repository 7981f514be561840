import type { Request, Response } from '@google-cloud/functions-framework';
import type { Firestore } from '@google-cloud/firestore';
import type { Logger } from 'pino';
import { defaultFetch, deadlineIn, type Deadline, type FetchLike } from '../../processor/clients/http-retry.js';
import { SlackApiClient } from '../../processor/clients/slack-api.js';
import { postExactlyOnce } from '../../processor/clients/slack-app.js';
import { escape } from '../../processor/clients/slack-message.js';
import { webhookProblem } from '../../processor/clients/slack.js';
import { createFirestore } from '../../processor/store/event-store.js';
import { answerJson } from '../../shared/json-response.js';
import { readButton, type ButtonAction } from '../../shared/slack-buttons.js';
import { checkSlackSignature, SLACK_MAX_AGE_SECONDS, SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER } from '../../shared/slack-signature.js';
import { DbtCloudAdminClient } from '../../vendors/dbt-cloud.js';
import { authenticate, type Asked } from '../authenticate.js';
import type { IngestConfig } from '../config.js';
import { HttpError } from '../http-error.js';
import { SlackAccess } from './access.js';
import { EffectRefused, EffectUnavailable, performEffect } from './effects.js';
import { ActionLedger, type LedgerRecord, type SlackUserRef } from './ledger.js';
import { readPayload, type ActionPayload } from './payload.js';

// POST /slack/actions: the Slack app's buttons. Loaded on the first press (the webhook
// path never loads it). In order:
//   1. Slack's signature over the raw bytes (constant time), refused (401) when missing,
//      wrong or more than five minutes old, before anything in the body is read;
//   2. the payload; a link button needs nothing; a button postload does not know gets a
//      polite ephemeral answer and no effect;
//   3. the user must be allowed (SLACK_ACTION_USERS, SLACK_ACTION_GROUPS), else a polite
//      ephemeral answer and no effect;
//   4. the ledger (ledger.ts) claims the action by its id: done once, however often pressed;
//   5. the effect (effects.ts), then the record, an ephemeral answer to the person, and a
//      note in the message's thread for everyone (with the bot token).
// Slack wants its answer within 3 seconds: each step is cut to a budget and Slack is answered
// 200 with no body; what happened goes to the response_url, which stays valid for 30 minutes,
// so a cold instance that answers late still tells the person.

/** Time for the access check, and then for the effect: Slack gives the whole answer 3 s. */
const WORK_BUDGET_MS = 2_500;
/** A claim not settled within this (an instance killed mid-way) may be taken over by the next press. */
const LEASE_MS = 30_000;

export interface SlackActionsDependencies {
  logger: Logger;
  firestore?: Firestore;
  fetch?: FetchLike;
  now?: () => number;
}

export type SlackActionsRoute = (req: Request, res: Response, raw: Buffer, where: Record<string, unknown>) => Promise<void>;

export function createSlackActionsRoute(config: IngestConfig, deps: SlackActionsDependencies): SlackActionsRoute {
  const settings = config.slack;
  const log = deps.logger;
  const now = deps.now ?? Date.now;
  const fetch = deps.fetch ?? defaultFetch;
  const policy = { callTimeoutMs: 1_500, minDelayMs: 100, maxDelayMs: 400, maxAttempts: 2 };
  const api = settings.botToken.configured ? new SlackApiClient({ token: settings.botToken, policy, baseUrl: settings.apiBaseUrl, fetch }) : undefined;
  const access = new SlackAccess(settings.allowedUsers, settings.allowedGroups, api, now);
  let db: Firestore | undefined;
  const ledger = () => new ActionLedger((db ??= deps.firestore ?? createFirestore(config.projectId)), { collection: settings.auditCollection, leaseMs: LEASE_MS, retentionDays: settings.retentionDays, now });
  const dbt = settings.dbt ? { client: new DbtCloudAdminClient({ baseUrl: settings.dbt.baseUrl, token: settings.dbt.token, timeoutMs: 2_000, fetch }), accountId: settings.dbt.accountId } : undefined;

  /** An ephemeral answer to the person who pressed (docs.slack.dev/interactivity/handling-user-interaction#message_responses). */
  async function respond(payload: ActionPayload, text: string, fields: Record<string, unknown>): Promise<void> {
    const url = payload.responseUrl;
    const problem = url === undefined ? 'the payload has no response_url' : webhookProblem(url, settings.responseOrigins);
    if (problem) {
      log.warn({ ...fields, problem }, 'Slack action: no answer sent to the person who pressed');
      return;
    }
    const deadline = deadlineIn(1_500);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), deadline.remainingMs());
    try {
      const response = await fetch(url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
        signal: controller.signal,
      });
      await response.text();
      if (response.status >= 300) log.warn({ ...fields, status: response.status }, 'Slack action: the answer to the person who pressed was refused');
    } catch (error) {
      log.warn({ ...fields, err: (error as Error).name }, 'Slack action: the answer to the person who pressed did not go out');
    } finally {
      clearTimeout(timer);
    }
  }

  /** The action's outcome in the message's thread, for everyone in the channel: once, like every app message. */
  async function noteInThread(payload: ActionPayload, docId: string, attempt: number, pressedAt: number, text: string, deadline: Deadline, fields: Record<string, unknown>): Promise<void> {
    const root = payload.threadTs ?? payload.messageTs;
    if (!api || !payload.channel || !root) return;
    try {
      await postExactlyOnce(api, payload.channel, { text, blocks: [] }, { key: { key: `${docId}/note`, kind: 'action-note' }, threadTs: root, checkFirst: attempt > 1, since: new Date(pressedAt), deadline, attempts: [] });
    } catch (error) {
      log.warn({ ...fields, err: (error as Error).message }, 'Slack action: the note in the thread was not posted');
    }
  }

  return async (req, res, raw, where) => {
    let fields: Record<string, unknown> = { ...where };
    try {
      await verify(raw, req, now());
      const payload = readPayload(raw);
      const user: SlackUserRef = payload.user;
      fields = { ...fields, slackUser: user.id, slackTeam: user.teamId, channel: payload.channel };
      const button = payload.type === 'block_actions' && payload.action ? readButton(payload.action.actionId, payload.action.value, payload.action.url) : undefined;
      // A link button opens its page in the browser; Slack tells the app anyway and wants a 200.
      if (button?.kind === 'link') return answered(res);
      if (!button || button.kind === 'unknown') {
        log.info({ ...fields, type: payload.type, reason: button?.reason ?? `a ${payload.type} payload` }, 'Slack action ignored: not a postload button');
        await respond(payload, `Sorry, postload does not know what to do with this (${escape(button?.reason ?? `a ${payload.type} interaction`)}). Nothing was done.`, fields);
        return answered(res);
      }
      const { action, actionId } = button;
      fields = { ...fields, action: action.kind, actionId };
      const deadline = deadlineIn(WORK_BUDGET_MS);
      const verdict = await access.verdict(user.id, deadline);
      if (verdict !== 'allowed') {
        log.warn({ ...fields, verdict }, 'Slack action refused: the user may not use postload buttons');
        await respond(
          payload,
          verdict === 'cannot-tell'
            ? 'Sorry, postload could not check whether you may use its buttons (it could not read the user groups named in SLACK_ACTION_GROUPS). Nothing was done; please try again in a minute.'
            : 'Sorry, you are not among the people who may use postload’s buttons (SLACK_ACTION_USERS and SLACK_ACTION_GROUPS in its settings). Nothing was done; ask whoever runs postload to add you.',
          fields,
        );
        return answered(res);
      }
      const book = ledger();
      const claim = await book.claim(actionId, action, user, { channel: payload.channel, messageTs: payload.messageTs });
      if (claim.kind !== 'perform') {
        log.info({ ...fields, status: claim.record.status, firstBy: claim.record.by.id }, 'Slack action already handled; nothing done again');
        await respond(payload, alreadyHandled(claim.kind, claim.record), fields);
        return answered(res);
      }
      let text: string;
      try {
        // Its own budget: the claim's first Firestore call on a cold instance must not eat the effect's time.
        const done = await performEffect(action, { db: db!, freshnessCollection: settings.freshnessCollection, now, dbt, by: user, deadline: deadlineIn(WORK_BUDGET_MS) });
        await book.settle(claim.docId, { status: 'succeeded', summary: done.summary, result: done.result });
        log.info({ ...fields, attempt: claim.attempt, result: done.result }, 'Slack action performed');
        text = `Done: ${escape(done.summary)}.`;
        await noteInThread(payload, claim.docId, claim.attempt, claim.pressedAt, `<@${user.id}> ${escape(done.summary)}.`, deadlineIn(WORK_BUDGET_MS), fields);
      } catch (error) {
        if (error instanceof EffectRefused) {
          await book.settle(claim.docId, { status: 'failed', summary: `could not ${describe(action)}`, error: error.message });
          log.error({ ...fields, err: error.message }, 'Slack action refused by the service it acts on; recorded as failed');
          text = `postload could not ${escape(describe(action))}: ${escape(error.message)}. Nothing was done.`;
        } else {
          const message = error instanceof EffectUnavailable ? error.message : `unexpected error (${(error as Error).message})`;
          await book.settle(claim.docId, { status: 'released', error: message }).catch(() => undefined);
          log.warn({ ...fields, err: message }, 'Slack action not done this time; the next press tries again');
          text = `postload could not ${escape(describe(action))} just now: ${escape(message)}. Nothing was done; press the button again to retry.`;
        }
      }
      await respond(payload, text, fields);
      answered(res);
    } catch (error) {
      if (!(error instanceof HttpError)) {
        log.error({ ...fields, err: (error as Error).message, status: 500 }, 'Slack action failed unexpectedly');
        answerJson(res, 500, { error: 'internal', message: 'unexpected error' });
        return;
      }
      if (error.status >= 500) log.error({ ...fields, status: error.status, error: error.code, cause: (error.cause as Error | undefined)?.message }, error.message);
      else log.warn({ ...fields, status: error.status, error: error.code }, `Slack action refused: ${error.message}`);
      answerJson(res, error.status, error.body(), error.headers);
    }
  };

  /** Slack's signature, before anything in the body is read: stale first (no HMAC for a replay), then every enabled secret version. */
  async function verify(raw: Buffer, req: Request, nowMs: number): Promise<void> {
    const timestamp = req.get(SLACK_TIMESTAMP_HEADER);
    const signature = req.get(SLACK_SIGNATURE_HEADER);
    if (timestamp && /^\d{1,12}$/.test(timestamp.trim()) && Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_MAX_AGE_SECONDS) {
      throw new HttpError(401, 'stale_request', `the /slack/actions endpoint refuses requests signed more than ${SLACK_MAX_AGE_SECONDS / 60} minutes away from now (X-Slack-Request-Timestamp): a replay, or a clock far off`);
    }
    const waiting = authenticate(
      '/slack/actions',
      settings.signingSecret,
      (secrets) => {
        const result = checkSlackSignature(raw, timestamp, signature, secrets, nowMs);
        return result === 'stale' ? 'mismatch' : result;
      },
      slackRefusal,
      req as unknown as Asked,
    );
    if (waiting) await waiting;
  }
}

function slackRefusal(result: 'missing' | 'malformed' | 'mismatch'): string {
  switch (result) {
    case 'missing':
      return 'the /slack/actions endpoint needs X-Slack-Signature and X-Slack-Request-Timestamp, which Slack sends with every interactivity request';
    case 'malformed':
      return 'the /slack/actions endpoint: X-Slack-Signature must be v0= and a 64-character hex HMAC-SHA256, X-Slack-Request-Timestamp Unix seconds';
    case 'mismatch':
      return "the /slack/actions endpoint: X-Slack-Signature does not match the body signed with SLACK_SIGNING_SECRET: the app's Signing Secret (Basic Information) and the setting differ";
  }
}

function answered(res: Response): void {
  res.writeHead(200, { 'content-length': '0' });
  res.end();
}

function describe(action: ButtonAction): string {
  switch (action.kind) {
    case 'retry-run':
      return `retry dbt Cloud run ${action.runId}`;
    case 'snooze':
      return `snooze ${action.connector} for ${action.forMs % 86_400_000 === 0 ? `${action.forMs / 86_400_000} day(s)` : `${Math.round(action.forMs / 3_600_000)} h`}`;
  }
}

function alreadyHandled(kind: 'done' | 'busy', record: LedgerRecord): string {
  const who = `<@${record.by.id}>`;
  const when = (record.completedAt ?? record.pressedAt).toDate().toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (kind === 'busy') return `${who} pressed this at ${when} and postload is still on it. Nothing more was done.`;
  if (record.status === 'succeeded') return `Already done by ${who} at ${when}: ${escape(record.summary ?? describe(record.action))}. Nothing more was done.`;
  return `${who} tried this at ${when} and it did not work: ${escape(record.error ?? 'failed')}. Nothing more was done.`;
}
