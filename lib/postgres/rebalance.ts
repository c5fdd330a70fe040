/**
 * Citus's background rebalancer and node placement, one typed function per statement, run on the
 * coordinator (SQL from ../shared/docs/citus-operations.md, "Scale-out, rebalance, drain").
 * Jobs are read from pg_dist_background_job / pg_dist_background_task rather than
 * citus_rebalance_status(), which only knows the latest job and warns when there is none.
 */
import { isTerminal, type ProgressRow, type RebalanceJobState, type TransferMode } from '../../common/rebalance';
import type { PgClient } from './client';

export interface RebalanceJob {
  jobId: number;
  state: RebalanceJobState;
  /** Tasks (one per shard move) by state. */
  tasks: Record<string, number>;
  /** Messages of tasks that are not done and carry one (Citus's error of the last attempt). */
  errors: string[];
}

/** The latest rebalance job (rebalance and drain both run as job type 'rebalance'), or null. */
export async function latestRebalanceJob(c: PgClient): Promise<RebalanceJob | null> {
  const job = await c.query<{ job_id: string; state: RebalanceJobState }>(
    'SELECT job_id::text AS job_id, state::text AS state FROM pg_dist_background_job ' +
      "WHERE job_type = 'rebalance' ORDER BY job_id DESC LIMIT 1",
  );
  const row = job.rows[0];
  return row ? rebalanceJob(c, Number(row.job_id), row.state) : null;
}

/** One job by id (null when Citus no longer knows it). */
export async function readRebalanceJob(c: PgClient, jobId: number): Promise<RebalanceJob | null> {
  const job = await c.query<{ state: RebalanceJobState }>(
    'SELECT state::text AS state FROM pg_dist_background_job WHERE job_id = $1',
    [jobId],
  );
  const row = job.rows[0];
  return row ? rebalanceJob(c, jobId, row.state) : null;
}

async function rebalanceJob(c: PgClient, jobId: number, state: RebalanceJobState): Promise<RebalanceJob> {
  const tasks = await c.query<{ status: string; n: string; messages: string[] }>(
    `SELECT status::text AS status, count(*)::text AS n,
            coalesce(array_agg(format('task %s: %s', task_id, message))
                       FILTER (WHERE status::text <> 'done' AND coalesce(message, '') <> ''), '{}') AS messages
       FROM pg_dist_background_task WHERE job_id = $1 GROUP BY status`,
    [jobId],
  );
  return {
    jobId,
    state,
    tasks: Object.fromEntries(tasks.rows.map((r) => [r.status, Number(r.n)])),
    errors: tasks.rows.flatMap((r) => r.messages.map((m) => m.trim())),
  };
}

/**
 * Bytes of a job's moves (each task moves the shard its command names) and of those done, from
 * citus_shard_sizes(); null where that function is missing (the Citus test double).
 */
export async function jobMoveBytes(c: PgClient, jobId: number): Promise<{ total: number; done: number } | null> {
  const has = await c.query("SELECT 1 FROM pg_proc WHERE proname = 'citus_shard_sizes'");
  if (!has.rowCount) return null;
  const r = await c.query<{ total: string; done: string }>(
    `WITH t AS (SELECT status::text AS status,
                       substring(command FROM 'citus_move_shard_placement\\((\\d+)')::bigint AS shardid
                  FROM pg_dist_background_task WHERE job_id = $1),
          s AS (SELECT shard_id, max(size) AS size FROM citus_shard_sizes() GROUP BY shard_id)
     SELECT coalesce(sum(s.size), 0)::text AS total,
            coalesce(sum(s.size) FILTER (WHERE t.status = 'done'), 0)::text AS done
       FROM t JOIN s ON s.shard_id = t.shardid`,
    [jobId],
  );
  return { total: Number(r.rows[0]!.total), done: Number(r.rows[0]!.done) };
}

/** get_rebalance_progress(): the moves of the running job in flight (none once it ended). */
export async function rebalanceProgress(c: PgClient): Promise<ProgressRow[]> {
  const r = await c.query<{
    shardid: string;
    table_name: string;
    sourcename: string;
    targetname: string;
    progress: string;
    status: string | null;
    shard_size: string | null;
    target_shard_size: string | null;
  }>(
    `SELECT shardid::text AS shardid, table_name::text AS table_name, sourcename, targetname,
            progress::text AS progress, status,
            shard_size::text AS shard_size, target_shard_size::text AS target_shard_size
       FROM get_rebalance_progress() ORDER BY shardid`,
  );
  return r.rows.map((x) => ({
    shardId: Number(x.shardid),
    table: x.table_name,
    source: x.sourcename,
    target: x.targetname,
    progress: Number(x.progress),
    status: x.status ?? '',
    bytes: Number(x.shard_size ?? 0),
    targetBytes: Number(x.target_shard_size ?? 0),
  }));
}

/** citus_rebalance_start: the new job's id, or null when Citus finds nothing to move. */
export async function startRebalanceJob(
  c: PgClient,
  opts: { drainOnly: boolean; transferMode: TransferMode },
): Promise<number | null> {
  const r = await c.query<{ job_id: string | null }>(
    'SELECT citus_rebalance_start(drain_only => $1, shard_transfer_mode => ' +
      '$2::citus.shard_transfer_mode)::text AS job_id',
    [opts.drainOnly, opts.transferMode],
  );
  const id = r.rows[0]?.job_id;
  return id === null || id === undefined ? null : Number(id);
}

