/**
 * Backups in the health report: what the healthBackups activity observed (every group primary's
 * pg_stat_archiver, the repository's filesystem, the newest records of the catalog) and the verdict
 * on it. A failing archive and a nearly full repository are named problems (a gap in the archive
 * would be silent otherwise); a backup or a verified restore older than the spec allows degrades.
 * A fresh cluster has neither: that is a note until the repository is older than the limit.
 * Pure: the healthCheck workflow calls it with workflow time.
 */
import type { ClusterSpec } from './spec';

/** A member's pg_stat_archiver, with the WAL file it writes now. */
export interface ArchiverState {
  /** pg_walfile_name(pg_current_wal_lsn()): the segment being written. */
  currentWal: string;
  lastArchivedWal: string | null;
  lastArchivedTime: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: string | null;
  /**
   * Completed segments waiting for the archiver: `.ready` files of whole segments in
   * pg_wal/archive_status (pg_ls_archive_statusdir()). Absent from observations of older workers.
   */
  readySegments?: number;
}

/** One group primary's archiver state. */
export type ArchiverObservation =
  | ({
      group: string;
      member: string;
      ok: true;
      /** The last archive error the member logged, when the archive is failing and its log says. */
      lastError?: string;
    } & ArchiverState)
  | { group: string; member: string; ok: false; error: string };

export type RepoUsage =
  | { ok: true; usedBytes: number; fsSizeBytes: number; fsAvailBytes: number }
  | { ok: false; error: string }
  /** Not measured: an S3 repository has no file system of ours to fill (the note says so). */
  | { ok: null; note: string };

/** The newest records of the catalog (common/backup-records.ts), as much as the report needs. */
export interface CatalogSummary {
  newestBackup: {
    id: string;
    finishedAt: string;
    restorePoint: string;
    sizeBytes: number;
    repoSizeBytes: number;
  } | null;
  newestRestorePoint: { name: string; createdAt: string; origin: string } | null;
  newestVerification: {
    id: string;
    ok: boolean;
    finishedAt: string;
    backupId: string;
    restorePoint: string;
    problems: string[];
  } | null;
  /** The newest verification that succeeded (the same as newestVerification when that one did). */
  newestOkVerification: { id: string; finishedAt: string } | null;
}

export type BackupObservation =
  | { enabled: false }
  | {
      enabled: true;
      archive: ArchiverObservation[];
      repo: RepoUsage;
      /** When the repository volume was created: how long backups have been expected. */
      repoCreatedAt: string | null;
      catalog: ({ ok: true } & CatalogSummary) | { ok: false; error: string };
    };

export interface BackupThresholds {
  /** Completed WAL segments not archived yet, per group, before it degrades. */
  archiveLagSegments: number;
  repoUsedPercent: number;
}

export const DEFAULT_BACKUP_THRESHOLDS: BackupThresholds = { archiveLagSegments: 16, repoUsedPercent: 90 };

export interface GroupArchiveReport {
  group: string;
  member: string;
  lastArchivedWal: string | null;
  lastArchivedTime: string | null;
  /** Completed segments not archived yet; null when it cannot be told (nothing archived, a history file last). */
  lagSegments: number | null;
  failing: boolean;
  failedCount: number;
  error?: string;
}

export interface BackupReport {
  enabled: boolean;
  groups: GroupArchiveReport[];
  repo?: RepoUsage & { usedPercent?: number };
  catalog?: ({ ok: true } & CatalogSummary) | { ok: false; error: string };
}

export interface BackupProblem {
  subject: string;
  message: string;
}

/** Bytes of one WAL segment (PostgreSQL's default, the images' initdb). */
export const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;
const SEGMENTS_PER_XLOGID = 0x1_0000_0000 / WAL_SEGMENT_BYTES;

/**
 * A WAL file name's timeline and segment number (`TTTTTTTTXXXXXXXXYYYYYYYY`, also with a
 * `.partial` or `.<offset>.backup` suffix); null for a history file or anything else.
 */
