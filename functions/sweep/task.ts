import type { Logger } from 'pino';
import type { Deadline } from '../processor/clients/http-retry.js';
import type { MatchSubject } from '../processor/planning/routing.js';
import type { Vendor } from '../vendors/vendor-error.js';
import type { VendorFacts } from './freshness/expectation.js';

/**
 * One tick of the sweep as its tasks see it. The sweep is a list of independent tasks run
 * one after another (reconciliation, then freshness; issue 28 adds "follow runs to their
 * end" as one more): each reads what it needs, decides with pure functions and writes its
 * own documents, so a task can be added without touching the others.
 */
export interface TickContext {
  /** This tick's id: the holder of what it claims (Slack messages it is sending). */
  tickId: string;
  nowMs: number;
  deadline: Deadline;
  log: Logger;
  /**
   * Vendors whose API is configured but could not be read this tick (down, slow, 429,
   * garbage): their connectors get no worse state this tick. A silent connector is only
   * alerted when postload could see that it is silent.
   */
  blindVendors: Set<Vendor>;
  /** What the vendor APIs said this tick about connectors whose facts changed, by connector document id. */
  vendorFacts: Map<string, { identity: MatchSubject; facts: VendorFacts }>;
  /**
   * Work to do once the freshness task has committed: what an earlier task read is marked
   * as handled only then, so a tick that dies before it leaves the news for the next tick.
   */
  afterFreshness: Array<() => Promise<void>>;
}

export interface SweepTask {
  name: string;
  /** Resolves with counts for the tick's log line; rejects on a failure that should fail the tick (it is then delivered again). */
  run(ctx: TickContext): Promise<Record<string, number>>;
}
