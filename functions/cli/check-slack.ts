import type { SlackActionsSettings } from '../ingest/config.js';
import type { ProcessorConfig } from '../processor/config.js';
import { deadlineIn, type FetchLike } from '../processor/clients/http-retry.js';
import { SlackApiClient, SlackApiError, type AuthTest } from '../processor/clients/slack-api.js';
import type { CheckResult } from './check.js';

// `postload check` for the Slack app targets: for each bot token, that Slack accepts it
// (auth.test) and that it holds the scopes postload uses (the x-oauth-scopes header);
// for each channel, that the app is a member and may read its history (a one-message
// conversations.history: what the exactly-once lookup reads); and that buttons can be
// verified (SLACK_SIGNING_SECRET) and pressed by someone (SLACK_ACTION_USERS/GROUPS).
// Values are never printed.

const POLICY = { callTimeoutMs: 10_000, minDelayMs: 500, maxDelayMs: 2_000, maxAttempts: 2 };

export async function checkSlackApps(processor: Pick<ProcessorConfig, 'slackApps' | 'slackApiBaseUrl'>, ingest: SlackActionsSettings | undefined, fetch?: FetchLike): Promise<CheckResult[]> {
  if (!processor.slackApps.size) return [];
  const results: CheckResult[] = [];
  const tokens = new Map<string, { api: SlackApiClient; auth: AuthTest | Error | undefined }>();
  for (const app of processor.slackApps.values()) {
    const setting = app.token.setting;
    if (!tokens.has(setting)) tokens.set(setting, { api: new SlackApiClient({ token: app.token, policy: POLICY, baseUrl: processor.slackApiBaseUrl, ...(fetch ? { fetch } : {}) }), auth: undefined });
  }
  const needsGroups = (ingest?.allowedGroups.length ?? 0) > 0;
  for (const [setting, entry] of tokens) {
    const check = `Slack app token ${setting}`;
    try {
      const auth = await entry.api.authTest({ deadline: deadlineIn(20_000), attempts: [] });
      entry.auth = auth;
      const missing = ['chat:write', ...(needsGroups ? ['usergroups:read'] : [])].filter((scope) => !auth.scopes.includes(scope));
      const history = ['channels:history', 'groups:history'].filter((scope) => auth.scopes.includes(scope));
      if (!history.length) missing.push('channels:history (or groups:history for private channels)');
      results.push(
        missing.length
          ? { check, ok: false, detail: `the app lacks ${missing.join(', ')}: add them under OAuth & Permissions and reinstall the app (docs/slack-app.md)` }
          : { check, ok: true, detail: `accepted: bot ${auth.userId} in workspace ${auth.team || auth.teamId}, scopes ${auth.scopes.join(', ')}` },
      );
    } catch (error) {
      entry.auth = error as Error;
      results.push({ check, ok: false, detail: describe(error) });
    }
  }
  for (const app of processor.slackApps.values()) {
    const check = `Slack channel ${app.channel}`;
    const entry = tokens.get(app.token.setting)!;
    if (entry.auth instanceof Error) {
      results.push({ check, ok: false, detail: `not checked: ${app.token.setting} was refused` });
      continue;
    }
    try {
      await entry.api.history(app.channel, { oldest: '0', limit: 1 }, { deadline: deadlineIn(20_000), attempts: [] });
      results.push({ check, ok: true, detail: `the app is a member and can read its recent messages (the exactly-once lookup)` });
    } catch (error) {
      results.push({ check, ok: false, detail: describe(error) });
    }
  }
  if (ingest) {
    results.push(
      ingest.signingSecret.configured
        ? { check: 'Slack buttons', ok: ingest.allowedUsers.length + ingest.allowedGroups.length > 0, detail: ingest.allowedUsers.length + ingest.allowedGroups.length > 0 ? `pressable by ${ingest.allowedUsers.length} user(s) and ${ingest.allowedGroups.length} group(s)` : 'nobody may press them: set SLACK_ACTION_USERS or SLACK_ACTION_GROUPS' }
        : { check: 'Slack buttons', ok: false, detail: 'SLACK_SIGNING_SECRET is not set for the ingest function: every button press would be refused (503); set it to the app\'s Signing Secret' },
    );
  }
  return results;
}

function describe(error: unknown): string {
  if (error instanceof SlackApiError) return error.message;
  return `Slack could not be asked: ${(error as Error).message}`;
}
