import { randomUUID } from 'node:crypto';
import { signDbtCloudPayload } from '../ingest/dbt-cloud/signature.js';
import { signFivetranPayload } from '../ingest/fivetran/signature.js';

// Requests as each vendor sends them to postload (fivetran.com/docs/rest-api/getting-started/webhooks,
// Airbyte's notification client in airbytehq/airbyte-platform, docs.getdbt.com/docs/deploy/webhooks); the signatures are made
// by the same functions that check them, which the vendor fixtures' tests pin down.

/** Posts a body to the Fivetran endpoint signed as Fivetran signs it (X-Fivetran-Signature-256). */
export function postFivetran(url: string, body: string, secret: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Fivetran-Signature-256': signFivetranPayload(body, secret) },
    body,
    signal: AbortSignal.timeout(15_000),
  });
}

/** Posts a body to the dbt Cloud endpoint signed as dbt Cloud signs it (Authorization: hex HMAC-SHA256). */
export function postDbtCloud(url: string, body: string, secret: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: signDbtCloudPayload(body, secret) },
    body,
    signal: AbortSignal.timeout(15_000),
  });
}

/** Posts a body to the Airbyte endpoint; the URL carries the token, as Airbyte is configured. */
export function postAirbyte(urlWithToken: string, body: string): Promise<Response> {
  return fetch(urlWithToken, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) });
}

/**
 * A successful Fivetran sync_end, as the ready-to-paste example: dated now, with a sync id of
 * its own, so it shows in `postload events` (whose default window is the last 24 h) and is
 * not taken for a re-send of an earlier example.
 */
export function exampleFivetranBody(now = new Date()): string {
  return JSON.stringify({
    event: 'sync_end',
    created: now.toISOString(),
    connector_type: 'google_cloud_postgresql',
    connector_id: 'assimilate_seem',
    connector_name: 'ftar_pg',
    sync_id: randomUUID(),
    destination_group_id: 'inappropriate_implode',
    data: { status: 'SUCCESSFUL' },
  });
}

/**
 * Shell commands a user can paste: a signed Fivetran request (when the secret is a
 * literal; a Secret Manager reference cannot be signed here) and one that signs any body
 * with openssl.
 */
export function curlExample(fivetranUrl: string, secret: string, body = exampleFivetranBody()): string[] {
  if (secret.startsWith('sm://')) {
    return [`# FIVETRAN_WEBHOOK_SECRET is a Secret Manager reference: sign with its value, e.g. with openssl as below.`];
  }
  const signature = signFivetranPayload(body, secret);
  return [
    `curl -sS -X POST ${fivetranUrl} -H 'Content-Type: application/json' -H 'X-Fivetran-Signature-256: ${signature}' --data-raw '${body}'`,
    `# any body: body='{...}'; curl -sS -X POST ${fivetranUrl} -H 'Content-Type: application/json' -H "X-Fivetran-Signature-256: $(printf %s "$body" | openssl dgst -sha256 -hmac '${secret}' -r | cut -d' ' -f1)" --data-raw "$body"`,
  ];
}
