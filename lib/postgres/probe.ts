/** The monitor's SQL probe of one member: one statement, one round trip, the same on a primary and on a standby. */
import type { ReplicationPeer, SqlView } from '../../common/monitor-observation';
import type { PgClient } from './client';

/**
 * Role, timeline, synchronous_standby_names, the WAL receiver (standby) and the walsenders with
 * their lag (primary). pg_current_wal_lsn() fails during recovery: it sits in a CASE branch that
 * only a primary reaches.
 */
export const PROBE_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
       (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline,
       current_setting('synchronous_standby_names') AS sync_names,
       (SELECT json_build_object('status', status, 'sender_host', sender_host)
          FROM pg_stat_wal_receiver LIMIT 1) AS receiver,
       CASE WHEN pg_is_in_recovery() THEN '[]'::json
            ELSE coalesce((SELECT json_agg(json_build_object(
                                    'name', application_name, 'state', state, 'sync_state', sync_state,
                                    'lag', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)))
                             FROM pg_stat_replication), '[]'::json)
       END AS replication`;

interface ProbeRow {
  in_recovery: boolean;
  timeline: number | string | null;
  sync_names: string | null;
  receiver: { status: string; sender_host: string | null } | null;
  replication: Array<{ name: string; state: string; sync_state: string; lag: number | string | null }> | null;
}

export async function probeMemberSql(c: PgClient): Promise<Omit<SqlView, 'ms'>> {
  const row = (await c.query<ProbeRow>(PROBE_SQL)).rows[0];
  if (!row) throw new Error('the probe returned no row');
  const replication: ReplicationPeer[] = (row.replication ?? []).map((r) => ({ name: r.name, state: r.state, syncState: r.sync_state, lagBytes: r.lag === null ? null : Number(r.lag) }));
  return {
    ok: true,
    inRecovery: row.in_recovery,
    timeline: row.timeline === null ? null : Number(row.timeline),
    receiver: row.receiver ? { status: row.receiver.status, senderHost: row.receiver.sender_host } : null,
    replication,
    syncNames: row.sync_names ?? '',
  };
}
