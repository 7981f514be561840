// HTTP calls as run targets, the pure side: the action id (from the call's name), the body
// filled from the event and checked against postload's size limit. A call's run is its
// request: it has ended when the answer arrives, and its outcome is that answer.
// http-runs.ts is the I/O side (clients/http-target.ts).
import type { HttpCallAction } from '../../generated/routing-config.schema.js';
import type { SyncEvent } from '../../shared/sync-event.js';
import { compileLimits } from '../planning/run-limits.js';
import { optionsFingerprint } from '../planning/target-state.js';
import { renderJson } from '../planning/templates.js';
import { bytes, eventSummary, OverrideLimitError, rendered } from './overrides.js';
import { DEFAULT_BUSY_POLICY, type PlannedRun, type RunTargetKind } from './run-target.js';

/** postload's own limit on a call's body (a refresh request is small; a larger one is a mistake in the routing file). */
export const MAX_HTTP_BODY_BYTES = 256 * 1024;

export interface HttpOptions {
  /** The JSON body, as sent. */
  body: string;
}

export function httpActionId(name: string): string {
  return `http-${name}`;
}

export function httpOptions(action: HttpCallAction, event: SyncEvent | undefined): HttpOptions {
  const template = action.body === undefined ? (event ? eventSummary(event) : {}) : action.body;
  const body = JSON.stringify(event && action.body !== undefined ? renderJson(template, event, '/body') : template);
  if (bytes(body) > MAX_HTTP_BODY_BYTES) throw new OverrideLimitError(`the body is ${bytes(body)} bytes: postload sends at most ${MAX_HTTP_BODY_BYTES}`);
  return { body };
}

export const httpKind: RunTargetKind<HttpCallAction> = {
  kind: 'http',
  plan(action, route, event): PlannedRun {
    const { options, problem } = rendered(
      () => httpOptions(action, event),
      () => ({ body: '{}' }),
    );
    // The default body names the event, which would make every load's options differ:
    // loads arriving together share one call, so only a body the team wrote is fingerprinted.
    const fingerprinted = action.body === undefined ? {} : { ...options };
    return {
      actionId: httpActionId(action.name),
      actionKind: 'http',
      target: { kind: 'http', id: action.name },
      label: `HTTP call ${action.name}`,
      route,
      policy: problem ? 'queue' : (action.onBusy ?? DEFAULT_BUSY_POLICY),
      limits: problem ? undefined : compileLimits(action.limits),
      options: { ...options },
      fingerprint: optionsFingerprint(fingerprinted),
      action,
      ...(problem ? { problem } : {}),
    };
  },
  runNews: () => undefined,
};
