import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query string, e.g. /api/v2/accounts/1/jobs/2/run/ */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  receivedAt: Date;
}

/**
 * What to answer: a status with optional headers and body, never answer at all ('hang'),
 * or close the connection without an answer ('drop': the request was received, its answer lost).
 */
export type Reply = { status: number; headers?: Record<string, string>; body?: string | object } | 'hang' | 'drop';

/** May answer later (a stand-in that calls the sender back before answering, as Fivetran's webhook test does). */
export type Responder = (request: RecordedRequest, server: RecordingServer) => Reply | Promise<Reply>;

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers from a script:
 * the stand-in for dbt Cloud and Slack in tests and in `npm start`. `script()` queues
 * replies (429 with Retry-After, 5xx, 4xx, 'hang') that are used before the default.
 * The vendors' shapes live in the responders (fake-dbt-cloud.ts, fake-slack.ts, each
 * citing the vendor's documentation); here only the transport: a string body goes out as text/plain,
 * as Slack's answers do, an object as JSON, as dbt Cloud's do.
 */
export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  /** The reply given to each request, by the same index. */
  readonly replies: Reply[] = [];
  private readonly queued: Reply[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private readonly waiters: Array<() => void> = [];
  private server: Server | undefined;
  /** Called after each request is recorded, e.g. to print it. */
  onRequest: ((request: RecordedRequest, reply: Reply) => void) | undefined;

  constructor(
    readonly name: string,
    private readonly responder: Responder,
  ) {}

  /** Queue replies for the next requests, in order. */
  script(...replies: Reply[]): this {
    this.queued.push(...replies);
    return this;
  }

  /** Forget recorded requests and queued replies. */
  reset(): void {
    this.requests.length = 0;
    this.replies.length = 0;
    this.queued.length = 0;
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error(`${this.name} is not listening`);
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Resolves once at least `count` requests (matching `filter`) were recorded. */
  async waitFor(
    count: number,
    { timeoutMs = 10_000, filter = () => true }: { timeoutMs?: number; filter?: (request: RecordedRequest) => boolean } = {},
  ): Promise<RecordedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this.requests.filter(filter);
      if (matching.length >= count) return matching;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: ${matching.length} of ${count} expected requests after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body,
      json,
      receivedAt: new Date(),
    };
    const reply = this.queued.shift() ?? (await this.responder(request, this));
    this.requests.push(request);
    this.replies.push(reply);
    this.onRequest?.(request, reply);
    for (const wake of this.waiters.splice(0)) wake();
    if (reply === 'drop') {
      res.socket?.destroy();
      return;
    }
    if (reply === 'hang') {
      this.hanging.add(res);
      res.once('close', () => this.hanging.delete(res));
      return;
    }
    const isText = typeof reply.body === 'string' || reply.body === undefined;
    res.writeHead(reply.status, {
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
      ...reply.headers,
    });
    res.end(isText ? (reply.body ?? '') : JSON.stringify(reply.body));
  }
}
