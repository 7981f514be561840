import { signingKey, verifyStandardWebhook, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP } from '../shared/standard-webhooks.js';
import { RecordingServer, type RecordedRequest, type Reply } from './recording-server.js';

// A stand-in for the receiving end of an HTTP target (a BI tool's refresh API, a service of
// the team's own): it verifies the Standard Webhooks signature of every request as a
// receiver library does (github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md: all three headers, the timestamp within 5 minutes, one `v1,`
// signature equal over `id.timestamp.body`) and answers 401 otherwise, and it carries out
// each `Idempotency-Key` once, answering a repeat with the first answer, as an API that
// honours the key does (the IETF draft draft-ietf-httpapi-idempotency-key-header: "the
// server … returns the result of the original request"; Stripe's keys behave the same).
// A lost answer is `failCalls('lost')`: the effect happens, its answer never arrives.

export interface ReceivedEffect {
  idempotencyKey: string;
  webhookId: string;
  body: unknown;
  at: Date;
}

export type CallFault = 'lost' | Reply;

export interface FakeHttpReceiverOptions {
  /** The `whsec_…` secret requests must be signed with. */
  secret: string;
  /** The answer to a call carried out (default 202 {accepted: true}). */
  answer?: (effect: ReceivedEffect) => Reply;
  /** The receiver's clock, in seconds (for stale-timestamp tests). */
  nowSeconds?: () => number;
}

export class FakeHttpReceiver extends RecordingServer {
  /** Each idempotency key carried out once, in order. */
  readonly effects: ReceivedEffect[] = [];
  /** Requests refused for their signature, with why. */
  readonly refused: Array<{ request: RecordedRequest; verdict: string }> = [];
  private readonly answers = new Map<string, Reply>();
  private readonly faults: CallFault[] = [];
  private readonly key: Buffer;

  constructor(private readonly options: FakeHttpReceiverOptions) {
    super('HTTP receiver', (request, server) => (server as FakeHttpReceiver).answer(request));
    const key = signingKey(options.secret);
    if (!Buffer.isBuffer(key)) throw new Error(`the receiver's secret ${key.problem}`);
    this.key = key;
  }

  failCalls(...faults: CallFault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** The next `count` requests are answered 429 with Retry-After (checked before the signature, as a gateway does). */
  rateLimit(count = 1, retryAfterSeconds = 1): this {
    for (let i = 0; i < count; i++) this.script({ status: 429, headers: { 'retry-after': String(retryAfterSeconds) }, body: { error: 'rate limited' } });
    return this;
  }

  override reset(): void {
    super.reset();
    this.effects.length = 0;
    this.refused.length = 0;
    this.answers.clear();
    this.faults.length = 0;
  }

  private answer(request: RecordedRequest): Reply {
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const now = this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
    const verdict = verifyStandardWebhook(this.key, { id: header(WEBHOOK_ID), timestamp: header(WEBHOOK_TIMESTAMP), signature: header(WEBHOOK_SIGNATURE) }, request.body, now);
    if (verdict !== 'valid') {
      this.refused.push({ request, verdict });
      return { status: 401, body: { error: `signature ${verdict}` } };
    }
    const key = header('idempotency-key');
    if (!key) return { status: 400, body: { error: 'Idempotency-Key is required' } };
    const earlier = this.answers.get(key);
    if (earlier) return earlier;
    const fault = this.faults.shift();
    if (fault && fault !== 'lost') return fault;
    const effect: ReceivedEffect = { idempotencyKey: key, webhookId: header(WEBHOOK_ID)!, body: request.json, at: new Date() };
    this.effects.push(effect);
    const reply = this.options.answer?.(effect) ?? { status: 202, body: { accepted: true, id: `refresh-${this.effects.length}` } };
    this.answers.set(key, reply);
    return fault === 'lost' ? 'drop' : reply;
  }
}

export function fakeHttpReceiver(options: FakeHttpReceiverOptions): FakeHttpReceiver {
  return new FakeHttpReceiver(options);
}
