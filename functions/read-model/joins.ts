import { FieldPath, type DocumentData, type Firestore } from '@google-cloud/firestore';
import { parseDuration } from '../processor/planning/duration.js';
import type { QueryLog } from './query-shape.js';
import { date, num, record, str } from './values.js';

// A join's document (`<joins collection>/<name>`, processor/planning/join-state.ts) read for
// people: which upstreams are present, which are missing or failing, since when the join
// waits, when its first success goes stale (`within`), and the job it will start.

export interface UpstreamView {
  name: string;
  /** The success that counts towards the next firing, if any. */
  success: { eventId: string; connector: string; source: string; occurredAt: Date | null; staleAt: Date | null } | null;
  /** The failure streak since its last success, if any. */
  failure: { eventId: string; connector: string; occurredAt: Date | null; since: Date | null; count: number; message: string | null } | null;
}

export interface JoinView {
  name: string;
  jobId: string;
  within: string;
  round: number;
  upstreams: UpstreamView[];
  present: string[];
  missing: string[];
  /** Some upstream succeeded, not all: the join waits for the missing ones. */
  waiting: boolean;
  /** The oldest success counted: the join has waited since then. */
  waitingSince: Date | null;
  /** When that success leaves the window, unless the set completes first. */
  deadline: Date | null;
  lastFiring: { round: number; firedAt: Date | null; eventId: string; run: { id: number | null; outcome: string } | null } | null;
  updatedAt: Date | null;
}

export function toJoinView(id: string, doc: DocumentData): JoinView {
  const within = str(doc.within) ?? '';
  let withinMs: number | null = null;
  try {
    withinMs = within ? parseDuration(within) : null;
  } catch {
    withinMs = null;
  }
  const upstreams = Object.entries(record(doc.upstreams) ?? {})
    .map(([name, value]): UpstreamView => {
      const u = record(value) ?? {};
      const s = record(u.success);
      const f = record(u.failure);
      const occurredAt = s ? date(s.occurredAt) : null;
      return {
        name,
        success: s
          ? { eventId: str(s.eventId) ?? '', connector: str(s.connector) ?? '', source: str(s.source) ?? '', occurredAt, staleAt: occurredAt && withinMs !== null ? new Date(occurredAt.getTime() + withinMs) : null }
          : null,
        failure: f
          ? { eventId: str(f.eventId) ?? '', connector: str(f.connector) ?? '', occurredAt: date(f.occurredAt), since: date(f.since), count: num(f.count) ?? 1, message: str(f.message) }
          : null,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const present = upstreams.filter((u) => u.success).map((u) => u.name);
  const missing = upstreams.filter((u) => !u.success).map((u) => u.name);
  const successes = upstreams.flatMap((u) => (u.success?.occurredAt ? [u.success] : [])).sort((a, b) => a.occurredAt!.getTime() - b.occurredAt!.getTime());
  const firing = Array.isArray(doc.firings) ? record(doc.firings[0]) : null;
  // What the firing's run came to is merged in by round (issue 26), once its action has an outcome.
  const run = firing ? record(record(doc.runs)?.[String(firing.round)]) : null;
  return {
    name: str(doc.join) ?? id,
    jobId: String(doc.jobId ?? ''),
    within,
    round: num(doc.round) ?? 0,
    upstreams,
    present,
    missing,
    waiting: present.length > 0 && missing.length > 0,
    waitingSince: successes[0]?.occurredAt ?? null,
    deadline: successes[0]?.staleAt ?? null,
    lastFiring: firing ? { round: num(firing.round) ?? 0, firedAt: date(firing.firedAt), eventId: str(firing.eventId) ?? '', run: run ? { id: num(run.runId), outcome: str(run.outcome) ?? '?' } : null } : null,
    updatedAt: date(doc.updatedAt),
  };
}

export class JoinReader {
  constructor(
    private readonly db: Firestore,
    private readonly collection: string,
    private readonly log?: QueryLog,
  ) {}

  /** Joins by name (one document each: as many as the routing file has), at most `limit` after `after`. */
  async page(limit: number, after?: string): Promise<{ joins: JoinView[]; next: string | null }> {
    this.log?.record({ collection: 'joins', equalities: [] });
    let query = this.db.collection(this.collection).orderBy(FieldPath.documentId());
    if (after) query = query.startAfter(after);
    const snapshot = await query.limit(limit + 1).get();
    const docs = snapshot.docs.slice(0, limit);
    return { joins: docs.map((d) => toJoinView(d.id, d.data())), next: snapshot.size > limit ? docs.at(-1)!.id : null };
  }

  async get(name: string): Promise<JoinView | undefined> {
    const snapshot = await this.db.collection(this.collection).doc(name).get();
    return snapshot.exists ? toJoinView(snapshot.id, snapshot.data()!) : undefined;
  }
}
