/**
 * The statements of a cluster-wide restore point (activities/backup/restore-point.ts runs them,
 * one session per group primary): hold a node's distributed commits, count rows, make the point,
 * read WAL positions, switch WAL and read one segment's archive state.
 */
import type { ArchiveState } from '../../common/restore-point';
import { oneRow, type PgClient } from './client';
import { quoteIdent } from './identifiers';

/** One segment's archive state as the primary reports it, with the archiver's last failure. */
export type SegmentArchiveState = ArchiveState & { failed: string | null; failedAt: Date | null };

/** How long one lock may wait before the attempt gives up and releases everything (retried). */
export const RESTORE_POINT_LOCK_TIMEOUT = '2s';
/**
 * How long any statement of the window may take: Citus carries a LOCK TABLE to the other metadata
 * nodes on connections of its own, where our lock_timeout does not hold; this bounds that wait too.
 */
export const RESTORE_POINT_STATEMENT_TIMEOUT = '10s';

/** `schema.table` (as citus_tables / pg_dist_partition name it) quoted for SQL. */
export function qualifiedName(table: { schema: string; name: string }): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/**
 * What one session runs to hold a node's distributed writes: the tables (SHARE: writers wait, they
 * do not fail), then the commit-blocking catalogs (EXCLUSIVE). The tables are locked on the
 * coordinator only: Citus carries a LOCK TABLE of a Citus table to every metadata node's shell
 * table in the same transaction, and a worker locking them too would be carried back to the
 * coordinator, behind the writers queued there for our lock (a wait across nodes no one detects).
 * The catalogs come after the tables: a writer started on a worker holds its table and then needs
 * pg_dist_transaction to commit.
 */
export function holdWritesStatements(opts: {
  /** Citus tables, quoted (the coordinator, with row counts); empty otherwise. */
  tables: readonly string[];
  /** Commit-blocking catalogs present on the node; none on the coordinator (citus_create_restore_point takes them). */
  catalogs: readonly string[];
}): string[] {
  const statements = [
    'BEGIN',
    `SET LOCAL lock_timeout = '${RESTORE_POINT_LOCK_TIMEOUT}'`,
    `SET LOCAL statement_timeout = '${RESTORE_POINT_STATEMENT_TIMEOUT}'`,
  ];
  if (opts.tables.length) statements.push(`LOCK TABLE ${opts.tables.join(', ')} IN SHARE MODE`);
  if (opts.catalogs.length)
    statements.push(
      `LOCK TABLE ${opts.catalogs.map((c) => `pg_catalog.${quoteIdent(c)}`).join(', ')} IN EXCLUSIVE MODE`,
    );
  return statements;
}

export async function runStatements(c: PgClient, statements: readonly string[]): Promise<void> {
  for (const s of statements) await c.query(s);
}

export const commit = (c: PgClient) => c.query('COMMIT').then(() => undefined);
/** Ends the transaction; an error (a broken connection: its locks are gone with it) is ignored. */
export const rollbackQuietly = (c: PgClient) =>
  c.query('ROLLBACK').then(
    () => undefined,
    () => undefined,
  );

/** Citus tables (every kind: distributed, reference, local), from the coordinator's pg_dist_partition. */
export async function citusTables(c: PgClient): Promise<{ schema: string; name: string }[]> {
  const r = await c.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, t.relname AS name
       FROM pg_dist_partition p JOIN pg_class t ON t.oid = p.logicalrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      ORDER BY 1, 2`,
  );
  return r.rows;
}

/** Of the given relation names, those that exist on this node (to_regclass), in order. */
export async function existingRelations(c: PgClient, names: readonly string[]): Promise<string[]> {
  if (!names.length) return [];
  const r = await oneRow<{ present: boolean[] }>(
    c,
    `SELECT array_agg(to_regclass(n) IS NOT NULL ORDER BY i) AS present
       FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i)`,
    [names],
  );
  return names.filter((_, i) => r.present[i]);
}

/** Citus's prepared transactions still on a node (a commit whose COMMIT PREPARED has not arrived yet). */
export async function preparedCitusTransactions(c: PgClient): Promise<number> {
  return Number(
    (await oneRow<{ n: string }>(c, "SELECT count(*) AS n FROM pg_prepared_xacts WHERE gid LIKE 'citus\\_%'")).n,
  );
}

/** Rows of a table (`qualified`: from qualifiedName). */
export async function countRows(c: PgClient, qualified: string): Promise<number> {
  return Number((await oneRow<{ n: string }>(c, `SELECT count(*) AS n FROM ${qualified}`)).n);
}

/** citus_create_restore_point: the coordinator's point, and the coordinator's clock when it was made. */
export async function citusCreateRestorePoint(c: PgClient, name: string): Promise<{ lsn: string; at: Date }> {
  return oneRow<{ lsn: string; at: Date }>(
    c,
    'SELECT citus_create_restore_point($1)::text AS lsn, clock_timestamp() AS at',
    [name],
  );
}

/** The node's WAL insert position and the segment holding everything before it. */
export async function walInsertPosition(c: PgClient): Promise<{ lsn: string; walFile: string }> {
  return oneRow<{ lsn: string; walFile: string }>(
    c,
    'SELECT l::text AS lsn, pg_walfile_name(l) AS "walFile" FROM pg_current_wal_insert_lsn() AS l',
  );
}

export async function archiveMode(c: PgClient): Promise<string> {
  return (await oneRow<{ archive_mode: string }>(c, 'SHOW archive_mode')).archive_mode;
}

/** Completes the current WAL segment (nothing when nothing was written since the last switch). */
export async function switchWal(c: PgClient): Promise<void> {
  await c.query('SELECT pg_switch_wal()');
}

/** One segment's archive status files and the archiver's last success and failure. */
export async function segmentArchiveState(c: PgClient, walFile: string): Promise<SegmentArchiveState> {
  return oneRow<SegmentArchiveState & Record<string, unknown>>(
    c,
    `SELECT (pg_stat_file('pg_wal/archive_status/' || $1 || '.ready', true)).size IS NOT NULL AS ready,
            (pg_stat_file('pg_wal/archive_status/' || $1 || '.done', true)).size IS NOT NULL AS done,
            a.last_archived_wal AS "lastArchived", a.last_failed_wal AS failed, a.last_failed_time AS "failedAt"
       FROM pg_stat_archiver a`,
    [walFile],
  );
}
