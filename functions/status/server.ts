import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatusReader } from '../read-model/status-reader.js';
import { html, type Html } from './html.js';
import { page, STYLE, type PageOptions } from './layout.js';
import { connectorBody, connectorsBody, eventBody, eventsBody, joinBody, joinsBody, overviewBody, problemsBody, runBody, runsBody, targetLabel } from './pages.js';
import * as views from './views.js';

// The status page: a read-only HTTP server on 127.0.0.1 that renders each view on the
// server (no JavaScript, no asset from anywhere else) and answers the same view as JSON
// under /api/. It only ever reads (GET and HEAD); anything else is refused.

export interface StatusServerOptions {
  reader: StatusReader;
  /** 0: any free port. */
  port: number;
  /** Seconds between the pages' own refreshes; 0: none. */
  refreshSeconds: number;
  limits?: views.ViewLimits;
  now?: () => Date;
  /** A request that failed on the server's side (Firestore unreachable, …), for the operator's terminal. */
  onError?: (error: unknown, path: string) => void;
}

export interface StatusServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** The Content-Security-Policy of every answer: the page's own stylesheet, its own forms and links, nothing else. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

interface Answer {
  title: string;
  section: PageOptions['section'];
  data: unknown;
  body: (now: Date) => Html;
}

type Route = (reader: StatusReader, params: URLSearchParams, now: Date, limits: views.ViewLimits, parts: string[]) => Promise<Answer>;

const ROUTES: Array<{ pattern: RegExp; route: Route }> = [
  { pattern: /^$/, route: async (r, _p, now, l) => { const d = await views.overview(r, now, l); return { title: 'Overview', section: 'overview', data: d, body: (n) => overviewBody(d, n) }; } },
  { pattern: /^connectors$/, route: async (r, p, _now, l) => { const d = await views.connectors(r, p, l); return { title: 'Connectors', section: 'connectors', data: d, body: (n) => connectorsBody(d, n) }; } },
  { pattern: /^connectors\/([^/]+)$/, route: async (r, _p, now, _l, [id]) => { const d = await views.connector(r, id!, now); return { title: `Connector ${d.connector.connectorName ?? d.connector.connectorId}`, section: 'connectors', data: d, body: (n) => connectorBody(d, n) }; } },
  { pattern: /^events$/, route: async (r, p, now, l) => { const d = await views.events(r, p, now, l); return { title: 'Events', section: 'events', data: d, body: (n) => eventsBody(d, n) }; } },
  { pattern: /^events\/([^/]+)$/, route: async (r, _p, _now, _l, [id]) => { const d = await views.event(r, id!); return { title: `Event ${d.event.eventId.slice(0, 8)}`, section: 'events', data: d, body: (n) => eventBody(d, n) }; } },
  { pattern: /^runs$/, route: async (r, p, now, l) => { const d = await views.runs(r, p, now, l); return { title: 'Runs', section: 'runs', data: d, body: (n) => runsBody(d, n) }; } },
  { pattern: /^runs\/([^/]+)\/([^/]+)\/([^/]+)$/, route: async (r, _p, _now, l, [kind, target, id]) => { const d = await views.run(r, kind!, target!, id!, l); return { title: `Run ${id} of ${targetLabel(kind!, target!)}`, section: 'runs', data: d, body: (n) => runBody(d, n) }; } },
  { pattern: /^joins$/, route: async (r, p, _now, l) => { const d = await views.joins(r, p, l); return { title: 'Joins', section: 'joins', data: d, body: (n) => joinsBody(d, n) }; } },
  { pattern: /^joins\/([^/]+)$/, route: async (r, _p, _now, _l, [name]) => { const d = await views.join(r, name!); return { title: `Join ${d.join.name}`, section: 'joins', data: d, body: (n) => joinBody(d.join, n) }; } },
  { pattern: /^problems$/, route: async (r, p, now, l) => { const d = await views.problems(r, p, now, l); return { title: 'Quarantined events and dead letters', section: 'problems', data: d, body: (n) => problemsBody(d, n) }; } },
  { pattern: /^counts$/, route: async (r, _p, now, l) => { const d = await r.counts(now, l.maxJoins); return { title: 'Counts', section: 'overview', data: d, body: () => html`<p>See the header.</p>` }; } },
];

/** The hosts the page answers to: a page on 127.0.0.1 reached under any other name is a DNS-rebinding attempt by some web site. */
function allowedHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const limits = options.limits ?? views.DEFAULT_LIMITS;
  const now = options.now ?? (() => new Date());
  let port = 0;
  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      options.onError?.(error, request.url ?? '');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!allowedHost(request.headers.host, port)) {
      send(response, 403, 'text/plain; charset=utf-8', `this page answers only at http://127.0.0.1:${port}/\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, 405, 'text/plain; charset=utf-8', 'the status page is read-only: it answers GET and HEAD\n');
      return;
    }
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname === '/static/style.css') {
      send(response, 200, 'text/css; charset=utf-8', STYLE, request.method === 'HEAD');
      return;
    }
    const api = url.pathname === '/api' || url.pathname.startsWith('/api/');
    const path = (api ? url.pathname.slice(4) : url.pathname).replace(/^\/+|\/+$/g, '');
    const at = now();
    const fail = (status: number, message: string) => {
      if (api) send(response, status, 'application/json; charset=utf-8', `${JSON.stringify({ error: message })}\n`, request.method === 'HEAD');
      else sendPage(response, status, request.method === 'HEAD', { title: status === 404 ? 'Not found' : status === 400 ? 'Bad request' : 'Error', section: 'overview', counts: undefined, refreshSeconds: 0, api: '/api/', now: at }, html`<p role="alert">${message}</p><p><a href="/">Overview</a></p>`);
    };
    for (const { pattern, route } of ROUTES) {
      const match = pattern.exec(path);
      if (!match) continue;
      let parts: string[];
      try {
        parts = match.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        fail(400, 'the path is not valid percent-encoding');
        return;
      }
      try {
        const [answer, counts] = await Promise.all([
          route(options.reader, url.searchParams, at, limits, parts),
          api || path === '' ? undefined : options.reader.counts(at, limits.maxJoins),
        ]);
        if (api) send(response, 200, 'application/json; charset=utf-8', `${JSON.stringify(answer.data, null, 2)}\n`, request.method === 'HEAD');
        else {
          const pageCounts = counts ?? (answer.data as { counts?: typeof counts }).counts;
          sendPage(response, 200, request.method === 'HEAD', { title: answer.title, section: answer.section, counts: pageCounts, refreshSeconds: options.refreshSeconds, api: `/api${url.pathname === '/' ? '/' : url.pathname}${url.search}`, now: at }, answer.body(at));
        }
      } catch (error) {
        if (error instanceof views.BadRequest) fail(400, error.message);
        else if (error instanceof views.NotFound) fail(404, error.message);
        else {
          options.onError?.(error, url.pathname);
          fail(502, `reading Firestore failed: ${(error as Error).message}`);
        }
      }
      return;
    }
    fail(404, `no page at ${url.pathname}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(response: ServerResponse, status: number, type: string, body: string, headOnly = false): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  response.end(headOnly ? undefined : body);
}

function sendPage(response: ServerResponse, status: number, headOnly: boolean, options: PageOptions, body: Html): void {
  send(response, status, 'text/html; charset=utf-8', page(options, body).value, headOnly);
}
