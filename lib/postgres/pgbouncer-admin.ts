/**
 * PgBouncer's admin console (database `pgbouncer`). The console speaks the simple query protocol
 * only: every command here is sent without parameters (node-postgres then uses a simple Query message).
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
import type { PoolView } from '../../common/health-observation';
import { DATABASE } from '../../common/topology';
import type { PgClient } from './client';

export interface BouncerDatabase {
  host: string;
  paused: boolean;
}

/** The cluster database's entry as PgBouncer runs it now. */
export async function bouncerDatabase(c: PgClient): Promise<BouncerDatabase | undefined> {
  const rows = (await c.query<{ name: string; host: string | null; paused: number | string }>('SHOW DATABASES')).rows;
  const row = rows.find((r) => r.name === DATABASE);
  return row ? { host: row.host ?? '', paused: Number(row.paused) === 1 } : undefined;
}

/** Server connections PgBouncer still holds to the cluster database (0 once a PAUSE completed). */
export async function serverConnections(c: PgClient): Promise<number> {
  const rows = (await c.query<{ database: string }>('SHOW SERVERS')).rows;
  return rows.filter((r) => r.database === DATABASE).length;
}

/** Starts PAUSE; the promise settles when PgBouncer answers (maybe never, see above). */
export function startPause(c: PgClient): Promise<unknown> {
  return c.query(`PAUSE ${DATABASE}`);
}

export async function reload(c: PgClient): Promise<void> {
  await c.query('RELOAD');
}

/** RESUME, accepting "not paused" (a retry, or a pause that another RESUME already ended). */
export async function resume(c: PgClient): Promise<{ resumed: boolean }> {
  try {
    await c.query(`RESUME ${DATABASE}`);
    return { resumed: true };
  } catch (err) {
    if (/is not paused|not paused/i.test((err as Error).message)) return { resumed: false };
    throw err;
  }
}

interface PoolRow {
  database: string;
  user: string;
  cl_active: string | number;
  cl_waiting: string | number;
  sv_active: string | number;
  sv_idle: string | number;
  sv_used: string | number;
  maxwait: string | number;
  pool_mode: string | null;
}

/** SHOW POOLS (the admin console speaks the simple protocol only: no parameters). */
export async function showPools(c: PgClient): Promise<PoolView[]> {
  const rows = (await c.query<PoolRow>('SHOW POOLS')).rows;
  return rows
    .filter((r) => r.database !== 'pgbouncer') // the admin console's own pseudo pool
    .map((r) => ({
      database: r.database,
      user: r.user,
      clActive: Number(r.cl_active),
      clWaiting: Number(r.cl_waiting),
      svActive: Number(r.sv_active),
      svIdle: Number(r.sv_idle),
      svUsed: Number(r.sv_used),
      maxWaitSeconds: Number(r.maxwait),
      poolMode: r.pool_mode ?? '',
    }));
}

/**
 * One view of several processes: pools summed per database and user (the longest wait kept), the
 * database paused if any process is, and its host as every process has it (hosts joined with " | "
 * when processes disagree, which the health check then reports as a mismatch).
 */
export function combineProcesses(views: { database: BouncerDatabase | null; pools: PoolView[] }[]): {
  database: BouncerDatabase | null;
  pools: PoolView[];
} {
  const dbs = views.map((v) => v.database).filter((d): d is BouncerDatabase => d !== null);
  const hosts = [...new Set(dbs.map((d) => d.host))];
  const database = dbs.length ? { host: hosts.join(' | '), paused: dbs.some((d) => d.paused) } : null;
  const pools = new Map<string, PoolView>();
  for (const p of views.flatMap((v) => v.pools)) {
    const key = `${p.database}\u0000${p.user}`;
    const seen = pools.get(key);
    pools.set(
      key,
      seen
        ? {
            ...seen,
            clActive: seen.clActive + p.clActive,
            clWaiting: seen.clWaiting + p.clWaiting,
            svActive: seen.svActive + p.svActive,
            svIdle: seen.svIdle + p.svIdle,
            svUsed: seen.svUsed + p.svUsed,
            maxWaitSeconds: Math.max(seen.maxWaitSeconds, p.maxWaitSeconds),
          }
        : { ...p },
    );
  }
  return { database, pools: [...pools.values()] };
}
