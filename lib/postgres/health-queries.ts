/**
 * The health check's reads of a node: role, timeline, WAL positions, walsenders with their lag,
 * the WAL receiver and the replication slots in one round trip (the same statement on a primary
 * and on a standby), and on the coordinator the Citus node health check and pg_dist_node.
 * Read-only; each throws what pg throws (the caller turns it into a report entry).
 */
import type { DistNodeRow, NodeHealthRow, NodeSqlView } from '../../common/health-observation';
import { oneRow, type PgClient } from './client';

/**
 * pg_current_wal_lsn() fails during recovery: it sits only in CASE branches a primary reaches
 * (volatile functions are not folded early). A standby's slots are measured against what it received.
 */
export const NODE_HEALTH_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
       (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline,
       current_setting('synchronous_standby_names') AS sync_names,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()::text ELSE pg_current_wal_lsn()::text END AS lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replay_lsn,
       (SELECT json_build_object('status', status, 'sender_host', sender_host)
          FROM pg_stat_wal_receiver LIMIT 1) AS receiver,
       CASE WHEN pg_is_in_recovery() THEN '[]'::json
            ELSE coalesce((SELECT json_agg(json_build_object(
                     'standby', application_name, 'state', state, 'sync_state', sync_state,
                     'lag_bytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
                     'lag_seconds', extract(epoch FROM replay_lag)))
                   FROM pg_stat_replication), '[]'::json)
       END AS replication,
       coalesce((SELECT json_agg(json_build_object(
                  'name', slot_name, 'active', active, 'wal_status', wal_status,
                  'retained_bytes', CASE
                    WHEN restart_lsn IS NULL THEN NULL
                    WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn)
                    ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END) ORDER BY slot_name)
                 FROM pg_replication_slots WHERE slot_type = 'physical'), '[]'::json) AS slots`;

interface NodeHealthSqlRow {
  in_recovery: boolean;
  timeline: number | string | null;
  sync_names: string | null;
  lsn: string | null;
  replay_lsn: string | null;
  receiver: { status: string; sender_host: string | null } | null;
  replication: Array<{ standby: string; state: string; sync_state: string; lag_bytes: number | string | null; lag_seconds: number | string | null }> | null;
  slots: Array<{ name: string; active: boolean; wal_status: string | null; retained_bytes: number | string | null }> | null;
}

const num = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

export async function readNodeHealth(c: PgClient): Promise<NodeSqlView> {
  const row = await oneRow<NodeHealthSqlRow & Record<string, unknown>>(c, NODE_HEALTH_SQL);
  return {
    ok: true,
    inRecovery: row.in_recovery,
    timeline: num(row.timeline),
    lsn: row.lsn,
    replayLsn: row.replay_lsn,
    receiver: row.receiver ? { status: row.receiver.status, senderHost: row.receiver.sender_host } : null,
    replication: (row.replication ?? []).map((r) => ({ standby: r.standby, state: r.state, syncState: r.sync_state, lagBytes: num(r.lag_bytes), lagSeconds: num(r.lag_seconds) })),
    slots: (row.slots ?? []).map((s) => ({ name: s.name, active: s.active, walStatus: s.wal_status, retainedBytes: num(s.retained_bytes) })),
    syncNames: row.sync_names ?? '',
  };
}

/** SQLSTATE 42883 undefined_function: this Citus (or the test double) has no such function. */
export const UNDEFINED_FUNCTION = '42883';

/** citus_check_cluster_node_health() on the coordinator: every active primary's view of every other. */
export async function citusNodeHealth(c: PgClient): Promise<NodeHealthRow[]> {
  const r = await c.query<{ from_nodename: string; from_nodeport: number; to_nodename: string; to_nodeport: number; result: boolean | null }>(
    'SELECT from_nodename, from_nodeport, to_nodename, to_nodeport, result FROM citus_check_cluster_node_health()',
  );
  return r.rows.map((x) => ({ from: x.from_nodename, fromPort: Number(x.from_nodeport), to: x.to_nodename, toPort: Number(x.to_nodeport), result: x.result }));
}

export async function distNodes(c: PgClient): Promise<DistNodeRow[]> {
  const r = await c.query<{ nodeid: number; groupid: number; nodename: string; nodeport: number; noderole: string; isactive: boolean; hasmetadata: boolean; metadatasynced: boolean }>(
    'SELECT nodeid, groupid, nodename, nodeport, noderole::text AS noderole, isactive, hasmetadata, metadatasynced ' +
      'FROM pg_dist_node ORDER BY nodeid',
  );
  return r.rows.map((x) => ({ ...x, nodeid: Number(x.nodeid), groupid: Number(x.groupid), nodeport: Number(x.nodeport) }));
}
