import type { ServerResponse } from 'node:http';

/**
 * Answers with a JSON body, written straight to Node's response. Express's res.json would
 * also hash the body for an ETag and check the request's freshness headers: work an answer
 * to a webhook never uses, done on every request.
 */
export function answerJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
