/** The WAL files a server holds: what a failover's archive catch-up compares with the repository. */
import type { PgClient } from './client';

/** The WAL segment being written now (its first 8 hex digits: the timeline). */
export async function currentWalFile(c: PgClient): Promise<string> {
  return (await c.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0]!.f;
}

/** Every file name in pg_wal (segments, partial segments, history files). Superuser. */
export async function walDirectory(c: PgClient): Promise<string[]> {
  return (await c.query<{ name: string }>('SELECT name FROM pg_ls_waldir()')).rows.map((r) => r.name);
}
