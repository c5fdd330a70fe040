/**
 * The base-backup step's one-line news, per group: done (label, size), running, or retrying after
 * a failed attempt (a failover moved the primary: the next attempt backs up the new one). Also the
 * limit on attempts. Pure: used by the backup workflow.
 */
import type { BackupGroup } from './backup-records';

export type GroupBackupState =
  | { state: 'running'; attempt: number }
  | { state: 'retrying'; attempt: number; why: string }
  | { state: 'done'; backup: BackupGroup }
  | { state: 'failed'; why: string };

/** Attempts of one group's backup before the run fails (the schedule's next run tries again). */
export const GROUP_BACKUP_ATTEMPTS = 5;
/** Wait before attempt n (n >= 2): a failover takes seconds, a promoted primary a few more to accept a backup. */
export const retryDelayMs = (attempt: number) => Math.min(60_000, 5_000 * 2 ** Math.max(0, attempt - 2));

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function describeGroupBackup(group: string, s: GroupBackupState): string {
  switch (s.state) {
    case 'running':
      return `${group}: running${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}`;
    case 'retrying':
      return `${group}: attempt ${s.attempt} failed, retrying on the group's current primary: ${s.why}`;
    case 'done':
      return (
        `${group}: ${s.backup.label} from ${s.backup.member}, ` +
        `${mb(s.backup.sizeBytes)} (${mb(s.backup.repoSizeBytes)} stored)`
      );
    case 'failed':
      return `${group}: failed: ${s.why}`;
  }
}

export const describeGroupBackups = (states: Record<string, GroupBackupState>): string =>
  Object.entries(states)
    .map(([g, s]) => describeGroupBackup(g, s))
    .join('; ');
