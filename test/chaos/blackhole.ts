// A TCP forwarder that stands in for the network between the sidecar and one cluster. Cutting it
// drops traffic the way a partition does, not the way a dead server does: nothing is refused or
// reset, existing connections stop carrying bytes in either direction and new connections are
// accepted and then hear nothing, so every request hangs until the client's own timeout. Healing
// lets the held connections carry on, as they would once a real network came back.
import net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
}

export class Blackhole {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private cut = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `https://127.0.0.1:${this.port}`;
  }

  get partitioned(): boolean {
    return this.cut;
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, upstream: undefined };
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', drop);
    client.on('close', drop);
    if (this.cut) client.pause();
    else this.connect(pair, drop);
  }

  private connect(pair: Pair, drop: () => void): void {
    const up = net.connect(this.target.port, this.target.host);
    pair.upstream = up;
    up.on('error', drop);
    up.on('close', drop);
    pair.client.pipe(up);
    up.pipe(pair.client);
  }

  /** Stops carrying bytes, both ways, on every connection, old and new. */
  partition(): void {
    this.cut = true;
    for (const p of this.pairs) {
      p.client.unpipe();
      p.upstream?.unpipe();
      p.client.pause();
      p.upstream?.pause();
    }
  }

  heal(): void {
    this.cut = false;
    for (const p of this.pairs) {
      if (!p.upstream) {
        this.connect(p, () => {
          this.pairs.delete(p);
          p.client.destroy();
          p.upstream?.destroy();
        });
        continue;
      }
      p.client.pipe(p.upstream);
      p.upstream.pipe(p.client);
    }
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