/** citus_job_cancel of a job still active; returns whether it cancelled it. */
export async function cancelRebalanceJob(c: PgClient, jobId: number): Promise<boolean> {
  const job = await readRebalanceJob(c, jobId);
  if (!job || isTerminal(job.state)) return false;
  await c.query('SELECT citus_job_cancel($1)', [jobId]);
  return true;
}

/**
 * Distributed and reference tables a logical move cannot replicate
 * UPDATE/DELETE of: no primary key and no replica identity.
 */
export async function tablesWithoutReplicaIdentity(c: PgClient): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, t.relname) AS name
       FROM pg_dist_partition p JOIN pg_class t ON t.oid = p.logicalrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE t.relkind = 'r'
        AND (t.relreplident = 'n'
             OR (t.relreplident = 'd'
                 AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indisprimary)))
      ORDER BY 1`,
  );
  return r.rows.map((x) => x.name);
}

/** What logical shard moves need on a node. */
export interface LogicalMoveSettings {
  walLevel: string;
  maxWorkerProcesses: number;
  maxReplicationSlots: number;
  maxWalSenders: number;
}

export async function logicalMoveSettings(c: PgClient): Promise<LogicalMoveSettings> {
  const r = await c.query<{ wal_level: string; mwp: string; slots: string; senders: string }>(
    "SELECT current_setting('wal_level') AS wal_level, current_setting('max_worker_processes') AS mwp, " +
      "current_setting('max_replication_slots') AS slots, current_setting('max_wal_senders') AS senders",
  );
  const x = r.rows[0]!;
  return {
    walLevel: x.wal_level,
    maxWorkerProcesses: Number(x.mwp),
    maxReplicationSlots: Number(x.slots),
    maxWalSenders: Number(x.senders),
  };
}

/** A worker primary as Citus sees it. */
export interface WorkerNode {
  nodeId: number;
  groupId: number;
  host: string;
  port: number;
  shouldHaveShards: boolean;
  placements: number;
}

export async function workerNodes(c: PgClient): Promise<WorkerNode[]> {
  const r = await c.query<{
    nodeid: number;
    groupid: number;
    nodename: string;
    nodeport: number;
    shouldhaveshards: boolean;
    placements: string;
  }>(
    `SELECT n.nodeid, n.groupid, n.nodename, n.nodeport, n.shouldhaveshards,
            (SELECT count(*) FROM pg_dist_placement p WHERE p.groupid = n.groupid)::text AS placements
       FROM pg_dist_node n WHERE n.noderole = 'primary' AND n.groupid <> 0 ORDER BY n.nodeid`,
  );
  return r.rows.map((x) => ({
    nodeId: x.nodeid,
    groupId: x.groupid,
    host: x.nodename,
    port: x.nodeport,
    shouldHaveShards: x.shouldhaveshards,
    placements: Number(x.placements),
  }));
}

/** The shard tables (schema-qualified `<table>_<shardid>`) whose placements a node's group holds. */
export async function shardTablesOnNode(c: PgClient, host: string, port: number): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, t.relname || '_' || s.shardid) AS name
       FROM pg_dist_placement p JOIN pg_dist_node d ON d.groupid = p.groupid AND d.noderole = 'primary'
       JOIN pg_dist_shard s ON s.shardid = p.shardid JOIN pg_class t ON t.oid = s.logicalrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE d.nodename = $1 AND d.nodeport = $2 ORDER BY 1`,
    [host, port],
  );
  return r.rows.map((x) => x.name);
}

/** Run on the node itself: the bytes of the given tables (absent ones count 0). */
export async function tablesBytes(c: PgClient, tables: string[]): Promise<number> {
  const r = await c.query<{ bytes: string }>(
    'SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::text AS bytes FROM unnest($1::text[]) AS t',
    [tables],
  );
  return Number(r.rows[0]!.bytes);
}

/**
 * citus_set_node_property(host, port, 'shouldhaveshards', value) unless it already holds. Returns whether it changed.
 */
export async function setShouldHaveShards(c: PgClient, host: string, port: number, value: boolean): Promise<boolean> {
  const cur = await c.query<{ v: boolean }>(
    "SELECT shouldhaveshards AS v FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2 AND noderole = 'primary'",
    [host, port],
  );
  if (!cur.rowCount || cur.rows[0]!.v === value) return false;
  await c.query("SELECT citus_set_node_property($1, $2, 'shouldhaveshards', $3)", [host, port, value]);
  return true;
}

/**
 * Citus drops a moved shard's source copy later (pg_dist_cleanup, the maintenance daemon): a node
 * removed before that keeps the orphan, and a later move back onto it fails for good. Cleans up now
 * and returns how many cleanup records still name the node's group (0 before removing it).
 * Without pg_dist_cleanup (the Citus test double) there is nothing to wait for.
 */
export async function cleanupOrphansOf(c: PgClient, host: string, port: number): Promise<number> {
  if (!(await c.query("SELECT 1 FROM pg_proc WHERE proname = 'citus_cleanup_orphaned_resources'")).rowCount) return 0;
  await c.query('CALL citus_cleanup_orphaned_resources()');
  const r = await c.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM pg_dist_cleanup WHERE node_group_id IN ' +
      "(SELECT groupid FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2 AND noderole = 'primary')",
    [host, port],
  );
  return Number(r.rows[0]!.n);
}

/** citus_remove_node unless Citus no longer knows the node. Returns whether it removed it. */
export async function removeNode(c: PgClient, host: string, port: number): Promise<boolean> {
  const cur = await c.query('SELECT 1 FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2', [host, port]);
  if (!cur.rowCount) return false;
  await c.query('SELECT citus_remove_node($1, $2)', [host, port]);
  return true;
}
