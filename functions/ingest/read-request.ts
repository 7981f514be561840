import type { Request } from '@google-cloud/functions-framework';
import { HttpError } from './http-error.js';

export type Source = 'fivetran' | 'airbyte' | 'dbt-cloud';

const ROUTES: Record<string, Source> = { '/fivetran': 'fivetran', '/airbyte': 'airbyte', '/dbt-cloud': 'dbt-cloud' };

/** The webhook source named by the path (`/fivetran`, `/airbyte`, `/dbt-cloud`, a trailing slash allowed). */
export function routeOf(req: Request): Source {
  const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
  const source = ROUTES[path];
  if (!source) {
    throw new HttpError(404, 'unknown_path', `no webhook at ${path}; POST to /fivetran, /airbyte or /dbt-cloud`);
  }
  if (req.method !== 'POST') {
    throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed; webhooks are POSTed`, {}, { allow: 'POST' });
  }
  return source;
}

/**
 * The request body's exact bytes, within the size limit and of a JSON content type.
 * The Functions Framework has already read the body and kept the bytes in rawBody.
 */
export function rawJsonBody(req: Request, maxBytes: number): Buffer {
  const declared = Number(req.get('content-length'));
  const raw = req.rawBody ?? Buffer.alloc(0);
  if (raw.length > maxBytes || (Number.isFinite(declared) && declared > maxBytes)) {
    throw new HttpError(413, 'payload_too_large', `the body is larger than the ${maxBytes}-byte limit`, { limitBytes: maxBytes });
  }
  const contentType = req.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  if (!contentType || !(contentType === 'application/json' || contentType.endsWith('+json'))) {
    throw new HttpError(415, 'unsupported_media_type', `expected Content-Type application/json, got ${contentType ?? 'none'}`);
  }
  return raw;
}

export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(error as Error).message}`);
  }
}
