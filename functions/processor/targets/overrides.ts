// Pure helpers the run-target kinds share: a readable action id, the template filling of a
// kind's fields with the problem recorded instead of thrown, and the API limits an override
// is checked against before any call (issue 28: an override that can never be accepted is
// a clear permanent error, never a retry loop).
import { createHash } from 'node:crypto';
import type { SyncEvent } from '../../shared/sync-event.js';
import { TemplateError } from '../planning/templates.js';

/** A short, stable hash of a target's identity, for action ids. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 6);
}

/** Action ids are map keys and parts of run ids: letters, digits, _ and - only. */
export function idPart(text: string, max = 40): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, max);
}

/** An override a target's API would refuse, found before the call. */
export class OverrideLimitError extends Error {
  override readonly name = 'OverrideLimitError';
}

/**
 * The options a kind renders for one event, or the problem that stops the run: a template
 * value that failed its field's check, or an override beyond the API's limits. With no event
 * (a join's run, whose templates start-up refuses) the action is used as written.
 */
export function rendered<T>(render: () => T, fallback: () => T): { options: T; problem?: string } {
  try {
    return { options: render() };
  } catch (error) {
    if (error instanceof TemplateError || error instanceof OverrideLimitError) return { options: fallback(), problem: error.message };
    throw error;
  }
}

/** The UTF-8 size of a string. */
export function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The event as a default HTTP body, and as Airflow's run note. */
export function eventSummary(event: SyncEvent): Record<string, unknown> {
  return {
    event: { id: event.id, source: event.source, type: event.type, connector: { id: event.connector.id, name: event.connector.name }, occurredAt: event.occurredAt },
  };
}
