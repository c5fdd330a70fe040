/**
 * The pure parts of a cluster-wide consistent restore point: which catalogs hold distributed
 * commits, the default point name, and when a group's point segment counts as archived (the
 * statements: lib/postgres/restore-point.ts).
 *
 * Why every metadata node, not only the coordinator: Citus 13's citus_create_restore_point blocks
 * distributed commits by locking pg_dist_node, pg_dist_partition and pg_dist_transaction on the
 * coordinator; a transaction started on a metadata worker commits through that worker's own
 * pg_dist_transaction and was not held (fixed in Citus 14). Taking the same locks on every metadata
 * node in the same window holds those too. Pure: safe in workflows.
 */
import { RESTORE_POINT_NAME, timeId, type RestorePointOrigin, type RestorePointRecord } from './backup-records';

/** The Citus catalogs whose ExclusiveLock blocks distributed commits (those that exist on the node are locked). */
export const COMMIT_BLOCKING_CATALOGS = ['pg_dist_node', 'pg_dist_partition', 'pg_dist_transaction'] as const;

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