export function walSegment(name: string | null): { timeline: number; segno: number } | null {
  const m = name?.match(/^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.partial|\.[0-9A-F]{8}\.backup)?$/i);
  if (!m) return null;
  return {
    timeline: parseInt(m[1]!, 16),
    segno: parseInt(m[2]!, 16) * SEGMENTS_PER_XLOGID + parseInt(m[3]!, 16),
  };
}

/**
 * Completed segments the archive has not taken yet. The primary's count of `.ready` segments says
 * it exactly. Without it (an older worker's observation), from the names: those between the last
 * archived segment and the one being written (which is not complete, so not due); across a
 * timeline switch the segment numbers go on, so the count holds. A `.backup` history file names
 * the segment its backup started in, not the last one archived (the segments up to the backup's
 * stop are archived around it, in no order its name tells), and a history file names none: null
 * then, as when either name is not a segment.
 */
export function archiveLagSegments(
  currentWal: string,
  lastArchivedWal: string | null,
  readySegments?: number,
): number | null {
  if (readySegments !== undefined) return readySegments;
  if (lastArchivedWal?.endsWith('.backup')) return null;
  const current = walSegment(currentWal);
  const last = walSegment(lastArchivedWal);
  if (!current || !last) return null;
  return Math.max(0, current.segno - last.segno - 1);
}

/** The archive fails: its last failure is newer than its last success (or it never succeeded). */
export function archiveFailing(a: { lastFailedTime: string | null; lastArchivedTime: string | null }): boolean {
  if (!a.lastFailedTime) return false;
  if (!a.lastArchivedTime) return true;
  return Date.parse(a.lastFailedTime) > Date.parse(a.lastArchivedTime);
}

const hoursSince = (at: number, iso: string) => (at - Date.parse(iso)) / 3_600_000;
const hours = (h: number) => (h >= 48 ? `${(h / 24).toFixed(1)} days` : `${h.toFixed(1)} h`);
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

export function groupArchiveReport(a: ArchiverObservation): GroupArchiveReport {
  if (!a.ok)
    return {
      group: a.group,
      member: a.member,
      lastArchivedWal: null,
      lastArchivedTime: null,
      lagSegments: null,
      failing: false,
      failedCount: 0,
      error: a.error,
    };
  return {
    group: a.group,
    member: a.member,
    lastArchivedWal: a.lastArchivedWal,
    lastArchivedTime: a.lastArchivedTime,
    lagSegments: archiveLagSegments(a.currentWal, a.lastArchivedWal, a.readySegments),
    failing: archiveFailing(a),
    failedCount: a.failedCount,
    ...(a.lastError ? { error: a.lastError } : {}),
  };
}

/**
 * The verdict on backups: problems (degraded) and notes. `at` is the check's epoch ms. A member that
 * does not answer is already a problem of the member report: here it is only a note.
 */
