/**
 * What a client's multi-host connection string does (`host=a,b port=p,p
 * target_session_attrs=read-write`, common/addressing.ts clientHosts): each PgBouncer in turn, the
 * first that connects and accepts writes. node-postgres lacks target_session_attrs, so the
 * several-hosts tests and bench/host-failover do it here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { pgbouncerHosts } from '../../../common/addressing';
import type { ClusterSpec } from '../../../common/spec';

export interface MultiHostClientOptions {
  /** The cluster's state directory (its secrets and CA). */
  stateDir: string;
  /** Per PgBouncer tried (libpq's connect_timeout). Default 2000. */
  connectTimeoutMs?: number;
  /** Client-side bound of each statement: one stuck on a dead host errs and its writer reconnects. */
  queryTimeoutMs: number;
}

/** The app user's session through the first PgBouncer that accepts writes (verify-full TLS); else throws why. */
export async function multiHostClient(spec: ClusterSpec, o: MultiHostClientOptions): Promise<Client> {
  const dir = path.join(o.stateDir, 'clusters', spec.name);
  const { appPassword } = JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8')) as {
    appPassword: string;
  };
  const ca = fs.readFileSync(path.join(dir, 'tls', 'ca.crt'), 'utf8');
  const why: string[] = [];
  for (const h of pgbouncerHosts(spec)) {
    const c = new Client({
      host: h.address,
      port: spec.pgbouncer.port,
      user: 'app',
      password: appPassword,
      database: 'postgres',
      connectionTimeoutMillis: o.connectTimeoutMs ?? 2000,
      query_timeout: o.queryTimeoutMs,
      ssl: { ca, servername: 'pgbouncer', rejectUnauthorized: true },
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const r = await c.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
      if (r.rows[0]?.transaction_read_only === 'off') return c;
      why.push(`${h.name}: read-only`);
    } catch (err) {
      why.push(`${h.name}: ${(err as Error).message}`);
    }
    await c.end().catch(() => undefined);
  }
  throw new Error(`no PgBouncer accepts writes: ${why.join('; ')}`);
}
