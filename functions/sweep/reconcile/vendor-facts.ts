import { createHash } from 'node:crypto';
import type { MatchSubject } from '../../processor/planning/routing.js';
import type { AirbyteConnection, AirbyteJob } from '../../vendors/airbyte.js';
import type { FivetranConnection } from '../../vendors/fivetran.js';
import { splitAirbyteCron } from '../freshness/cron.js';
import type { VendorFacts, VendorSchedule } from '../freshness/expectation.js';

// What a vendor's listing says about each connector, in the form freshness reads
// (VendorFacts) and reconciliation compares: pure conversions of the clients' answers.

export interface ListedConnector {
  id: string;
  identity: MatchSubject;
  facts: VendorFacts;
}

const MINUTE = 60_000;
const UNIT_MS: Record<string, number> = { MINUTES: MINUTE, HOURS: 60 * MINUTE, DAYS: 1440 * MINUTE, WEEKS: 7 * 1440 * MINUTE, MONTHS: 31 * 1440 * MINUTE };

export function fivetranListed(c: FivetranConnection, readAt: number): ListedConnector {
  let schedule: VendorSchedule;
  if (c.scheduleType === 'manual') schedule = { kind: 'manual', text: 'schedule_type manual' };
  else if (c.syncFrequency === null) schedule = { kind: 'unknown', text: 'no sync_frequency' };
  else {
    const daily = c.syncFrequency === 1440 && c.dailySyncTime ? `, daily at ${c.dailySyncTime} destination time` : '';
    schedule = { kind: 'interval', everyMs: c.syncFrequency * MINUTE, text: `sync_frequency ${c.syncFrequency} min${daily}` };
  }
  return {
    id: c.id,
    identity: { source: 'fivetran', connector: { id: c.id, name: c.schema, type: c.service }, destination: { id: c.groupId, name: null } },
    facts: { vendor: 'fivetran', schedule, paused: c.paused ? 'paused in Fivetran' : null, succeededAt: c.succeededAt, failedAt: c.failedAt, name: c.schema, readAt },
  };
}

/**
 * An Airbyte connection, with the latest terminal sync job this tick read for it (jobs are
 * read incrementally: `previous` carries the ends known from earlier ticks).
 */
export function airbyteListed(c: AirbyteConnection, latest: { succeededAt: number | null; failedAt: number | null }, readAt: number): ListedConnector {
  const s = c.schedule;
  let schedule: VendorSchedule;
  if (s.type === 'manual') schedule = { kind: 'manual', text: 'manual' };
  else if (s.type === 'basic') schedule = s.every && UNIT_MS[s.every.unit] ? { kind: 'interval', everyMs: s.every.units * UNIT_MS[s.every.unit]!, text: s.text ?? '' } : { kind: 'unknown', text: `basic ${s.text ?? '(no timing)'}` };
  else {
    const spec = s.expression ? splitAirbyteCron(s.expression) : undefined;
    schedule = spec ? { kind: 'cron', spec, text: s.expression! } : { kind: 'unknown', text: `cron ${s.expression ?? '(none)'}` };
  }
  return {
    id: c.connectionId,
    identity: { source: 'airbyte', connector: { id: c.connectionId, name: c.name, type: null }, destination: { id: c.destinationId, name: null } },
    facts: { vendor: 'airbyte', schedule, paused: c.status === 'active' ? null : `${c.status} in Airbyte`, succeededAt: latest.succeededAt, failedAt: latest.failedAt, name: c.name, readAt },
  };
}

/** The newest terminal sync job per connection among those read (succeeded or failed; cancelled ones end nothing). */
export function latestJobs(jobs: AirbyteJob[]): Map<string, AirbyteJob> {
  const latest = new Map<string, AirbyteJob>();
  for (const job of jobs) {
    if (job.jobType !== 'sync' || (job.status !== 'succeeded' && job.status !== 'failed') || job.endedAt === null) continue;
    const current = latest.get(job.connectionId);
    if (!current || job.jobId > current.jobId) latest.set(job.connectionId, job);
  }
  return latest;
}

/** What changes of a connector's facts are worth a freshness write: schedule, pause, name and sync ends (not the read time). */
export function factsDigest(facts: VendorFacts): string {
  const { readAt: _r, ...rest } = facts;
  return createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 16);
}
