/**
 * One observation of a PostgreSQL member, the same for the monitor's probe, the health check and
 * `citusctl status`: Docker's word on its container and the node's own SQL view, read by one
 * statement (lib/postgres/member.ts) through one reader (lib/observation/member.ts). Each consumer
 * keeps the part it needs (monitor-observation.ts: the probe's compact view). Plain JSON, no
 * secrets. Pure: safe in workflows.
 */

/** Docker's word on a container; `unknown` when Docker did not answer in time. */
export type ContainerStatus =
  'running' | 'paused' | 'restarting' | 'exited' | 'created' | 'dead' | 'absent' | 'unknown';

/** Container states in which PostgreSQL cannot be serving: Docker's confirmation that a member is down. */
export const CONTAINER_DOWN: readonly ContainerStatus[] = ['exited', 'created', 'dead', 'absent'];

/** One walsender of a primary (application_name is the standby's member name). */
export interface WalSenderView {
  standby: string;
  state: string;
  syncState: string;
  /** Bytes between the primary's current WAL and the standby's replay position. */
  lagBytes: number | null;
  /** replay_lag in seconds; null when PostgreSQL has no recent sample (an idle standby that caught up). */
  lagSeconds: number | null;
}

export interface SlotView {
  name: string;
  active: boolean;
  /** pg_replication_slots.wal_status: reserved, extended, unreserved, lost. */
  walStatus: string | null;
  /** WAL the slot keeps on disk: current (or received) LSN minus restart_lsn. */
  retainedBytes: number | null;
}

/** What a member says of itself, in one round trip, the same statement on a primary and on a standby. */
export interface MemberSqlView {
  ok: true;
  inRecovery: boolean;
  timeline: number | null;
  /** Primary: pg_current_wal_lsn(); standby: pg_last_wal_receive_lsn(). */
  lsn: string | null;
  /** Standby: pg_last_wal_replay_lsn(). */
  replayLsn: string | null;
  /** Standby: its WAL receiver (null when none runs: it lost or never had a sender). */
  receiver: { status: string; senderHost: string | null } | null;
  /** Primary: its walsenders. */
  replication: WalSenderView[];
  slots: SlotView[];
  /** synchronous_standby_names as the server runs it. */
  syncNames: string;
}

export type MemberSql = MemberSqlView | { ok: false; error: string };

/** One member observed: its container and its SQL view, read at the same time. */
export interface MemberReading {
  member: string;
  container: ContainerStatus;
  sql: MemberSql;
  /** How long the SQL part took (connect and query, or until it failed). */
  sqlMs: number;
}

export type MemberRole = 'primary' | 'standby' | 'unknown';

/** Primary or standby as the node itself says (pg_is_in_recovery()); unknown when it did not answer. */
export const roleOf = (sql: MemberSql): MemberRole => (!sql.ok ? 'unknown' : sql.inRecovery ? 'standby' : 'primary');
