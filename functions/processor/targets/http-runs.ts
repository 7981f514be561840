// HTTP calls as run targets, the I/O side: one signed call per action, its Idempotency-Key
// and webhook-id the action's own (`<event id>.<action id>`), so a receiver that honours
// either carries a redelivered call out once. A call has ended when its answer arrives:
// there is nothing to follow, and no earlier call to look for (the key makes a repeat harmless).
import type { Secret } from '../../shared/secrets.js';
import { signingKey } from '../../shared/standard-webhooks.js';
import { withinDeadline, type Deadline } from '../clients/http-retry.js';
import type { HttpTargetClient } from '../clients/http-target.js';
import { PermanentError } from '../errors.js';
import type { HttpOptions } from './http.js';
import type { ObservedRun, RunObservation, RunTargetClient } from './run-target.js';

/** One HTTP target as configured: its URL, method, headers (secret ones read when used) and signing secret. */
export interface HttpTargetSettings {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  headers: Array<{ name: string; value: string } | { name: string; secret: Secret; prefix: string }>;
  signingSecret: Secret;
}

export function httpRuns(client: HttpTargetClient, targets: ReadonlyMap<string, HttpTargetSettings>): RunTargetClient {
  return {
    async start(event, run, { deadline, attempts }) {
      if (run.problem) throw new PermanentError(`${run.label}: ${run.problem}`, { system: 'HTTP target' });
      const target = targets.get(run.target.id);
      if (!target) throw new PermanentError(`${run.label} is not in the routing file`, { system: 'HTTP target' });
      const key = `${event.id}.${run.actionId}`;
      const result = await client.call(
        {
          label: run.label,
          url: target.url,
          method: target.method,
          headers: await headerValues(target, deadline),
          body: (run.options as unknown as HttpOptions).body,
          idempotencyKey: key,
          signingKey: await keyOf(target, deadline, run.label),
        },
        { deadline, attempts },
      );
      return { runId: key, href: null, recovered: false, response: result };
    },
    /** A call has ended once answered; an earlier holder's call cannot be looked for (its key makes a repeat harmless). */
    async observe(_target, ask): Promise<RunObservation> {
      const runs = new Map<string, ObservedRun>(ask.runIds.map((runId) => [String(runId), { runId, phase: 'ended', status: 'answered' }]));
      return { runs, byHolder: new Map() };
    },
  };
}

async function headerValues(target: HttpTargetSettings, deadline: Deadline): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const header of target.headers) {
    headers[header.name] = 'secret' in header ? `${header.prefix}${await withinDeadline(header.secret.currentValue(), deadline, `read ${header.secret.setting}`)}` : header.value;
  }
  return headers;
}

async function keyOf(target: HttpTargetSettings, deadline: Deadline, label: string): Promise<Buffer> {
  const secret = await withinDeadline(target.signingSecret.currentValue(), deadline, `read ${target.signingSecret.setting}`);
  const key = signingKey(secret);
  if (!Buffer.isBuffer(key)) throw new PermanentError(`${label}: the signing secret ${target.signingSecret.setting} ${key.problem}`, { system: 'HTTP target' });
  return key;
}
