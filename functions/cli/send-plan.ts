import { interpret } from '../ingest/interpret.js';
import { joinsFor } from '../processor/planning/join.js';
import { planFor, type LoadedRouting } from '../processor/planning/routing.js';
import type { SyncEvent } from '../shared/sync-event.js';
import type { Output } from './output.js';
import type { Json, Vendor } from './payloads.js';

/** What the processor would do with a webhook, by the routing file: the jobs it starts, the joins it counts for. */
export interface SendPlan {
  type: SyncEvent['type'];
  connector: string;
  routes: string[];
  jobs: Array<{ jobId: string; route: string }>;
  joins: Array<{ name: string; upstream: string; others: string[]; jobId: string; within: string }>;
  slack: string[];
}

/**
 * The webhook as ingest would publish it (the same interpret() step), then the routing
 * file's plan for it (the processor's own planFor and joins). A join's firing depends on
 * what its other upstreams did, which only the deployment knows: the plan names them.
 */
export function planSend(vendor: Vendor, payload: Json, routing: LoadedRouting, now = new Date()): SendPlan {
  const event = interpret(vendor, Buffer.from(JSON.stringify(payload)), now);
  const plan = planFor(event, routing);
  return {
    type: event.type,
    connector: event.connector.name ?? event.connector.id ?? '(none)',
    routes: plan.routes,
    jobs: plan.runs.map((run) => ({ jobId: run.target.id, route: run.route })),
    joins: event.type.endsWith('.succeeded')
      ? joinsFor(event, routing.joins).map((join) => {
          const upstream = join.upstreams.find((u) => u.matches(event))!.name;
          return { name: join.name, upstream, others: join.upstreams.map((u) => u.name).filter((n) => n !== upstream), jobId: join.jobId, within: join.within };
        })
      : [],
    slack: plan.slack.filter((target) => target.notify).map((target) => target.webhook),
  };
}

export function renderPlan(plan: SendPlan, source: string, out: Output): void {
  out.line(`by ${source}, this ${plan.type} event of ${plan.connector}:`);
  if (plan.jobs.length === 0 && plan.joins.length === 0) out.line('  starts no dbt job and counts for no join');
  for (const job of plan.jobs) out.line(`  starts dbt job ${job.jobId} (${job.route})`);
  for (const join of plan.joins) {
    out.line(`  counts for join "${join.name}" as ${join.upstream}: it starts dbt job ${join.jobId} once ${join.others.length ? `${join.others.join(', ')} ${join.others.length === 1 ? 'has' : 'have'} succeeded too, within ${join.within}` : 'this succeeds'}`);
  }
  if (plan.slack.length) out.line(`  notifies Slack: ${plan.slack.join(', ')}`);
}
