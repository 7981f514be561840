import type { AirbyteWebhook } from '../../generated/airbyte-webhook.schema.js';
import type { SyncEvent, SyncEventType } from '../../shared/sync-event.js';
import { head } from '../bounded-text.js';
import type { BlockView } from './slack-blocks.js';

export interface Classification {
  type: SyncEventType;
  vendorEvent: string;
  status: SyncEvent['sync']['status'];
  /** Set on schema changes: whether Airbyte applied them, and whether it disabled the connection. */
  schemaChange?: { propagated: boolean | null; connectionDisabled: boolean };
}

const TEST_TAG = 'this is a test notification';

const SUCCEEDED: Classification = { type: 'sync.succeeded', vendorEvent: 'sync_succeeded', status: 'succeeded' };
const FAILED: Classification = { type: 'sync.failed', vendorEvent: 'sync_failed', status: 'failed' };
const QUEUED: Classification = { type: 'sync.queued', vendorEvent: 'sync_queued', status: 'queued' };
const DISABLED: Classification = { type: 'connector.disabled', vendorEvent: 'connection_disabled', status: null };
const WARNING: Classification = { type: 'connector.warning', vendorEvent: 'connection_disable_warning', status: null };
const TEST: Classification = { type: 'test', vendorEvent: 'test', status: null };
const OTHER: Classification = { type: 'other', vendorEvent: 'notification', status: null };

function schemaChange(vendorEvent: string, propagated: boolean | null, connectionDisabled: boolean): Classification {
  return { type: 'schema.changed', vendorEvent, status: null, schemaChange: { propagated, connectionDisabled } };
}

/**
 * Block titles first, `data` second, the legacy text last. The title is what Airbyte
 * decided the notification is; `data.success` is false on queued notices too; the legacy
 * text embeds names and error messages, so only its fixed template wording counts, never a
 * word found anywhere in it ("queued" in an error message is not a queued sync).
 */
export function classify(payload: AirbyteWebhook, blocks: BlockView): Classification {
  if (blocks.tag?.toLowerCase() === TEST_TAG) return TEST;
  const fromTitle = byTitle(blocks.title, blocks.texts);
  if (fromTitle) return fromTitle;
  if (payload.data?.success === true) return SUCCEEDED;
  if (payload.data?.success === false) return FAILED;
  return byLegacyText(payload.text, blocks.texts);
}

/** Titles as SlackNotificationClient writes them (after an optional "[tag] "). */
function byTitle(title: string, texts: readonly string[]): Classification | null {
  const t = title.toLowerCase();
  if (t.startsWith('sync completed:')) return SUCCEEDED;
  if (t.startsWith('sync failure occurred:')) return FAILED;
  if (t.startsWith('sync queued:')) return QUEUED;
  if (t.startsWith('connection disabled:')) return DISABLED;
  if (t.startsWith('warning - repeated connection failures:')) return WARNING;
  // notifySchemaPropagated: "The schema of '<URL|NAME>' has changed." (changes applied).
  if (t.startsWith("the schema of '") && t.includes("' has changed.")) return schemaChange('schema_change', true, false);
  // notifySchemaDiffToApply[WhenPropagationDisabled]: changes wait for a person; when the
  // workspace's propagation setting says so, Airbyte disabled the connection (said in a block).
  if (t.startsWith("airbyte detected schema changes for '")) {
    const disabled = texts.some((text) => text.toLowerCase().includes('automatically disabled your connection'));
    return schemaChange('schema_change_detected', false, disabled);
  }
  return null;
}

/** Text-only notifications (Airbyte before 2024, the Test button's text-only tests). */
function byLegacyText(text: string, texts: readonly string[]): Classification {
  const scanned = head(text);
  const firstLine = scanned.split('\n', 1)[0]!.trim();
  const tagged = /^\[[^\]\n]{1,200}\] ?/.exec(firstLine);
  const line = (tagged ? firstLine.slice(tagged[0].length) : firstLine).toLowerCase();
  // NotificationsHandler's test messages: "Hello World! This is a test from Airbyte to try ...".
  if (/^(?:hello world! ?)?this is a test\b/.test(line)) return TEST;
  const headerLike = byTitle(line, texts);
  if (headerLike) return headerLike;
  if (line.startsWith('your source schema has changed for connection')) {
    // The pre-2024 breaking-change template says the connection was disabled.
    return scanned.toLowerCase().includes('airbyte has disabled this connection')
      ? schemaChange('breaking_schema_change', false, true)
      : schemaChange('schema_change', line.includes('automatically propagated') ? true : null, false);
  }
  if (line.startsWith('your connection from ')) {
    if (line.includes(' was automatically disabled because it failed')) return DISABLED;
    if (line.includes(' is scheduled to be automatically disabled because')) return WARNING;
  }
  if (line.startsWith("your sync for connection '") && line.includes("' is queued and waiting")) return QUEUED;
  if (line.startsWith('your connection ')) {
    if (line.endsWith(' just failed...')) return FAILED;
    if (line.endsWith(' succeeded')) return SUCCEEDED;
  }
  return OTHER;
}
