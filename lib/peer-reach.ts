/**
 * Whether another host answers, without credentials: its PostgreSQL members answer an SSLRequest (the
 * first 8 bytes of any libpq connection; the server replies one byte, 'S' or 'N', before any
 * authentication), its engine's port accepts a TCP connection. Used by the self-fence loop to tell an
 * etcd outage (the other hosts answer) from this host's isolation (they do not).
 */
import * as net from 'node:net';

/** Length 8, code 80877103: PostgreSQL's SSLRequest. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

function withSocket(
  address: string,
  port: number,
  timeoutMs: number,
  onConnect: (s: net.Socket, done: (ok: boolean) => void) => void,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('connect', () => onConnect(socket, done));
  });
}

/** PostgreSQL at address:port answers an SSLRequest with 'S' or 'N' within timeoutMs. */
export function postgresAnswers(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return withSocket(address, port, timeoutMs, (s, done) => {
    s.once('data', (b: Buffer) => done(b[0] === 0x53 || b[0] === 0x4e));
    s.write(SSL_REQUEST);
  });
}

/** Something at address:port accepts a TCP connection within timeoutMs. */
export function tcpConnects(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return withSocket(address, port, timeoutMs, (_s, done) => done(true));
}
