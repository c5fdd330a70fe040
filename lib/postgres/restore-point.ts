/**
 * The statements of a cluster-wide restore point (activities/backup/restore-point.ts runs them,
 * one session per group primary): open the transaction, hold a node's distributed commits, count
 * rows, make the node's point, switch WAL and read one segment's archive state. Each step of the
 * window is one round trip per node (several statements in one simple query where they can).
 */
import type { ArchiveState } from '../../common/restore-point';
import type { QueryResult } from 'pg';
import { oneRow, type PgClient } from './client';
import { quoteIdent } from './identifiers';

/** One segment's archive state as the primary reports it, with the archiver's last failure. */
export type SegmentArchiveState = ArchiveState & { failed: string | null; failedAt: Date | null };

/**
 * How long one lock may wait before the attempt gives up, releases everything and is retried a
 * moment later: a lock that waits holds every writer queued behind it, and a retried point costs
 * nobody anything.
 */
export const RESTORE_POINT_LOCK_TIMEOUT = '50ms';
/**
 * How long any statement of the window may take: Citus carries a LOCK TABLE to the other metadata
 * nodes on connections of its own, where our lock_timeout does not hold; this bounds that wait too.
 */
export const RESTORE_POINT_STATEMENT_TIMEOUT = '10s';

/** SQLSTATEs of a lock the window gave up on (lock_timeout, a deadlock, statement_timeout): retried. */
export const LOCK_GIVEN_UP_SQLSTATES: readonly string[] = ['55P03', '40P01', '57014'];

/** `schema.table` (as citus_tables / pg_dist_partition name it) quoted for SQL. */
export function qualifiedName(table: { schema: string; name: string }): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/** Opens a node's transaction with the window's timeouts (one round trip; nothing is locked yet). */
export const BEGIN_POINT =
  `BEGIN; SET LOCAL lock_timeout = '${RESTORE_POINT_LOCK_TIMEOUT}'; ` +
  `SET LOCAL statement_timeout = '${RESTORE_POINT_STATEMENT_TIMEOUT}'`;

/**
 * Holds writers of the Citus tables (SHARE: they wait, they do not fail); on the coordinator only:
 * Citus carries a LOCK TABLE of a Citus table to every metadata node's shell table in the same
 * transaction, and a worker locking them too would be carried back to the coordinator, behind the
 * writers queued there for our lock (a wait across nodes no one detects). Taken before any
 * catalog: a writer started on a worker holds its table and then needs pg_dist_transaction to commit.
 */
export const lockTablesStatement = (tables: readonly string[]): string =>
  `LOCK TABLE ${tables.join(', ')} IN SHARE MODE`;

/** Holds a node's distributed commits: its commit-blocking catalogs in EXCLUSIVE mode. */
export const lockCatalogsStatement = (catalogs: readonly string[]): string =>
  `LOCK TABLE ${catalogs.map((c) => `pg_catalog.${quoteIdent(c)}`).join(', ')} IN EXCLUSIVE MODE`;

const PREPARED_SQL = "SELECT count(*) AS n FROM pg_prepared_xacts WHERE gid LIKE 'citus\\_%'";
const WORKER_NODES_SQL =
  "SELECT nodename AS host, nodeport AS port FROM pg_dist_node WHERE isactive AND noderole = 'primary' " +
  'AND groupid <> 0 ORDER BY nodename, nodeport';

/** The results of a simple-protocol query of several statements, in order (pg gives one result alone). */
async function simpleQuery(c: PgClient, sql: string): Promise<QueryResult[]> {
  const r = (await c.query(sql)) as QueryResult | QueryResult[];
  return Array.isArray(r) ? r : [r];
}

/** What a node reads in the same round trip as its catalog lock, once the lock is held. */
export interface LockedNode {
  /** Citus prepared transactions left on the node. */
  prepared: number;
  /** The coordinator's active primary workers (pg_dist_node), when asked. */
  workerNodes?: { host: string; port: number }[];
}

/** One round trip: the node's catalogs locked, then its prepared transactions (and worker list) read under the lock. */
export async function lockCatalogs(
  c: PgClient,
  catalogs: readonly string[],
  opts: { workerNodes: boolean },
): Promise<LockedNode> {
  const statements = [
    ...(catalogs.length ? [lockCatalogsStatement(catalogs)] : []),
    PREPARED_SQL,
    ...(opts.workerNodes ? [WORKER_NODES_SQL] : []),
  ];
  const results = (await simpleQuery(c, statements.join('; '))).filter((r) => r.command === 'SELECT');
  const prepared = Number((results[0]?.rows[0] as { n: string } | undefined)?.n ?? 0);
  if (!opts.workerNodes) return { prepared };
  const rows = (results[1]?.rows ?? []) as { host: string; port: number | string }[];
  return { prepared, workerNodes: rows.map((r) => ({ host: r.host, port: Number(r.port) })) };
}

/** The node's point, in the same round trip its WAL position and clock: what the record keeps of it. */
export async function createLocalPoint(c: PgClient, name: string): Promise<{ lsn: string; walFile: string; at: Date }> {
  return oneRow<{ lsn: string; walFile: string; at: Date }>(
    c,
    'SELECT p::text AS lsn, pg_walfile_name(p) AS "walFile", clock_timestamp() AS at ' +
      'FROM pg_create_restore_point($1) AS p',
    [name],
  );
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
  return Number((await oneRow<{ n: string }>(c, PREPARED_SQL)).n);
}

/**
 * Readies a fresh session for counting the tables (`qualified`: from qualifiedName) without reading
 * a row: each is counted where no row can be (ctid (0,0): offset 0 names no tuple, a TID scan finds
 * none at once), a query Citus cannot prune, so it runs on every shard like the count (its
 * metadata loaded, its connections to the workers opened and cached for the window's lock and
 * count), in one round trip. A whole count did the same at the price of a second scan of every table.
 */
export async function warmUpCounts(c: PgClient, qualified: readonly string[]): Promise<void> {
  if (!qualified.length) return;
  await simpleQuery(c, qualified.map((t) => `SELECT count(*) FROM ${t} WHERE ctid = '(0,0)'::tid`).join('; '));
}

/** Rows of every table (`qualified`: from qualifiedName), in one round trip, by table. */
export async function countRows(c: PgClient, qualified: readonly string[]): Promise<Record<string, number>> {
  if (!qualified.length) return {};
  const results = await simpleQuery(c, qualified.map((t) => `SELECT count(*) AS n FROM ${t}`).join('; '));
  return Object.fromEntries(qualified.map((t, i) => [t, Number((results[i]!.rows[0] as { n: string }).n)]));
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
