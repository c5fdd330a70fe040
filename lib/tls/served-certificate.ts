/**
 * The certificate a server presents right now, read by a TLS handshake to its published port on
 * 127.0.0.1: PostgreSQL and PgBouncer after the protocol's SSLRequest, etcd directly. Only the
 * serial is read and nothing is sent after the handshake (no password, no query): this checks
 * which certificate a reload put in service, it does not authenticate the server.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface ServedProbe {
  port: number;
  host?: string;
  /** `postgres`: the PostgreSQL SSLRequest first (PostgreSQL, PgBouncer); `none`: TLS from the first byte (etcd). */
  starttls: 'postgres' | 'none';
  /** A client certificate for servers that require one (etcd with client-certificate auth). */
  clientCert?: { certPem: string; keyPem: string };
  servername?: string;
  timeoutMs?: number;
}

/** Serials compare as numbers: one side may print a leading zero byte the other drops. */
export const normalSerial = (hex: string) => hex.toLowerCase().replace(/:/g, '').replace(/^0+/, '') || '0';

const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ECONNRESET']);
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]); // length 8, code 80877103

function connected(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)));
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** 'S' (TLS follows) or 'N' (the server refuses TLS). */
function sslAnswer(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (b: Buffer) => resolve(String.fromCharCode(b[0] ?? 0)));
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before answering the SSLRequest')));
    s.write(SSL_REQUEST);
  });
}

/** The presented certificate's serial (hex, normalised), or null when the server refuses TLS. */
export async function servedSerial(p: ServedProbe): Promise<string | null> {
  const host = p.host ?? '127.0.0.1';
  const timeoutMs = p.timeoutMs ?? 3000;
  const socket = await connected(host, p.port, timeoutMs);
  try {
    if (p.starttls === 'postgres') {
      const answer = await sslAnswer(socket);
      if (answer === 'N') return null;
      if (answer !== 'S') throw new Error(`${host}:${p.port} answered the SSLRequest with "${answer}"`);
    }
    const secure = tls.connect({
      socket,
      servername: p.servername ?? 'localhost',
      // The certificate is read, not trusted: nothing but the handshake goes over this connection.
      rejectUnauthorized: false,
      ...(p.clientCert ? { cert: p.clientCert.certPem, key: p.clientCert.keyPem } : {}),
    });
    try {
      try {
        await new Promise<void>((resolve, reject) => {
          secure.once('secureConnect', () => resolve());
          secure.once('error', reject);
        });
      } catch (err) {
        // A server speaking plain HTTP or gRPC (etcd without TLS) answers a ClientHello with
        // something that is not TLS, or hangs up.
        if (p.starttls === 'none' && NOT_TLS.has((err as NodeJS.ErrnoException).code ?? '')) return null;
        throw err;
      }
      const cert = secure.getPeerCertificate();
      if (!cert?.serialNumber) throw new Error(`${host}:${p.port} presented no certificate`);
      return normalSerial(cert.serialNumber);
    } finally {
      secure.destroy();
    }
  } finally {
    socket.destroy();
  }
}
