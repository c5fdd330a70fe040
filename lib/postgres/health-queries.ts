/**
 * Reads of the Citus metadata on the coordinator: the Citus node health check, pg_dist_node, and
 * the demo table's shards per worker (`citusctl status`). A member's own view is member.ts.
 * Read-only; each throws what pg throws (the caller turns it into a report entry).
 */
import type { DistNodeRow, NodeHealthRow } from '../../common/health-observation';
import type { PgClient } from './client';

/** SQLSTATE 42883 undefined_function: this Citus (or the test double) has no such function. */
export const UNDEFINED_FUNCTION = '42883';

/** citus_check_cluster_node_health() on the coordinator: every active primary's view of every other. */
export async function citusNodeHealth(c: PgClient): Promise<NodeHealthRow[]> {
  const r = await c.query<{
    from_nodename: string;
    from_nodeport: number;
    to_nodename: string;
    to_nodeport: number;
    result: boolean | null;
  }>('SELECT from_nodename, from_nodeport, to_nodename, to_nodeport, result FROM citus_check_cluster_node_health()');
  return r.rows.map((x) => ({
    from: x.from_nodename,
    fromPort: Number(x.from_nodeport),
    to: x.to_nodename,
    toPort: Number(x.to_nodeport),
    result: x.result,
  }));
}

export async function distNodes(c: PgClient): Promise<DistNodeRow[]> {
  const r = await c.query<DistNodeRow>(
    'SELECT nodeid, groupid, nodename, nodeport, noderole::text AS noderole, isactive, hasmetadata, metadatasynced ' +
      'FROM pg_dist_node ORDER BY nodeid',
  );
  return r.rows.map((x) => ({
    ...x,
    nodeid: Number(x.nodeid),
    groupid: Number(x.groupid),
    nodeport: Number(x.nodeport),
  }));
}

export interface WorkerShards {
  nodename: string;
  nodeport: number;
  noderole: string;
  isactive: boolean;
  /** Placements of `table` on the node's group. */
  shards: number;
}

/** Every worker node (group <> 0) with how many placements of `table` its group holds. */
export async function workerShards(c: PgClient, table: string): Promise<WorkerShards[]> {
  const r = await c.query<{ nodename: string; nodeport: number; noderole: string; isactive: boolean; shards: string }>(
    `SELECT n.nodename, n.nodeport, n.noderole::text AS noderole, n.isactive,
            (SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid)
              WHERE p.groupid = n.groupid AND s.logicalrelid = to_regclass($1)) AS shards
       FROM pg_dist_node n WHERE n.groupid <> 0 ORDER BY n.nodeid`,
    [table],
  );
  return r.rows.map((x) => ({ ...x, shards: Number(x.shards) }));
}
