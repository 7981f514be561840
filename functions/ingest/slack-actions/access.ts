import type { Deadline } from '../../processor/clients/http-retry.js';
import type { SlackApiClient } from '../../processor/clients/slack-api.js';

// Who may press postload's buttons: the Slack user ids in SLACK_ACTION_USERS and the
// members of the user groups in SLACK_ACTION_GROUPS (usergroups.users.list, scope
// usergroups:read). Nobody when both are empty. A group's members are kept for a minute
// per instance; when they cannot be read, the press is refused (fail closed).

const GROUP_TTL_MS = 60_000;

export type Verdict = 'allowed' | 'not-allowed' | 'cannot-tell';

export class SlackAccess {
  private readonly groups = new Map<string, { members: Set<string>; readAt: number }>();

  constructor(
    private readonly allowedUsers: readonly string[],
    private readonly allowedGroups: readonly string[],
    private readonly api: SlackApiClient | undefined,
    private readonly now: () => number,
  ) {}

  async verdict(userId: string, deadline: Deadline): Promise<Verdict> {
    if (this.allowedUsers.includes(userId)) return 'allowed';
    if (!this.allowedGroups.length) return 'not-allowed';
    if (!this.api) return 'cannot-tell';
    try {
      for (const group of this.allowedGroups) if ((await this.members(group, deadline)).has(userId)) return 'allowed';
      return 'not-allowed';
    } catch {
      return 'cannot-tell';
    }
  }

  private async members(group: string, deadline: Deadline): Promise<Set<string>> {
    const cached = this.groups.get(group);
    if (cached && this.now() - cached.readAt < GROUP_TTL_MS) return cached.members;
    const members = new Set(await this.api!.userGroupMembers(group, { deadline, attempts: [] }));
    this.groups.set(group, { members, readAt: this.now() });
    return members;
  }
}