export function backupVerdict(
  spec: ClusterSpec,
  obs: BackupObservation,
  at: number,
  thresholds: Partial<BackupThresholds> = {},
): { report: BackupReport; problems: BackupProblem[]; notes: string[] } {
  const t = { ...DEFAULT_BACKUP_THRESHOLDS, ...thresholds };
  if (!obs.enabled)
    return { report: { enabled: false, groups: [] }, problems: [], notes: ['backups: disabled (spec backup.enabled)'] };
  const problems: BackupProblem[] = [];
  const notes: string[] = [];
  const groups = obs.archive.map(groupArchiveReport);

  for (const [i, g] of groups.entries()) {
    const a = obs.archive[i]!;
    if (!a.ok) {
      notes.push(`backups: the archive state of ${g.group} is unknown (${g.member}: ${a.error})`);
      continue;
    }
    if (g.failing) {
      const since = a.lastArchivedTime ? `since ${a.lastArchivedTime} (its last success)` : 'and has never succeeded';
      problems.push({
        subject: g.group,
        message:
          `archive of ${g.group} failing ${since}: ${a.failedCount} failure(s), the last at ${a.lastFailedTime} on ` +
          `${a.lastFailedWal ?? '?'}${a.lastError ? `; last error: ${a.lastError}` : ''}`,
      });
    } else if (g.lagSegments !== null && g.lagSegments > t.archiveLagSegments) {
      problems.push({
        subject: g.group,
        message:
          `archive of ${g.group} is ${g.lagSegments} WAL segments (${mib(g.lagSegments * WAL_SEGMENT_BYTES)}) behind ` +
          `${g.member} (last archived ${a.lastArchivedWal ?? 'none'} at ${a.lastArchivedTime ?? '-'})`,
      });
    }
  }

  let repo: BackupReport['repo'] = obs.repo;
  if (obs.repo.ok === null) notes.push(`backup repository: ${obs.repo.note}`);
  else if (obs.repo.ok) {
    const r = obs.repo;
    const usedPercent = r.fsSizeBytes > 0 ? (100 * (r.fsSizeBytes - r.fsAvailBytes)) / r.fsSizeBytes : 0;
    repo = { ...r, usedPercent: Math.round(usedPercent * 10) / 10 };
    if (usedPercent >= t.repoUsedPercent)
      problems.push({
        subject: 'backup repository',
        message:
          `backup repository ${usedPercent.toFixed(0)}% full (${mib(r.fsAvailBytes)} free): ` +
          'archiving stops when it is full',
      });
  } else {
    problems.push({ subject: 'backup repository', message: `cannot measure the backup repository: ${obs.repo.error}` });
  }

  const c = obs.catalog;
  if (!c.ok) problems.push({ subject: 'backup catalog', message: `cannot read the backup catalog: ${c.error}` });
  else {
    const b = spec.backup;
    const repoAgeH = obs.repoCreatedAt ? hoursSince(at, obs.repoCreatedAt) : null;
    // A fresh cluster has no backup yet: worth a note until the repository is older than the limit.
    const expected = (limitH: number) => repoAgeH === null || repoAgeH > limitH;
    if (!c.newestBackup) {
      const text = `no backup yet (the repository is ${repoAgeH === null ? '?' : hours(repoAgeH)} old)`;
      if (expected(b.maxBackupAgeHours))
        problems.push({ subject: 'backups', message: `${text}, backup.maxBackupAgeHours is ${b.maxBackupAgeHours}` });
      else notes.push(`backups: ${text}`);
    } else {
      const age = hoursSince(at, c.newestBackup.finishedAt);
      if (age > b.maxBackupAgeHours)
        problems.push({
          subject: 'backups',
          message:
            `the newest backup ${c.newestBackup.id} is ${hours(age)} old ` +
            `(backup.maxBackupAgeHours ${b.maxBackupAgeHours})`,
        });
    }
    const v = c.newestVerification;
    if (v && !v.ok)
      problems.push({
        subject: 'verified restore',
        message:
          `the newest verification ${v.id} (${v.finishedAt}) of backup ${v.backupId} failed: ` + v.problems.join('; '),
      });
    if (!c.newestOkVerification) {
      const text = 'no verified restore yet';
      if (expected(b.maxVerifyAgeHours))
        problems.push({
          subject: 'verified restore',
          message: `${text}, backup.maxVerifyAgeHours is ${b.maxVerifyAgeHours}`,
        });
      else notes.push(`backups: ${text}`);
    } else {
      const age = hoursSince(at, c.newestOkVerification.finishedAt);
      if (age > b.maxVerifyAgeHours)
        problems.push({
          subject: 'verified restore',
          message:
            `the newest verified restore ${c.newestOkVerification.id} is ${hours(age)} old ` +
            `(backup.maxVerifyAgeHours ${b.maxVerifyAgeHours})`,
        });
    }
  }
  return { report: { enabled: true, groups, repo, catalog: c }, problems, notes };
}
