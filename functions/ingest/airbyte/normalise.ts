import type { AirbyteWebhook, Entity, SyncData } from '../../generated/airbyte-webhook.schema.js';
import { SCHEMA_VERSION, type SyncEvent } from '../../shared/sync-event.js';
import { clip, dateTimeOrNull, head } from '../bounded-text.js';
import { eventId } from '../event-id.js';
import { classify, type Classification } from './classify.js';
import { failureReason, firstLink, linkLabels, readBlocks, type BlockView } from './slack-blocks.js';

type Named = { id: string | null; name: string | null; url?: string | null };

// Airbyte's URLs (WebUrlHelper): {base}/workspaces/{id}/connections|source|destination/{id}.
const CONNECTION_URL = /\/workspaces\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/connections\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
const SOURCE_URL = /\/source\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
const DESTINATION_URL = /\/destination\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
const WORKSPACE_URL = /\/workspaces\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
const CONNECTION_ID = /connection id:? ?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
const WORKSPACE_ID = /workspace id:? ?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
const JOB_ID = /\bjob id:?\*? ?(\d{1,19})\b/i;

export function normaliseAirbyte(payload: AirbyteWebhook, receivedAt: Date): SyncEvent {
  const blocks = readBlocks(payload.blocks, payload.text);
  const kind = classify(payload, blocks);
  const data: SyncData | undefined = payload.data;
  const received = receivedAt.toISOString();
  const queued = kind.type === 'sync.queued';
  const isTest = kind.type === 'test';
  // Data-less notifications still name the connection (its link, its id lines): that makes them routable.
  const linked = data ? null : fromBlocksAndText(payload.text, blocks, kind.type !== 'other');
  const connection: Named = data ? named(data.connection) : linked!.connection;
  const source: Named = data ? named(data.source) : linked!.source;
  // A queued job has neither started nor finished: Airbyte's startedAt/finishedAt are its
  // creation and last update there, and its volumes are zeros, not results.
  const startedAt = queued ? null : dateTimeOrNull(data?.startedAt);
  const finishedAt = queued ? null : dateTimeOrNull(data?.finishedAt);
  const jobId = data?.jobId ?? linked?.jobId;
  const event: SyncEvent = {
    schemaVersion: SCHEMA_VERSION,
    id: data
      ? eventId([
          'airbyte', kind.vendorEvent, connection.id, data.jobId, queued ? null : (data.finishedAt ?? null),
          // The Test button's success and failure tests may share ids and times: their text tells them apart.
          ...(isTest ? [payload.text] : []),
        ])
      : // No id or time in the payload: the same content (text and blocks) on the same UTC day
        // is one occurrence; two schema changes of one connection differ in their blocks.
        eventId(['airbyte', kind.vendorEvent, payload.text, blocks.texts.join('\n'), received.slice(0, 10)]),
    source: 'airbyte',
    type: kind.type,
    vendorEvent: kind.vendorEvent,
    occurredAt: finishedAt ?? (queued ? dateTimeOrNull(data?.finishedAt) : null) ?? startedAt ?? received,
    receivedAt: received,
    connector: {
      id: connection.id,
      name: connection.name,
      type: source.name,
      url: connection.url ?? null,
      sourceId: source.id,
      sourceName: source.name,
    },
    destination: data ? named(data.destination) : linked!.destination,
    workspace: data?.workspace ? named(data.workspace) : (linked?.workspace ?? null),
    sync: {
      id: jobId === undefined ? null : String(jobId),
      status: kind.status,
      vendorStatus: typeof data?.success === 'boolean' ? `success: ${data.success}` : null,
      startedAt,
      finishedAt,
      durationSeconds: queued ? null : duration(data, startedAt, finishedAt),
    },
    metrics: data && !queued && !isTest ? metrics(data) : null,
    error: errorOf(kind, data, payload.text, blocks),
    summary: summary(payload.text, isTest),
    payload,
  };
  if (kind.schemaChange) event.schemaChange = kind.schemaChange;
  return event;
}

function named(value: Entity | undefined): Named {
  return { id: value?.id ?? null, name: value?.name ?? null, url: value?.url ?? null };
}

interface Linked {
  connection: Named;
  source: Named;
  destination: Named;
  workspace: Named | null;
  jobId: string | undefined;
}

