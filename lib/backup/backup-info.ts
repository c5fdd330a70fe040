/**
 * Reading one group's base backup out of `pgbackrest info --output=json`: which backup a citusctl
 * run made (its annotation), and the figures the backup record keeps. Pure.
 */
import type { BackupGroup } from '../../common/backup-records';
import type { StanzaInfo } from './pgbackrest';

/** The annotation every base backup citusctl takes carries: the backup run's id (`b-<time>`). */
export const BACKUP_ID_ANNOTATION = 'citusctl-backup';
/** The member it was taken from. */
export const BACKUP_MEMBER_ANNOTATION = 'citusctl-member';

export type InfoBackup = StanzaInfo['backup'][number];

/** The timeline a WAL segment name starts with (8 hex digits). */
export function timelineOfWal(walFile: string): number {
  const tli = /^([0-9A-F]{8})[0-9A-F]{16}$/i.exec(walFile)?.[1];
  if (!tli) throw new Error(`not a WAL segment name: ${walFile}`);
  return parseInt(tli, 16);
}

/** The completed (not errored) full backup of the stanza that the run `backupId` made, if any. */
export function backupOfRun(stanza: StanzaInfo | undefined, backupId: string): InfoBackup | undefined {
  return stanza?.backup.find((b) => b.annotation?.[BACKUP_ID_ANNOTATION] === backupId && !b.error);
}

/** The record's view of one group's backup. */
export function groupBackupOf(b: InfoBackup, member?: string): BackupGroup {
  if (!b.lsn || !b.archive.start) throw new Error(`backup ${b.label} has no start LSN or WAL in pgbackrest info`);
  return {
    member: member ?? b.annotation?.[BACKUP_MEMBER_ANNOTATION] ?? 'unknown',
    label: b.label,
    startLsn: b.lsn.start,
    stopLsn: b.lsn.stop,
    timeline: timelineOfWal(b.archive.start),
    sizeBytes: b.info.size,
    repoSizeBytes: b.info.repository.size,
  };
}

/** A running backup's progress from the stanza's lock (bytes copied of bytes to copy); undefined when none runs. */
export function backupProgressOf(stanza: StanzaInfo | undefined): { done: number; total: number } | undefined {
  const lock = stanza?.status.lock?.backup;
  if (!lock?.held || lock.size === undefined) return undefined;
  return { done: lock['size-cplt'] ?? 0, total: lock.size };
}
