import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

// A TCP proxy in front of the Firestore emulator that counts RPCs on the wire: gRPC
// runs each call as one HTTP/2 stream, opened by the client with a HEADERS frame on a
// new (odd) stream id (RFC 9113 §5.1.1, §6.2). The client-to-server bytes are parsed
// frame by frame: 24-byte connection preface, then 9-byte frame headers (24-bit length,
// 8-bit type, 8-bit flags, 31-bit stream id) and their payloads.
const PREFACE_BYTES = 24;
const HEADERS = 0x1;

export class GrpcStreamCounter {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** RPCs (new client streams) seen since the last reset. */
  count = 0;

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    const [host, port] = [this.target.slice(0, this.target.lastIndexOf(':')), Number(this.target.slice(this.target.lastIndexOf(':') + 1))];
    this.server = createServer((client) => {
      const upstream = connect(port, host);
      this.sockets.add(client).add(upstream);
      const seen = new Set<number>();
      let buffer = Buffer.alloc(0);
      let prefaceLeft = PREFACE_BYTES;
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        buffer = Buffer.concat([buffer, chunk]);
        if (prefaceLeft > 0) {
          const skip = Math.min(prefaceLeft, buffer.length);
          buffer = buffer.subarray(skip);
          prefaceLeft -= skip;
        }
        while (buffer.length >= 9) {
          const length = buffer.readUIntBE(0, 3);
          if (buffer.length < 9 + length) break;
          const type = buffer[3]!;
          const stream = buffer.readUInt32BE(5) & 0x7fffffff;
          if (type === HEADERS && stream !== 0 && !seen.has(stream)) {
            seen.add(stream);
            this.count++;
          }
          buffer = buffer.subarray(9 + length);
        }
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.count = 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
