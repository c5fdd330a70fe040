/**
 * Connects to a node through its port published on 127.0.0.1. One connection per use, always closed.
 *
 * A member's host port is free while the member is down, and anything local may bind it: so the
 * server must first prove, by a certificate the cluster's CA issued for the name we expect, that it
 * is the member (verify-full, with the member's name as the TLS server name since the address is
 * 127.0.0.1), and only then is a password used, only through SCRAM (a server asking for a
 * cleartext or MD5 password is refused), bound to that TLS channel where the server offers it.
 */
import { Client } from 'pg';
import { DATABASE } from '../common/topology';

/** What the server must prove before any password is used. */
export interface PgTls {
  /** The CAs to trust (PEM bundle: the cluster's trust bundle). */
  ca: string;
  /** The name the server's certificate must carry: the member's name, or `pgbouncer`. */
  servername: string;
}

export interface PgTarget {
  /** The address (default: the connector's, 127.0.0.1): a host's address with several hosts (common/addressing.ts). */
  host?: string;
  port: number;
  user: string;
  password: string;
  database?: string;
  /** verify-full TLS (every PostgreSQL member); null: plain TCP (only where the server offers no TLS). */
  tls: PgTls | null;
  /**
   * Connect timeout (default 3000 ms) and client-side query
   * timeout (default none): the monitor's probe uses short ones.
   */
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

/** Opens a short-lived connection and always closes it. */
export interface PgConnector {
  withClient<T>(target: PgTarget, fn: (client: Client) => Promise<T>): Promise<T>;
}

/** A connection refused before any password was sent: the server is not the one we asked for. */
export class ServerRefusedError extends Error {
  constructor(
    message: string,
    readonly reason: 'certificate' | 'no-tls' | 'weak-auth',
  ) {
    super(message);
    this.name = 'ServerRefusedError';
  }
}

/** Node's codes for a certificate that does not prove the server's identity. */
const CERT_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

/** pg's words when the server answers the SSLRequest with anything but "S". */
const NO_TLS = /server does not support SSL connections|error establishing an SSL connection/;

/** Says which refusals were the server failing to prove itself (no password was sent). */
export function explainConnectError(err: unknown, host: string, port: number, tls: PgTls | null): unknown {
  const e = err as NodeJS.ErrnoException;
  const where = `${host}:${port}`;
  if (tls && e.code && CERT_CODES.has(e.code))
    return new ServerRefusedError(
      `refused the server on ${where}: its TLS certificate does not prove it is ${tls.servername} of this cluster ` +
        `(${e.code}: ${e.message}); no password was sent (an impostor on the port?)`,
      'certificate',
    );
  if (tls && NO_TLS.test(e.message ?? ''))
    return new ServerRefusedError(
      `refused the server on ${where}: it does not offer TLS, so it cannot be ${tls.servername}; ` +
        'no password was sent (an impostor on the port?)',
      'no-tls',
    );
  return err;
}

export function createPgConnector(defaultHost = '127.0.0.1'): PgConnector {
  return {
    async withClient(target: PgTarget, fn) {
      const { tls } = target;
      const host = target.host ?? defaultHost;
      // Set by the server's password request, before pg's own handler asks for the password.
      let weakAuth: string | undefined;
      const client = new Client({
        host,
        port: target.port,
        user: target.user,
        password: () => {
          if (weakAuth)
            throw new ServerRefusedError(
              `refused the server on ${host}:${target.port}: it asked for a ${weakAuth} password; ` +
                'citusctl only answers SCRAM, no password was sent',
              'weak-auth',
            );
          return target.password;
        },
        database: target.database ?? DATABASE,
        ...(tls ? { ssl: { ca: tls.ca, servername: tls.servername, rejectUnauthorized: true } } : {}),
        // SCRAM-SHA-256-PLUS when the server offers it over TLS: the proof is bound to this channel.
        enableChannelBinding: tls !== null,
        connectionTimeoutMillis: target.connectTimeoutMs ?? 3000,
        ...(target.queryTimeoutMs ? { query_timeout: target.queryTimeoutMs } : {}),
        // Nothing citusctl runs should take long; a blocked statement must fail the attempt, not hang it.
        // (PgBouncer is configured to ignore it as a startup parameter.)
        statement_timeout: 60_000,
        application_name: 'citusctl',
      });
      client.connection.on('authenticationCleartextPassword', () => (weakAuth = 'cleartext'));
      client.connection.on('authenticationMD5Password', () => (weakAuth = 'MD5'));
      client.on('error', () => undefined); // a dropped connection surfaces through the pending query
      try {
        await client.connect();
      } catch (err) {
        // pg leaves the socket open when it stops at the password request: close it here.
        (client.connection as unknown as { stream?: { destroy(): void } }).stream?.destroy();
        throw explainConnectError(err, host, target.port, tls);
      }
      try {
        return await fn(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}
