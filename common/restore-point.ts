/**
 * The pure parts of a cluster-wide consistent restore point: which catalogs hold distributed
 * commits, the default point name, and when a group's point segment counts as archived (the
 * statements: lib/postgres/restore-point.ts).
 *
 * What makes the points one consistent cut: every node's distributed commits are held (EXCLUSIVE on
 * pg_dist_node, pg_dist_partition and pg_dist_transaction: a two-phase commit records itself in
 * its initiator's pg_dist_transaction before it commits) from before the first node's point until
 * after the last one's. So no transaction commits on its initiator between two nodes' points: one
 * committed before has its PREPAREs before every point (recovery finishes them), one committed after
 * has no COMMIT PREPARED before any. Hence three phases, each one round trip on every node at once:
 * lock all, point on all, release all; none can be merged into another.
 *
 * Why every metadata node, not only the coordinator: Citus 13's citus_create_restore_point blocks
 * distributed commits by locking those catalogs on the coordinator only; a transaction started on a
 * metadata worker commits through that worker's own pg_dist_transaction and was not held (fixed in
 * Citus 14). We take the same locks on every metadata node and write each node's point
 * (pg_create_restore_point, the record citus_create_restore_point writes) on our own sessions:
 * citus_create_restore_point opens new connections to every worker, which would take place inside
 * the window while the workers' locks are held. Pure: safe in workflows.
 */
import { RESTORE_POINT_NAME, timeId, type RestorePointOrigin, type RestorePointRecord } from './backup-records';

/** The Citus catalogs whose ExclusiveLock blocks distributed commits (those that exist on the node are locked). */
export const COMMIT_BLOCKING_CATALOGS = ['pg_dist_node', 'pg_dist_partition', 'pg_dist_transaction'] as const;

/** Attempts at the window within one activity run when a lock is given up (then the activity is retried). */
export const POINT_LOCK_ATTEMPTS = 10;

/** The pause before the next attempt: growing, with jitter so a periodic conflicting lock is not hit again. */
export function lockRetryDelayMs(attempt: number, random: number): number {
  return Math.round(Math.min(1_000, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + random));
}

/**
 * Why the nodes we hold are not the ones Citus commits through (a failover under way, a worker
 * added or removed): the coordinator's active primary workers (pg_dist_node, read under its lock)
 * must be exactly the worker primaries we locked. Undefined when they are.
 */
export function pointNodesProblem(
  lockedWorkers: readonly string[],
  registered: readonly { host: string; port: number }[],
  /** The port each member is registered on (one for all with one host; each its own across hosts). */
  port: number | ((member: string) => number),
): string | undefined {
  const portOf = typeof port === 'number' ? () => port : port;
  const want = [...lockedWorkers].sort();
  const have = registered.map((n) => (n.port === portOf(n.host) ? n.host : `${n.host}:${n.port}`)).sort();
  if (want.length === have.length && want.every((w, i) => w === have[i])) return undefined;
  return (
    `the coordinator's active primary workers (${have.join(', ') || 'none'}) are not the worker primaries ` +
    `locked (${want.join(', ') || 'none'})`
  );
}

/** PostgreSQL's longest restore point name (MAXFNAMELEN - 1); citus_create_restore_point refuses longer ones. */
export const MAX_RESTORE_POINT_NAME = 63;

/** A stored point is this request retried: the same run made it (or, without run ids, the same origin asked). */
export function sameRequest(
  stored: RestorePointRecord,
  origin: RestorePointOrigin,
  request: string | undefined,
): boolean {
  if (stored.request !== undefined && request !== undefined) return stored.request === request;
  return stored.origin === origin;
}

/** A point's name when none is given: `rp-YYYYMMDDTHHMMSSZ` (a scheduled run's time is its own, so unique per run). */
export const defaultPointName = (at: Date): string => timeId('rp', at);

/** Why a point name is refused, or undefined when it is fine (the schema's rule, and PostgreSQL's length limit). */
export function pointNameProblem(name: string): string | undefined {
  if (name.length > MAX_RESTORE_POINT_NAME) return `must be at most ${MAX_RESTORE_POINT_NAME} characters`;
  if (!RESTORE_POINT_NAME.test(name))
    return 'must be 1-63 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit';
  return undefined;
}

const WAL_SEGMENT = /^[0-9A-F]{24}$/;

/** The timeline of a WAL segment name (its first 8 hex digits). */
export function timelineOfWalFile(walFile: string): number {
  if (!WAL_SEGMENT.test(walFile)) throw new Error(`not a WAL segment name: ${walFile}`);
  return parseInt(walFile.slice(0, 8), 16);
}

/** What a primary says about one WAL segment's archiving. */
export interface ArchiveState {
  /** pg_wal/archive_status/<segment>.ready exists: completed, not archived yet. */
  ready: boolean;
  /** pg_wal/archive_status/<segment>.done exists: archived. */
  done: boolean;
  /** pg_stat_archiver.last_archived_wal (may be a .history or .backup file name), null when none. */
  lastArchived: string | null;
}

/**
 * Is the segment archived? `.done` says so; without `.ready` or `.done` (already recycled, or not
 * completed yet) the archiver's last segment must be at or past it. Segment names sort by
 * timeline, then position; a .history, .partial or .backup file says nothing about whole segments.
 */
export function segmentArchived(walFile: string, s: ArchiveState): boolean {
  if (s.done) return true;
  if (s.ready) return false;
  const last = s.lastArchived;
  return !!last && WAL_SEGMENT.test(last) && last >= walFile;
}
