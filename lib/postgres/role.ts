/**
 * A node's role and WAL positions. pg_is_in_recovery() is the one source of "primary or standby":
 * false means the node accepts writes.
 */
import { oneRow, type PgClient } from './client';

export interface NodeRole {
  inRecovery: boolean;
  /** Timeline of the last checkpoint (pg_control_checkpoint); null when unknown. */
  timeline: number | null;
}

export interface NodePositions {
  inRecovery: boolean;
  /** pg_last_wal_replay_lsn(): what a standby replayed; null on a primary. */
  replayLsn: string | null;
  /** pg_last_wal_receive_lsn(): what a standby received (and flushed); null when it never streamed since start. */
  receiveLsn: string | null;
}

/** The node answers a query at all (readiness, and the fence check that it no longer does). */
export async function ping(c: PgClient): Promise<void> {
  await c.query('SELECT 1');
}

export async function isInRecovery(c: PgClient): Promise<boolean> {
  return (await oneRow<{ r: boolean }>(c, 'SELECT pg_is_in_recovery() AS r')).r;
}

export async function readRole(c: PgClient): Promise<NodeRole> {
  const row = await oneRow<{ r: boolean; tl: number | string | null }>(
    c,
    'SELECT pg_is_in_recovery() AS r, (SELECT timeline_id FROM pg_control_checkpoint()) AS tl',
  );
  return { inRecovery: row.r, timeline: row.tl === null ? null : Number(row.tl) };
}

/** Role and positions in one round trip: what the failover compares to choose a standby. */
export async function readPositions(c: PgClient): Promise<NodePositions> {
  const row = await oneRow<{ rec: boolean; replay: string | null; receive: string | null }>(
    c,
    'SELECT pg_is_in_recovery() AS rec, pg_last_wal_replay_lsn()::text AS replay, ' +
      'pg_last_wal_receive_lsn()::text AS receive',
  );
  return { inRecovery: row.rec, replayLsn: row.replay, receiveLsn: row.receive };
}

/** A primary's flushed WAL position (fails on a standby: recovery has no current WAL). */
export async function currentFlushLsn(c: PgClient): Promise<string> {
  return (await oneRow<{ l: string }>(c, 'SELECT pg_current_wal_flush_lsn()::text AS l')).l;
}

/** A standby's replayed WAL position; null on a node that never was in recovery since start. */
export async function replayLsn(c: PgClient): Promise<string | null> {
  return (await oneRow<{ l: string | null }>(c, 'SELECT pg_last_wal_replay_lsn()::text AS l')).l;
}
