import { MissingSecretError, type Secret } from '../../shared/secrets.js';
import { SLACK_WEBHOOK_ORIGIN } from '../../shared/vendor-hosts.js';
import { PermanentError } from '../errors.js';
import { send, withinDeadline, type AttemptRecord, type Deadline, type FetchLike, type RetryPolicy } from './http-retry.js';
import type { SlackMessage } from './slack-message.js';

// Slack's documented webhook errors, with what the operator should do about each.
const ADVICE: Record<string, string> = {
  invalid_payload: 'postload sent a message Slack could not read; please report it',
  action_prohibited: 'an admin restricted this webhook; ask a Slack admin or create a new webhook',
  invalid_token: 'the webhook was revoked; create a new incoming webhook',
  channel_not_found: 'the channel was deleted; create a new incoming webhook',
  no_service: 'the webhook was disabled or removed; create a new incoming webhook',
  channel_is_archived: 'the channel was archived; unarchive it or create a new incoming webhook',
};

export { SLACK_WEBHOOK_ORIGIN };

/**
 * Why a webhook URL may not be used, or undefined when its origin is allowed. A webhook
 * URL is a secret: the answer names its origin at most, never the URL.
 */
export function webhookProblem(url: string, allowedOrigins: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.username || parsed.password) return 'carries credentials in the URL';
  if (!allowedOrigins.includes(parsed.origin)) {
    return `points to ${parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : `a ${parsed.protocol} URL`}, not ${SLACK_WEBHOOK_ORIGIN}/; set SLACK_WEBHOOK_HOSTS to allow another origin`;
  }
  return undefined;
}

export interface SlackClientOptions {
  policy: RetryPolicy;
  fetch?: FetchLike;
  /** Origins webhooks may point to (SLACK_WEBHOOK_ORIGIN and SLACK_WEBHOOK_HOSTS); default: Slack's only. */
  allowedOrigins?: readonly string[];
}

/** Delivers messages to Slack incoming webhooks. The webhook URL is a secret: it never appears in an error or a log. */
export class SlackClient {
  constructor(private readonly options: SlackClientOptions) {}

  /**
   * Posts one message. 429 (honouring Retry-After) and 5xx are retried within the deadline
   * and then thrown as transient; any other 4xx is a PermanentError naming the setting to fix.
   */
  async post(webhook: Secret, message: SlackMessage, { deadline, attempts }: { deadline: Deadline; attempts: AttemptRecord[] }): Promise<void> {
    const url = await withinDeadline(webhook.currentValue(), deadline, `read ${webhook.setting}`);
    // A secret version holding nothing is no webhook.
    if (url.trim() === '') throw new MissingSecretError(webhook.setting);
    const label = `Slack webhook ${webhook.setting}`;
    // Checked on every value read: a Secret Manager version can change it after start-up.
    const problem = webhookProblem(url, this.options.allowedOrigins ?? [SLACK_WEBHOOK_ORIGIN]);
    if (problem) throw new PermanentError(`${webhook.setting} ${problem}`, { system: 'Slack' });
    const response = await send(
      { method: 'POST', url, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(message) },
      { system: 'Slack', label, policy: this.options.policy, deadline, attempts, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) },
    );
    if (response.status >= 300) {
      const code = response.text.trim().slice(0, 100);
      const advice = (Object.hasOwn(ADVICE, code) ? ADVICE[code] : undefined) ?? 'Slack will not accept messages on this webhook';
      throw new PermanentError(`${label} answered ${response.status}${code ? ` ${code}` : ''}: ${advice}, then update ${webhook.setting}`, {
        system: 'Slack',
        status: response.status,
      });
    }
  }
}
