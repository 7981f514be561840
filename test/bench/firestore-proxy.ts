import http2, { type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';

// An HTTP/2 (cleartext) proxy in front of the Firestore emulator that sees every gRPC call
// of every processor instance pointed at it (FIRESTORE_EMULATOR_HOST): the method of each
// call (its `:path`), and for commits the documents written, decoded from the request
// (gRPC frames: a 1-byte compressed flag and a 4-byte length before each protobuf message,
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md; the protobuf wire format,
// https://protobuf.dev/programming-guides/encoding/; field numbers of CommitRequest, Write,
// Document and DocumentTransform from googleapis/google/firestore/v1/firestore.proto and
// write.proto). Only what the bench reports is decoded: which documents each commit
// writes, and when.

/** One document written by one accepted commit, at the proxy's clock. */
export interface DocumentWrite {
  at: number;
  /** The document's path under `documents/`: `collection/id`. */
  path: string;
}

export class FirestoreProxy {
  private server: Http2Server | undefined;
  private upstream: ClientHttp2Session | undefined;
  readonly writes: DocumentWrite[] = [];
  /** gRPC calls by method name (Commit, BatchGetDocuments, RunQuery, …). */
  readonly calls = new Map<string, number>();

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.upstream = http2.connect(`http://${this.target}`);
    this.upstream.on('error', () => undefined);
    this.server = http2.createServer();
    this.server.on('stream', (stream, headers) => this.forward(stream, headers));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.writes.length = 0;
    this.calls.clear();
  }

  /** The most writes any one document took within one second (a sliding window), and which document. */
  maxWritesPerSecond(filter: (path: string) => boolean = () => true): { writes: number; path: string | null } {
    const byPath = new Map<string, number[]>();
    for (const w of this.writes) if (filter(w.path)) byPath.set(w.path, [...(byPath.get(w.path) ?? []), w.at]);
    let best = { writes: 0, path: null as string | null };
    for (const [path, times] of byPath) {
      times.sort((a, b) => a - b);
      let start = 0;
      for (let end = 0; end < times.length; end++) {
        while (times[end]! - times[start]! >= 1000) start++;
        if (end - start + 1 > best.writes) best = { writes: end - start + 1, path };
      }
    }
    return best;
  }

  private forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = String(headers[':path'] ?? '');
    const method = path.slice(path.lastIndexOf('/') + 1);
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    const outgoing: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || (name.startsWith(':') && name !== ':path' && name !== ':method')) continue;
      outgoing[name] = value as string | string[];
    }
    const up = this.upstream!.request(outgoing);
    const body: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => {
      if (method === 'Commit') body.push(chunk);
      up.write(chunk);
    });
    stream.on('end', () => up.end());
    // A commit's writes count once Firestore accepted it (grpc-status 0): one refused for a
    // precondition wrote nothing.
    const accepted = (headers: IncomingHttpHeaders) => {
      if (method !== 'Commit' || headers['grpc-status'] !== '0') return;
      for (const name of committedDocuments(Buffer.concat(body))) this.writes.push({ at: Date.now(), path: name.slice(name.indexOf('/documents/') + '/documents/'.length) });
    };
    let trailersOnly = false;
    up.on('response', (response) => {
      const { [':status']: status, ...rest } = response;
      accepted(response);
      // A "trailers-only" answer (an error: grpc-status in the headers, nothing after) is passed on as one.
      trailersOnly = rest['grpc-status'] !== undefined;
      if (trailersOnly) stream.respond({ ':status': status ?? 200, ...rest }, { endStream: true });
      else stream.respond({ ':status': status ?? 200, ...rest }, { waitForTrailers: true });
    });
    let trailers: IncomingHttpHeaders = {};
    up.on('trailers', (t) => {
      trailers = t;
      accepted(t);
    });
    stream.on('wantTrailers', () => stream.sendTrailers(Object.fromEntries(Object.entries(trailers).filter(([name]) => !name.startsWith(':')))));
    up.on('data', (chunk: Buffer) => stream.write(chunk));
    up.on('end', () => {
      if (!trailersOnly) stream.end();
    });
    up.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('error', () => up.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('close', () => {
      if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
    });
  }

  async stop(): Promise<void> {
    this.upstream?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The document names a CommitRequest writes: each Write's update.name (1.1), delete (2) or transform.document (6.1). */
export function committedDocuments(grpcBody: Buffer): string[] {
  const names: string[] = [];
  for (let offset = 0; offset + 5 <= grpcBody.length; ) {
    const length = grpcBody.readUInt32BE(offset + 1);
    const message = grpcBody.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    for (const [field, value] of fields(message)) {
      if (field !== 2 || !Buffer.isBuffer(value)) continue; // CommitRequest.writes
      for (const [wf, wv] of fields(value)) {
        if (!Buffer.isBuffer(wv)) continue;
        if (wf === 2) names.push(wv.toString('utf8')); // Write.delete
        if (wf === 1 || wf === 6) for (const [df, dv] of fields(wv)) if (df === 1 && Buffer.isBuffer(dv)) names.push(dv.toString('utf8')); // update.name, transform.document
      }
    }
  }
  return names;
}

/** A protobuf message's top-level fields: numbers for varints and fixed-width values, buffers for length-delimited ones. */
function* fields(message: Buffer): Generator<[number, number | Buffer]> {
  let i = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = message[i++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  };
  while (i < message.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        yield [field, varint()];
        break;
      case 1:
        i += 8;
        yield [field, 0];
        break;
      case 2: {
        const length = varint();
        yield [field, message.subarray(i, i + length)];
        i += length;
        break;
      }
      case 5:
        i += 4;
        yield [field, 0];
        break;
      default:
        return; // groups are not used by Firestore's messages
    }
  }
}
