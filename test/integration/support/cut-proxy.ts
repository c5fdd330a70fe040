/**
 * A TCP proxy on 127.0.0.1 that the test controls: it forwards to a member's port until the client
 * sends a message matching `trigger` (or, over TLS, where the bytes say nothing, the first message
 * after arm()); it forwards that message, then cuts every connection (the client's at once; the
 * server's a second later, so the backend runs what it received) and refuses every new one until
 * restore(). What a network loses between a request and its answer.
 */
import * as net from 'node:net';

export class CutProxy {
  private cut = false;
  private readonly sockets = new Set<net.Socket>();
  /** When the trigger was forwarded (epoch ms), once. */
  triggeredAt?: number;
  private armed = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, trigger: RegExp): Promise<CutProxy> {
    const holder: { proxy?: CutProxy } = {};
    const server = net.createServer((client) => {
      if (holder.proxy) holder.proxy.accept(client, targetPort, trigger);
      else client.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.proxy = new CutProxy(server, (server.address() as net.AddressInfo).port);
    return holder.proxy;
  }

  private accept(client: net.Socket, targetPort: number, trigger: RegExp): void {
    if (this.cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    }
    client.on('close', () => setTimeout(() => upstream.destroy(), 1000));
    upstream.on('close', () => client.destroy());
    upstream.on('data', (chunk: Buffer) => {
      if (!this.cut) client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (this.cut) return;
      upstream.write(chunk);
      if (this.armed || trigger.test(chunk.toString('latin1'))) {
        this.triggeredAt = Date.now();
        this.cutAll();
      }
    });
  }

  /** Drops every client connection now (their server sides a second later) and refuses new ones. */
  cutAll(): void {
    this.cut = true;
    this.armed = false;
    for (const s of this.sockets) if (s.remotePort !== undefined && s.localPort === this.port) s.destroy();
  }

  /** The next message any client sends is the trigger (the caller knows what it is about to send). */
  arm(): void {
    this.armed = true;
  }

  /** Forwards new connections again. */
  restore(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
