/**
 * The one statement that observes a member: role, timeline, WAL positions, walsenders with their
 * lag, the WAL receiver and the physical replication slots, in one round trip, the same on a
 * primary and on a standby. The monitor's probe, the health check and `citusctl status` all read
 * a member through it (lib/observation/member.ts).
 */
import type { MemberSqlView } from '../../common/member-observation';
import { oneRow, type PgClient } from './client';

/**
 * pg_current_wal_lsn() fails during recovery: it sits only in CASE branches a primary reaches
 * (volatile functions are not folded early). A standby's slots are measured against what it received.
 */
export const MEMBER_SQL = `
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
                  'retained_bytes',
                  CASE WHEN restart_lsn IS NULL THEN NULL
                       WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn)
                       ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END) ORDER BY slot_name)
                 FROM pg_replication_slots WHERE slot_type = 'physical'), '[]'::json) AS slots`;

export interface MemberSqlRow {
  in_recovery: boolean;
  timeline: number | string | null;
  sync_names: string | null;
  lsn: string | null;
  replay_lsn: string | null;
  receiver: { status: string; sender_host: string | null } | null;
  replication: Array<{
    standby: string;
    state: string;
    sync_state: string;
    lag_bytes: number | string | null;
    lag_seconds: number | string | null;
  }> | null;
  slots: Array<{
    name: string;
    active: boolean;
    wal_status: string | null;
    retained_bytes: number | string | null;
  }> | null;
}

const num = (v: number | string | null | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);

/** The row of MEMBER_SQL as the observation (pg returns bigint and numeric as strings). */
export function memberSqlView(row: MemberSqlRow): MemberSqlView {
  return {
    ok: true,
    inRecovery: row.in_recovery,
    timeline: num(row.timeline),
    lsn: row.lsn,
    replayLsn: row.replay_lsn,
    receiver: row.receiver ? { status: row.receiver.status, senderHost: row.receiver.sender_host } : null,
    replication: (row.replication ?? []).map((r) => ({
      standby: r.standby,
      state: r.state,
      syncState: r.sync_state,
      lagBytes: num(r.lag_bytes),
      lagSeconds: num(r.lag_seconds),
    })),
    slots: (row.slots ?? []).map((s) => ({
      name: s.name,
      active: s.active,
      walStatus: s.wal_status,
      retainedBytes: num(s.retained_bytes),
    })),
    syncNames: row.sync_names ?? '',
  };
}

/** Throws what pg throws; the reader (lib/observation/member.ts) turns it into `ok: false`. */
export async function readMember(c: PgClient): Promise<MemberSqlView> {
  return memberSqlView(await oneRow<MemberSqlRow & Record<string, unknown>>(c, MEMBER_SQL));
}
