/**
 * An impostor on a PostgreSQL port: it answers like a server and asks every client for its
 * password, recording whatever password message arrives. To an SSLRequest it says yes ('S') and
 * presents `cert` when it has one (a certificate of its own making, or one for another name), no
 * ('N') otherwise; to a plain startup it asks for a cleartext password (or offers `sasl` mechanisms).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface ImpostorOptions {
  port?: number;
  /** What it presents after an SSLRequest; none: it answers 'N'. */
  cert?: { certPem: string; keyPem: string };
  /** Offer SASL with these mechanisms instead of asking for a cleartext password. */
  sasl?: string[];
}

export interface Impostor {
  port: number;
  /** Connections accepted. */
  connections: number;
  /** Connections that finished a TLS handshake with it. */
  tlsHandshakes: number;
  /** Startup messages received (a client got as far as saying who it is). */
  startups: number;
  /** Password messages received: the payload of each 'p' message (a cleartext password, or a SASL response). */
  passwords: Buffer[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;

function authRequest(sasl?: string[]): Buffer {
  if (!sasl) return Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]); // AuthenticationCleartextPassword
  const body = Buffer.concat([...sasl.map((m) => Buffer.from(m + '\0')), Buffer.from([0])]);
  const head = Buffer.alloc(9);
  head.write('R', 0);
  head.writeInt32BE(8 + body.length, 1);
  head.writeInt32BE(10, 5); // AuthenticationSASL
  return Buffer.concat([head, body]);
}

export async function startImpostor(opts: ImpostorOptions = {}): Promise<Impostor> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, tlsHandshakes: 0, startups: 0, passwords: [] as Buffer[] };
  /** After the startup message: every 'p' message is a password (or SASL) answer. */
  const speak = (s: net.Socket) => {
    let buf = Buffer.alloc(0);
    let started = false;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (!started) {
          if (buf.length < 4 || buf.length < buf.readInt32BE(0)) return;
          buf = buf.subarray(buf.readInt32BE(0));
          started = true;
          state.startups++;
          s.write(authRequest(opts.sasl));
          continue;
        }
        if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) return;
        const len = buf.readInt32BE(1);
        if (buf[0] === 0x70) state.passwords.push(Buffer.from(buf.subarray(5, 1 + len)));
        buf = buf.subarray(1 + len);
      }
    });
    s.on('error', () => undefined);
  };
  const server = net.createServer((raw) => {
    state.connections++;
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    raw.once('data', (first: Buffer) => {
      if (first.length >= 8 && first.readInt32BE(4) === SSL_REQUEST) {
        if (!opts.cert) {
          raw.write('N');
          speak(raw);
          return;
        }
        raw.write('S');
        const secure = new tls.TLSSocket(raw, { isServer: true, cert: opts.cert.certPem, key: opts.cert.keyPem });
        secure.on('secure', () => state.tlsHandshakes++);
        speak(secure);
        return;
      }
      speak(raw);
      raw.emit('data', first);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    get tlsHandshakes() {
      return state.tlsHandshakes;
    },
    get startups() {
      return state.startups;
    },
    passwords: state.passwords,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
