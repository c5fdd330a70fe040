/** A primary's walsenders (pg_stat_replication): who streams from it, how far behind, sync or not. */
import type { PgClient } from './client';

export interface ReplicationRow {
  /** The standby's application_name: its member name (cluster_name, set by the bootstrap). */
  standby: string;
  state: string;
  /** Bytes between the primary's current WAL and the standby's replay position. */
  lagBytes: number;
  syncState: string;
}

/** Every walsender of a primary (pg_current_wal_lsn() fails on a standby: ask a primary only). */
export async function replicationRows(c: PgClient): Promise<ReplicationRow[]> {
  const r = await c.query<{ application_name: string; state: string; lag: string; sync_state: string }>(
    'SELECT application_name, state, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint AS lag, ' +
      'sync_state FROM pg_stat_replication',
  );
  return r.rows.map((x) => ({
    standby: x.application_name,
    state: x.state,
    lagBytes: Number(x.lag),
    syncState: x.sync_state,
  }));
}

/** The standbys that stream now (only these may be named in synchronous_standby_names). */
export async function streamingStandbys(c: PgClient): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    "SELECT application_name AS name FROM pg_stat_replication WHERE state = 'streaming'",
  );
  return r.rows.map((x) => x.name);
}

/** The walsender that uses this slot, if any: the standby that streams through it. */
export async function slotReplication(c: PgClient, slot: string): Promise<Omit<ReplicationRow, 'standby'> | undefined> {
  const row = (
    await c.query<{ state: string; lag: string; sync_state: string }>(
      `SELECT r.state, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn), 0)::bigint AS lag, r.sync_state
         FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = $1`,
      [slot],
    )
  ).rows[0];
  return row ? { state: row.state, lagBytes: Number(row.lag), syncState: row.sync_state } : undefined;
}
