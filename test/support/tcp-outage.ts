import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

// A TCP proxy in front of an emulator (Firestore's) that can be cut: `cut(ms)` drops every
// open connection and drops each new one at once until the outage ends, as a network
// partition or a Firestore outage looks to a gRPC client (its calls fail UNAVAILABLE and it
// reconnects with backoff). Processes under test are given the proxy's address; the test
// itself reads the emulator directly, so it can watch through the outage.
export class TcpOutageProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private downUntil = 0;
  /** Outages begun so far. */
  cuts = 0;

  constructor(private readonly target: string) {}

  /** Listens on 127.0.0.1; returns `host:port` for FIRESTORE_EMULATOR_HOST. */
  async start(): Promise<string> {
    const at = this.target.lastIndexOf(':');
    const [host, port] = [this.target.slice(0, at), Number(this.target.slice(at + 1))];
    this.server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = connect(port, host);
      this.sockets.add(client).add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get down(): boolean {
    return Date.now() < this.downUntil;
  }

  /** Begins an outage of `ms` (unless one is under way): every connection is dropped until it ends. */
  cut(ms: number): boolean {
    if (this.down) return false;
    this.downUntil = Date.now() + ms;
    this.cuts++;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    return true;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
