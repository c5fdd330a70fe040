/**
 * PgBouncer's admin console (database `pgbouncer`), reached as the admin user only the orchestrator
 * knows. The console speaks the simple query protocol only: every command here is sent without
 * parameters (node-postgres then uses a simple Query message).
 *
 * Facts relied on (PgBouncer 1.24, checked against a real one):
 * - `PAUSE db` marks the database paused at once (new client transactions wait), then returns
 *   only once every server connection is released and closed (in transaction pooling: once the
 *   transactions in flight have finished).
 * - The pause outlives the admin connection that asked for it: whoever pauses must resume, and
 *   a retry after a crash finds it paused (`SHOW DATABASES`, column `paused`).
 * - `RESUME db` from another admin connection ends a pause, also one whose PAUSE is still waiting;
 *   that PAUSE then never answers, so its connection is abandoned (closed), never awaited.
 * - `RESUME db` on a database that is not paused fails ("database ... is not paused").
 * - `RELOAD` re-reads the config and the auth file before it answers; a changed [databases]
 *   host applies to server connections opened afterwards.
 */
import type { Client } from 'pg';
import type { ClusterSpec } from '../../common/spec';
import { DATABASE } from '../../common/topology';
import type { ActivityDeps } from '../deps';
import { PGBOUNCER_ADMIN_USER } from './pgbouncer';

export interface BouncerDatabase {
  host: string;
  paused: boolean;
}

export async function withBouncerAdmin<T>(deps: ActivityDeps, spec: ClusterSpec, fn: (c: Client) => Promise<T>): Promise<T> {
  const s = await deps.secrets.ensure(spec.name);
  return deps.pg.withClient({ port: spec.pgbouncer.port, user: PGBOUNCER_ADMIN_USER, password: s.pgbouncerAdminPassword, database: 'pgbouncer' }, fn);
}

/** The cluster database's entry as PgBouncer runs it now. */
export async function bouncerDatabase(c: Client): Promise<BouncerDatabase | undefined> {
  const rows = (await c.query<{ name: string; host: string | null; paused: number | string }>('SHOW DATABASES')).rows;
  const row = rows.find((r) => r.name === DATABASE);
  return row ? { host: row.host ?? '', paused: Number(row.paused) === 1 } : undefined;
}

/** Server connections PgBouncer still holds to the cluster database (0 once a PAUSE completed). */
export async function serverConnections(c: Client): Promise<number> {
  const rows = (await c.query<{ database: string }>('SHOW SERVERS')).rows;
  return rows.filter((r) => r.database === DATABASE).length;
}

/** Starts PAUSE; the promise settles when PgBouncer answers (maybe never, see above). */
export function startPause(c: Client): Promise<unknown> {
  return c.query(`PAUSE ${DATABASE}`);
}

export async function reload(c: Client): Promise<void> {
  await c.query('RELOAD');
}

/** RESUME, accepting "not paused" (a retry, or a pause that another RESUME already ended). */
export async function resume(c: Client): Promise<{ resumed: boolean }> {
  try {
    await c.query(`RESUME ${DATABASE}`);
    return { resumed: true };
  } catch (err) {
    if (/is not paused|not paused/i.test((err as Error).message)) return { resumed: false };
    throw err;
  }
}
