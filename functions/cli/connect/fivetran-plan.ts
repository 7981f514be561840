import type { FivetranWebhook, FivetranWebhookScope } from '../../vendors/fivetran.js';
import { pointsAt } from './endpoints.js';
import { missingFrom, withAll, type Finding } from './report.js';

/**
 * The Fivetran events postload asks for: sync starts and ends (routes, freshness) and
 * connection failures (alerts). Events a person added to postload's webhook are kept.
 */
export const FIVETRAN_EVENTS = ['sync_start', 'sync_end', 'connection_failure'] as const;

export interface FivetranWanted {
  scope: FivetranWebhookScope;
  /** postload's /fivetran URL. */
  url: string;
  /** False with --inactive: a new webhook is created inactive (Fivetran tests it only when activated). */
  active: boolean;
  /** --new-secret: a new secret even when Secret Manager has one. */
  newSecret: boolean;
}

export interface FivetranObserved {
  webhooks: FivetranWebhook[];
  /** The enabled versions of FIVETRAN_WEBHOOK_SECRET's secret, newest first. */
  secretVersions: string[];
}

export type SecretPlan = { kind: 'generate'; why: string } | { kind: 'reuse'; version: string };

export interface FivetranPlan {
  secret: SecretPlan;
  webhook:
    | { kind: 'create'; url: string; events: string[]; active: boolean }
    | { kind: 'update'; id: string; url?: string; events?: string[]; active?: boolean; changed: string[] };
  /** Other webhooks of the same scope that point here too: left alone, named. */
  duplicates: FivetranWebhook[];
}

export function scopeName(scope: FivetranWebhookScope): string {
  return scope.type === 'account' ? 'account' : `group ${scope.groupId}`;
}

function inScope(webhook: FivetranWebhook, scope: FivetranWebhookScope): boolean {
  return scope.type === 'account' ? webhook.type === 'account' : webhook.type === 'group' && webhook.groupId === scope.groupId;
}

/**
 * What to do, from what Fivetran and Secret Manager hold. The secret is always sent:
 * Fivetran answers "******" for it, so it cannot be compared, and sending the newest
 * enabled version (or a new one when there is none) converges on what the function accepts.
 */
export function planFivetran(observed: FivetranObserved, wanted: FivetranWanted): FivetranPlan {
  const newest = observed.secretVersions[0];
  const secret: SecretPlan =
    wanted.newSecret || newest === undefined
      ? { kind: 'generate', why: wanted.newSecret ? 'asked for (--new-secret)' : 'the secret has no enabled version' }
      : { kind: 'reuse', version: newest };
  const ours = observed.webhooks.filter((w) => inScope(w, wanted.scope) && pointsAt(w.url, wanted.url));
  const [existing, ...duplicates] = ours;
  if (!existing) return { secret, webhook: { kind: 'create', url: wanted.url, events: [...FIVETRAN_EVENTS], active: wanted.active }, duplicates };
  const changed: string[] = [];
  const update: { url?: string; events?: string[]; active?: boolean } = {};
  if (existing.url !== wanted.url) {
    update.url = wanted.url;
    changed.push(`url ${existing.url} → ${wanted.url}`);
  }
  const missing = missingFrom(existing.events, FIVETRAN_EVENTS);
  if (missing.length > 0) {
    update.events = withAll(existing.events, FIVETRAN_EVENTS);
    changed.push(`events + ${missing.join(', ')}`);
  }
  // --inactive only shapes a new webhook: an active one is never switched off.
  if (!existing.active && wanted.active) {
    update.active = true;
    changed.push('activated');
  }
  if (secret.kind === 'generate') changed.push('new secret');
  return { secret, webhook: { kind: 'update', id: existing.id, ...update, changed }, duplicates };
}

/** `connect --check`: every webhook pointing here (of the scope, when given) active with postload's events, and a secret to verify them. */
export function checkFivetran(observed: FivetranObserved, url: string, scope: FivetranWebhookScope | undefined, secretName: string): Finding[] {
  const fix = scope ? `postload connect fivetran ${scope.type === 'account' ? '--account' : `--group ${scope.groupId}`}` : 'postload connect fivetran --account (or --group GROUP)';
  const ours = observed.webhooks.filter((w) => pointsAt(w.url, url) && (!scope || inScope(w, scope)));
  const findings: Finding[] = ours.map((w) => {
    const details: string[] = [];
    if (!w.active) details.push('inactive: Fivetran sends it nothing (it disables a webhook whose deliveries failed for 24 hours)');
    const missing = missingFrom(w.events, FIVETRAN_EVENTS);
    if (missing.length > 0) details.push(`does not send ${missing.join(', ')}`);
    const ok = details.length === 0;
    return {
      vendor: 'fivetran',
      subject: `${w.type === 'account' ? 'account' : `group ${w.groupId}`} webhook ${w.id}`,
      ok,
      details: ok ? [`active, events ${w.events.join(', ')}`] : details,
      ...(ok ? {} : { fix }),
    };
  });
  if (ours.length === 0) {
    findings.push({ vendor: 'fivetran', subject: scope ? `${scopeName(scope)} webhook` : 'webhooks', ok: false, details: [`no ${scope ? `${scopeName(scope)} ` : ''}webhook points at ${url}`], fix });
  }
  if (observed.secretVersions.length === 0) {
    findings.push({ vendor: 'fivetran', subject: secretName, ok: false, details: ['no enabled version: the ingest function refuses every Fivetran delivery'], fix });
  }
  return findings;
}
