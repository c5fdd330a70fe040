/** Connects to a node through its port published on 127.0.0.1. One connection per use, always closed. */
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'pg';
import { DATABASE } from '../common/topology';

export interface PgTarget {
  port: number;
  user: string;
  password: string;
  database?: string;
  /**
   * Connect timeout (default 3000 ms) and client-side query
   * timeout (default none): the monitor's probe uses short ones.
   */
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  /** TLS, verified (e.g. PgBouncer: the cluster's CA, servername `pgbouncer`). */
  ssl?: ConnectionOptions;
}

/** Opens a short-lived connection and always closes it. */
export interface PgConnector {
  withClient<T>(target: PgTarget, fn: (client: Client) => Promise<T>): Promise<T>;
}

export function createPgConnector(host = '127.0.0.1'): PgConnector {
  return {
    async withClient(target: PgTarget, fn) {
      const client = new Client({
        host,
        port: target.port,
        user: target.user,
        password: target.password,
        database: target.database ?? DATABASE,
        connectionTimeoutMillis: target.connectTimeoutMs ?? 3000,
        ...(target.queryTimeoutMs ? { query_timeout: target.queryTimeoutMs } : {}),
        // Nothing citusctl runs should take long; a blocked statement must fail the attempt, not hang it.
        // (PgBouncer is configured to ignore it as a startup parameter.)
        statement_timeout: 60_000,
        application_name: 'citusctl',
        ...(target.ssl ? { ssl: target.ssl } : {}),
      });
      client.on('error', () => undefined); // a dropped connection surfaces through the pending query
      await client.connect();
      try {
        return await fn(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}
