/**
 * What citusctl records about backups, restore points and verified restores, in the backup
 * repository itself (lib/backup/catalog.ts), so the records travel with the backups they describe
 * and survive `down --volumes`. Pure: the restore target is chosen here, in workflows too.
 */
import { z } from 'zod';
import type { ClusterSpec } from './spec';

/** A restore point's or a backup's name: it becomes part of workflow ids and file names. */
export const RESTORE_POINT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const restorePointNameSchema = z
  .string()
  .regex(RESTORE_POINT_NAME, 'must be 1-63 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit');

/** Why a restore point was made. */
export type RestorePointOrigin = 'backup' | 'schedule' | 'manual';

export interface RestorePointGroup {
  /** The member that was the group's primary when the point was made (the restore puts the data there). */
  primary: string;
  /** The group's WAL insert position right after its point (an upper bound of the point's own record). */
  lsn: string;
  timeline: number;
  /** The WAL segment holding the point: archived once the point is usable. */
  walFile: string;
}

export interface RestorePointRecord {
  name: string;
  cluster: string;
  /** ISO time the point was made (the coordinator's clock). */
  createdAt: string;
  origin: RestorePointOrigin;
  /** What citus_create_restore_point returned: the coordinator's point. */
  coordinatorLsn: string;
  groups: Record<string, RestorePointGroup>;
  /** Rows of every Citus table at the point (schema-qualified name -> rows), or null when not counted. */
  rowCounts: Record<string, number> | null;
  /** How long distributed writes were held while the point was made, in ms. */
  pauseMs: number;
  /**
   * The workflow run that made it (`<workflow id>/<run id>`): a retry of that run gets this record
   * back, any other request of the same name is refused. Absent when made outside a workflow.
   */
  request?: string;
}

export interface BackupGroup {
  /** The member the base backup was taken from. */
  member: string;
  /** pgBackRest's backup label. */
  label: string;
  startLsn: string;
  stopLsn: string;
  timeline: number;
  /** Size of the database backed up, and what it takes in the repository (compressed). */
  sizeBytes: number;
  repoSizeBytes: number;
}

export interface BackupRecord {
  /** `b-<UTC time>`: sortable, unique per cluster. */
  id: string;
  cluster: string;
  startedAt: string;
  finishedAt: string;
  /** The restore point made right after every group's base backup finished: the backup's consistent cut. */
  restorePoint: string;
  groups: Record<string, BackupGroup>;
  /** The cluster's spec when it was backed up: a restore rebuilds this layout even when the cluster is gone. */
  spec: ClusterSpec;
}

export interface VerificationRecord {
  /** `v-<UTC time>` */
  id: string;
  cluster: string;
  backupId: string;
  restorePoint: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** Why it failed, one line each; empty when ok. */
  problems: string[];
  /** Per table: rows recorded at the point and rows found in the restored cluster. */
  tables: Record<string, { expected: number | null; found: number }>;
  scratchCluster: string;
}

/** `<prefix>-YYYYMMDDTHHMMSSZ` from a time: sortable ids and default point names. */
export function timeId(prefix: string, at: Date): string {
  return `${prefix}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .toLowerCase()}`;
}

/** Where a restore goes: a named point, the newest point at or before a time, or the newest point. */
export type RestoreTarget = { point: string } | { time: string } | { latest: true };

export type TargetChoice =
  { ok: true; point: RestorePointRecord; backup: BackupRecord; note: string } | { ok: false; problem: string };

const byCreated = (a: { createdAt: string }, b: { createdAt: string }) => a.createdAt.localeCompare(b.createdAt);

/** A one-line list of the known points, for an error that refuses a target. */
export function describePoints(points: readonly RestorePointRecord[]): string {
  if (!points.length) return 'there are no restore points yet (citusctl backup, citusctl restore-point)';
  const sorted = [...points].sort(byCreated);
  return `restore points: ${sorted.map((p) => `${p.name} (${p.createdAt})`).join(', ')}`;
}

/**
 * The backup a restore to `point` starts from: the newest one whose every group finished before the
 * point was made, since recovery replays forward from a base backup's end. Its restore point is
 * recorded only after all its groups finished, so "made no later than the point" is the test.
 */
export function backupFor(point: RestorePointRecord, backups: readonly BackupRecord[]): BackupRecord | undefined {
  return [...backups]
    .filter((b) => b.finishedAt <= point.createdAt && Object.keys(point.groups).every((g) => g in b.groups))
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
}

/**
 * The point and backup for a target, or why there is none. A time picks the newest point made at or
 * before it (each group's own clock is no consistent cut, a restore point is), and says so.
 */
export function chooseTarget(
  target: RestoreTarget,
  points: readonly RestorePointRecord[],
  backups: readonly BackupRecord[],
): TargetChoice {
  let point: RestorePointRecord | undefined;
  let note: string;
  if ('point' in target) {
    point = points.find((p) => p.name === target.point);
    if (!point) return { ok: false, problem: `no restore point named "${target.point}"; ${describePoints(points)}` };
    note = `restore point ${point.name} (${point.createdAt})`;
  } else if ('time' in target) {
    const at = new Date(target.time);
    if (Number.isNaN(at.getTime())) return { ok: false, problem: `"${target.time}" is not a time (ISO 8601)` };
    point = [...points]
      .filter((p) => new Date(p.createdAt) <= at)
      .sort(byCreated)
      .pop();
    if (!point)
      return { ok: false, problem: `no restore point at or before ${at.toISOString()}; ${describePoints(points)}` };
    note =
      `the newest restore point at or before ${at.toISOString()}: ${point.name} (${point.createdAt}); ` +
      'a time is restored to a named point, the only cut consistent across the groups';
  } else {
    point = [...points].sort(byCreated).pop();
    if (!point) return { ok: false, problem: describePoints(points) };
    note = `the newest restore point: ${point.name} (${point.createdAt})`;
  }
  const backup = backupFor(point, backups);
  if (!backup)
    return {
      ok: false,
      problem:
        `restore point ${point.name} (${point.createdAt}) has no base backup finished before it; ` +
        describePoints(points),
    };
  return { ok: true, point, backup, note: `${note}, from backup ${backup.id}` };
}

/**
 * How many full backups per group expire must keep: the spec's retention, or more when the newest
 * verified restore started from an older backup (never expire what that proof depends on).
 * `backups` newest first is not assumed.
 */
export function retentionKeeping(
  retentionFull: number,
  backups: readonly BackupRecord[],
  verifications: readonly VerificationRecord[],
): number {
  const verified = [...verifications].filter((v) => v.ok).sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
  if (!verified) return retentionFull;
  const newestFirst = [...backups].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const index = newestFirst.findIndex((b) => b.id === verified.backupId);
  return index < 0 ? retentionFull : Math.max(retentionFull, index + 1);
}

/**
 * Backups are on for this spec. Workflows ask through this: a spec recorded in a history from before
 * backups existed has no `backup` section, and a replay of that history must still run.
 */
export function backupsEnabled(spec: ClusterSpec): boolean {
  return (spec as Partial<ClusterSpec>).backup?.enabled === true;
}
