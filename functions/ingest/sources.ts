import type { Request } from '@google-cloud/functions-framework';
import type { AirbyteWebhook } from '../generated/airbyte-webhook.schema.js';
import type { DbtCloudWebhook } from '../generated/dbt-cloud-webhook.schema.js';
import type { FivetranWebhook } from '../generated/fivetran-webhook.schema.js';
import type { WebhookSchemaName } from '../shared/schemas.js';
import type { SyncEvent } from '../shared/sync-event.js';
import { normaliseAirbyte } from './airbyte/normalise.js';
import { checkToken, offeredTokens } from './airbyte/token.js';
import { authenticate } from './authenticate.js';
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

export const SOURCES: Record<Source, SourceHandler> = {
  fivetran: {
    authenticate: (req, raw, config) =>
      authenticate(config.fivetranSecret, (secrets) => checkFivetranSignature(raw, req.get(FIVETRAN_SIGNATURE_HEADER), secrets), {
        missing: 'missing X-Fivetran-Signature-256 header: create the webhook with a secret',
        malformed: 'X-Fivetran-Signature-256 must be the 64-character hex HMAC-SHA256 of the body',
        mismatch: 'X-Fivetran-Signature-256 does not match the body and the configured secret',
      }),
    schema: 'fivetran-webhook',
    normalise: (payload, receivedAt) => normaliseFivetran(payload as FivetranWebhook, receivedAt),
    vendorEventField: 'event',
  },
  airbyte: {
    authenticate: (req, _raw, config) =>
      authenticate(config.airbyteToken, (tokens) => checkToken(offeredTokens(req.query, req.get('authorization')), tokens), {
        missing: 'missing token: add ?token=<token> to the webhook URL, or send Authorization: Bearer <token>',
        malformed: 'offer exactly one token: either ?token= once or Authorization: Bearer, not both',
        mismatch: 'the token is not valid',
      }),
    schema: 'airbyte-webhook',
    normalise: (payload, receivedAt) => normaliseAirbyte(payload as AirbyteWebhook, receivedAt),
  },
  'dbt-cloud': {
    authenticate: (req, raw, config) =>
      authenticate(config.dbtCloudSecret, (secrets) => checkDbtCloudSignature(raw, req.get(DBT_CLOUD_SIGNATURE_HEADER), secrets), {
        missing: "missing Authorization header: dbt Cloud sends the body's HMAC-SHA256 there; check that nothing in front strips it",
        malformed: 'Authorization must be the 64-character hex HMAC-SHA256 of the body (no scheme such as Bearer)',
        mismatch: "Authorization does not match the body and the configured secret (the webhook's hmac_secret)",
      }),
    schema: 'dbt-cloud-webhook',
    vendorEventField: 'eventType',
    normalise: (payload, receivedAt) => normaliseDbtCloud(payload as DbtCloudWebhook, receivedAt),
  },
};
