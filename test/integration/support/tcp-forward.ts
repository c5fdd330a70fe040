/**
 * A plain TCP forwarder in the test process: listens on `listen` (e.g. a hosts network's gateway
 * address) and pipes each connection to 127.0.0.1:`targetPort`. How a host worker running in a
 * simulated host's network namespace reaches the embedded Temporal server, which listens on
 * 127.0.0.1 only: through the host's network, so a partitioned host loses it as a real one would.
 */
import * as net from 'node:net';

export interface TcpForward {
  /** <listen address>:<port> */
  address: string;
  close(): Promise<void>;
}

export async function startTcpForward(listen: string, port: number, targetPort: number): Promise<TcpForward> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, listen, resolve);
  });
  return {
    address: `${listen}:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
