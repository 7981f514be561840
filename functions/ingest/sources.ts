import type { Request } from '@google-cloud/functions-framework';
import type { AirbyteWebhook } from '../generated/airbyte-webhook.schema.js';
import type { DbtCloudWebhook } from '../generated/dbt-cloud-webhook.schema.js';
import type { FivetranWebhook } from '../generated/fivetran-webhook.schema.js';
import type { WebhookSchemaName } from '../shared/schemas.js';
import type { SyncEvent } from '../shared/sync-event.js';
import { normaliseAirbyte } from './airbyte/normalise.js';
import { checkToken, offeredTokens } from './airbyte/token.js';
import { authenticate, type Asked } from './authenticate.js';
import type { IngestConfig } from './config.js';
import { checkDbtCloudSignature, DBT_CLOUD_SIGNATURE_HEADER } from './dbt-cloud/signature.js';
import { normaliseDbtCloud } from './dbt-cloud/normalise.js';
import { checkFivetranSignature, FIVETRAN_SIGNATURE_HEADER } from './fivetran/signature.js';
import { normaliseFivetran } from './fivetran/normalise.js';
import type { Source } from './read-request.js';

/** What differs between the vendors: how they authenticate, their schema, their shape. */
interface SourceHandler {
  /** Throws or rejects with an HttpError when refused; undefined when accepted without waiting. */
  authenticate(req: Request, raw: Buffer, config: IngestConfig): Promise<void> | undefined;
  schema: WebhookSchemaName;
  normalise(payload: unknown, receivedAt: Date): SyncEvent;
  /** The body's field naming the vendor's event, read for quarantined events when present. */
  vendorEventField?: string;
}

// A request signed for another vendor's endpoint (a copied URL, a wrong path) would get only
// "credentials missing": its own headers say where it belongs, and the refusal says so.
const ANOTHER_VENDOR: Array<{ source: Source; test: (req: Asked) => boolean; says: string }> = [
  { source: 'airbyte', test: (req) => (req.query as Record<string, unknown> | undefined)?.token !== undefined, says: 'it carries ?token=, as Airbyte sends: Airbyte webhooks go to /airbyte' },
  { source: 'fivetran', test: (req) => req.get(FIVETRAN_SIGNATURE_HEADER) !== undefined, says: 'it carries X-Fivetran-Signature-256: Fivetran webhooks go to /fivetran' },
  { source: 'dbt-cloud', test: (req) => /^[0-9a-f]{64}$/i.test(req.get(DBT_CLOUD_SIGNATURE_HEADER) ?? ''), says: "its Authorization is a bare HMAC, as dbt Cloud signs: dbt Cloud webhooks go to /dbt-cloud" },
];

function elsewhere(own: Source, req: Asked): string {
  const other = ANOTHER_VENDOR.find((v) => v.source !== own && v.test(req));
  return other ? ` (${other.says})` : '';
}

export const SOURCES: Record<Source, SourceHandler> = {
  fivetran: {
    authenticate: (req, raw, config) =>
      authenticate('/fivetran', config.fivetranSecret, (secrets) => checkFivetranSignature(raw, req.get(FIVETRAN_SIGNATURE_HEADER), secrets), fivetranRefusal, req),
    schema: 'fivetran-webhook',
    normalise: (payload, receivedAt) => normaliseFivetran(payload as FivetranWebhook, receivedAt),
    vendorEventField: 'event',
  },
  airbyte: {
    authenticate: (req, _raw, config) =>
      authenticate('/airbyte', config.airbyteToken, (tokens) => checkToken(offeredTokens(req.query, req.get('authorization')), tokens), airbyteRefusal, req),
    schema: 'airbyte-webhook',
    normalise: (payload, receivedAt) => normaliseAirbyte(payload as AirbyteWebhook, receivedAt),
  },
  'dbt-cloud': {
    authenticate: (req, raw, config) =>
      authenticate('/dbt-cloud', config.dbtCloudSecret, (secrets) => checkDbtCloudSignature(raw, req.get(DBT_CLOUD_SIGNATURE_HEADER), secrets), dbtCloudRefusal, req),
    schema: 'dbt-cloud-webhook',
    vendorEventField: 'eventType',
    normalise: (payload, receivedAt) => normaliseDbtCloud(payload as DbtCloudWebhook, receivedAt),
  },
};

function fivetranRefusal(result: 'missing' | 'malformed' | 'mismatch', req: Asked): string {
  switch (result) {
    case 'missing':
      return `the /fivetran endpoint needs X-Fivetran-Signature-256, the HMAC-SHA256 of the body with FIVETRAN_WEBHOOK_SECRET: create the webhook with a secret${elsewhere('fivetran', req)}`;
    case 'malformed':
      return 'the /fivetran endpoint: X-Fivetran-Signature-256 must be the 64-character hex HMAC-SHA256 of the body';
    case 'mismatch':
      return 'the /fivetran endpoint: X-Fivetran-Signature-256 does not match the body signed with FIVETRAN_WEBHOOK_SECRET: the webhook\'s secret and the setting differ';
  }
}

function airbyteRefusal(result: 'missing' | 'malformed' | 'mismatch', req: Asked): string {
  switch (result) {
    case 'missing':
      return `the /airbyte endpoint needs the token of AIRBYTE_WEBHOOK_TOKEN: add ?token=<token> to the webhook URL, or send Authorization: Bearer <token>${elsewhere('airbyte', req)}`;
    case 'malformed':
      return 'the /airbyte endpoint: offer exactly one token, either ?token= once or Authorization: Bearer, not both';
    case 'mismatch':
      return 'the /airbyte endpoint: the token does not match AIRBYTE_WEBHOOK_TOKEN: the token in the webhook URL and the setting differ';
  }
}

function dbtCloudRefusal(result: 'missing' | 'malformed' | 'mismatch', req: Asked): string {
  switch (result) {
    case 'missing':
      return `the /dbt-cloud endpoint needs Authorization, the HMAC-SHA256 of the body with DBT_CLOUD_WEBHOOK_SECRET, which dbt Cloud sends: check that nothing in front strips it${elsewhere('dbt-cloud', req)}`;
    case 'malformed':
      return `the /dbt-cloud endpoint: Authorization must be the 64-character hex HMAC-SHA256 of the body (no scheme such as Bearer)${elsewhere('dbt-cloud', req)}`;
    case 'mismatch':
      return "the /dbt-cloud endpoint: Authorization does not match the body signed with DBT_CLOUD_WEBHOOK_SECRET (the webhook's hmac_secret): the secret and the setting differ";
  }
}