/**
 * Names and ids of a notification without `data`: the connection from the title's Slack
 * link `<URL|NAME>` (schema changes: the text's), source, destination and workspace from
 * the block fields, ids from the links' URLs or the legacy "Connection ID:" lines.
 */
function fromBlocksAndText(text: string, blocks: BlockView, known: boolean): Linked {
  const scanned = head(text);
  // An unknown notification's first link may be anything: only a known one's names the connection.
  const link = known ? (firstLink(blocks.title) ?? firstLink(scanned)) : null;
  const url = link ? CONNECTION_URL.exec(link.url) : null;
  const anywhere = url ?? CONNECTION_URL.exec(scanned);
  const field = (label: string, idInUrl: RegExp): Named => {
    const value = blocks.fields.get(label);
    const fieldLink = value ? firstLink(value) : null;
    return {
      id: fieldLink ? (idInUrl.exec(fieldLink.url)?.[1] ?? null) : null,
      name: fieldLink?.label ?? null,
      url: fieldLink?.url ?? null,
    };
  };
  const workspaceId = anywhere?.[1] ?? WORKSPACE_ID.exec(scanned)?.[1] ?? null;
  const workspace = field('workspace', WORKSPACE_URL);
  return {
    connection: {
      id: anywhere?.[2] ?? CONNECTION_ID.exec(scanned)?.[1] ?? null,
      name: link?.label ?? null,
      url: link?.url ?? null,
    },
    source: field('source', SOURCE_URL),
    destination: field('destination', DESTINATION_URL),
    workspace: workspaceId || workspace.name ? { id: workspaceId ?? workspace.id, name: workspace.name, url: workspace.url } : null,
    jobId: JOB_ID.exec(head(blocks.texts.join('\n')))?.[1] ?? JOB_ID.exec(scanned)?.[1],
  };
}

/**
 * The error on failures, and the most recent one on the disable notice and its warning:
 * `data` when present, else the "*Failure reason:*" block, else the legacy template's
 * sentence ("This happened with …", "The most recent attempted …").
 */
function errorOf(kind: Classification, data: SyncData | undefined, text: string, blocks: BlockView): SyncEvent['error'] {
  if (kind.type !== 'sync.failed' && kind.type !== 'connector.disabled' && kind.type !== 'connector.warning') return null;
  if (data && (data.errorMessage || data.errorType || data.errorOrigin)) {
    return { message: data.errorMessage ? clip(data.errorMessage) : null, type: data.errorType ?? null, origin: data.errorOrigin ?? null };
  }
  const reason = failureReason(blocks.texts);
  if (reason) return { message: clip(reason.message), type: reason.type, origin: null };
  const scanned = head(text);
  const sentence =
    between(scanned, 'This happened with ', '\n\nYou can access its logs') ??
    between(scanned, 'The most recent attempted ', '\n\nWorkspace ID:');
  return { message: sentence ? clip(sentence) : null, type: null, origin: null };
}

function between(text: string, start: string, end: string): string | null {
  const from = text.indexOf(start);
  if (from < 0) return null;
  const to = text.indexOf(end, from + start.length);
  const value = text.slice(from + start.length, to < 0 ? undefined : to).trim();
  return value && value !== 'null' ? value : null;
}

function summary(text: string, isTest: boolean): string {
  const line = head(linkLabels(head(text, 2_000).split('\n', 1)[0]!), 500);
  // The Test button's sync tests carry a realistic legacy text: the summary says it is a test.
  const saysTest = line.startsWith('[') || /^(?:hello world! ?)?this is a test\b/i.test(line);
  return isTest && !saysTest ? head(`Test notification: ${line}`, 500) : line;
}

function duration(data: SyncData | undefined, startedAt: string | null, finishedAt: string | null): number | null {
  if (!data) return null;
  if (typeof data.durationInSeconds === 'number' && data.durationInSeconds >= 0) return data.durationInSeconds;
  if (!startedAt || !finishedAt) return null;
  const seconds = (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function metrics(data: SyncData): NonNullable<SyncEvent['metrics']> {
  return {
    recordsEmitted: data.recordsEmitted ?? null,
    recordsCommitted: data.recordsCommitted ?? null,
    recordsFilteredOut: data.recordsFilteredOut ?? null,
    bytesEmitted: data.bytesEmitted ?? null,
    bytesCommitted: data.bytesCommitted ?? null,
    bytesFilteredOut: data.bytesFilteredOut ?? null,
  };
}
