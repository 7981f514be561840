import { Timestamp, type Firestore, type Query } from '@google-cloud/firestore';
import { TARGET_STATE_COLLECTION } from '../processor/planning/target-state.js';
import { JOIN_STATE_COLLECTION } from '../processor/planning/join-state.js';
import { FOLLOWED_RUNS_COLLECTION } from '../processor/store/followed-run.js';
import { firestoreId } from '../shared/settings.js';
import { AuditTrail } from './audit-trail.js';
import { ConnectorReader } from './connectors.js';
import { eventQueryShape } from './event-query.js';
import { JoinReader } from './joins.js';
import { DEAD_LETTER_FILTERS, ProblemReader } from './problems.js';
import { QueryLog, type QueryShape } from './query-shape.js';
import { RunReader, runTypeOf } from './runs.js';

type Env = Record<string, string | undefined>;

/** The collections the read model reads: the processor's and the sweep's settings, with their defaults. */
export interface ReadSettings {
  audit: string;
  connectors: string;
  joins: string;
  jobState: string;
  /** Written by the freshness sweep (issue 27); empty until it runs. */
  freshness: string;
  /** The runs the sweep follows to their end (Cloud Run, Airflow: issue 28). */
  followedRuns: string;
}

export function readSettings(env: Env): ReadSettings {
  return {
    audit: firestoreId(env, 'AUDIT_COLLECTION', 'syncEvents'),
    connectors: firestoreId(env, 'CONNECTORS_COLLECTION', 'connectors'),
    joins: firestoreId(env, 'JOINS_COLLECTION', JOIN_STATE_COLLECTION),
    jobState: firestoreId(env, 'JOB_STATE_COLLECTION', TARGET_STATE_COLLECTION),
    freshness: firestoreId(env, 'FRESHNESS_COLLECTION', 'freshness'),
    followedRuns: firestoreId(env, 'FOLLOWED_RUNS_COLLECTION', FOLLOWED_RUNS_COLLECTION),
  };
}

/** The runs the sweep followed that ended failed since a time (a count: `outcome.finishedAt` is ISO 8601 text, which orders as time). */
export const FOLLOWED_FAILED_SHAPE: QueryShape = { collection: 'followedRuns', equalities: ['outcome.status'], orderBy: { field: 'outcome.finishedAt', direction: 'desc' }, count: true };

/** The header's numbers: each is a count aggregation (one read per 1,000 entries) of exactly what its link lists. */
export interface HeaderCounts {
  overdueConnectors: number;
  lateConnectors: number;
  failingConnectors: number;
  waitingJoins: number;
  deadLetters: number;
  quarantinedToday: number;
  runsFailed24h: number;
  /** Start of the UTC day "today" counts from, and the start of the 24 hours. */
  todayFrom: Date;
  dayFrom: Date;
}

/** Everything the status page and the CLI read, from one Firestore client. */
export class StatusReader {
  readonly trail: AuditTrail;
  readonly connectors: ConnectorReader;
  readonly joins: JoinReader;
  readonly runs: RunReader;
  readonly problems: ProblemReader;

  constructor(
    private readonly db: Firestore,
    readonly settings: ReadSettings,
    readonly log: QueryLog = new QueryLog(),
  ) {
    this.trail = new AuditTrail(db, settings.audit, log);
    this.connectors = new ConnectorReader(db, { connectors: settings.connectors, freshness: settings.freshness }, log);
    this.joins = new JoinReader(db, settings.joins, log);
    this.runs = new RunReader(db, settings.audit, this.trail, log);
    this.problems = new ProblemReader(db, settings.audit, this.trail, log);
  }

  async counts(now: Date, maxJoins: number): Promise<HeaderCounts> {
    const todayFrom = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const dayFrom = new Date(now.getTime() - 86_400_000);
    const audit = this.db.collection(this.settings.audit);
    const typeSince = (type: string, since: Date) => {
      this.log.record(eventQueryShape({ type }, true));
      return audit.where('type', '==', type).where('occurredAt', '>=', Timestamp.fromDate(since)).orderBy('occurredAt', 'desc');
    };
    const freshnessState = (state: string) => {
      this.log.record({ collection: 'freshness', equalities: ['state'], count: true });
      return this.db.collection(this.settings.freshness).where('state', '==', state);
    };
    this.log.record({ collection: 'connectors', equalities: ['latestStatus'], count: true });
    this.log.record({ collection: 'audit', equalities: DEAD_LETTER_FILTERS.map((f) => ('label' in f ? f.label : f.field)), count: true });
    const deadLetters = audit.where(DEAD_LETTER_FILTERS[0].field, '==', DEAD_LETTER_FILTERS[0].value).where(DEAD_LETTER_FILTERS[1].field, '==', DEAD_LETTER_FILTERS[1].value);
    // Runs the sweep follows (Cloud Run, Airflow) that ended failed: dbt Cloud's are counted from their run events above.
    this.log.record(FOLLOWED_FAILED_SHAPE);
    const followedFailed = this.db.collection(this.settings.followedRuns).where('outcome.status', '==', 'failed').where('outcome.finishedAt', '>=', dayFrom.toISOString()).orderBy('outcome.finishedAt', 'desc');
    const [overdue, late, failing, dead, quarantined, failed, followed, joins] = await Promise.all([
      count(freshnessState('overdue')),
      count(freshnessState('late')),
      count(this.db.collection(this.settings.connectors).where('latestStatus', '==', 'failed')),
      count(deadLetters),
      count(typeSince('quarantined', todayFrom)),
      count(typeSince(runTypeOf('failed'), dayFrom)),
      count(followedFailed),
      this.joins.page(maxJoins),
    ]);
    return {
      overdueConnectors: overdue,
      lateConnectors: late,
      failingConnectors: failing,
      waitingJoins: joins.joins.filter((j) => j.waiting).length,
      deadLetters: dead,
      quarantinedToday: quarantined,
      runsFailed24h: failed + followed,
      todayFrom,
      dayFrom,
    };
  }
}

async function count(query: Query): Promise<number> {
  const snapshot = await query.count().get();
  return snapshot.data().count;
}
