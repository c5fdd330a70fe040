/**
 * How many full backups each group's stanza keeps when old backups are expired. pgBackRest counts
 * full backups per stanza, citusctl keeps whole cluster backups (one per group, recorded together):
 * a stanza may hold more full backups than there are records (a run that failed in another group
 * left one behind), so the count per stanza is the position of the oldest kept record's backup in
 * that stanza, never less than the spec's retention. Pure.
 */
import { retentionKeeping, type BackupRecord, type VerificationRecord } from './backup-records';

/** The records expire must keep: the newest `retentionKeeping` ones (so the newest verified restore's backup too). */
export function keptBackups(
  retentionFull: number,
  backups: readonly BackupRecord[],
  verifications: readonly VerificationRecord[],
): BackupRecord[] {
  const keep = retentionKeeping(retentionFull, backups, verifications);
  return [...backups].sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, keep);
}

/**
 * `--repo1-retention-full` for one stanza: enough full backups that every kept record's backup of
 * this group survives. `labelsNewestFirst`: the stanza's full backups as pgBackRest lists them
 * (labels sort by time), newest first.
 */
export function stanzaRetentionFull(
  group: string,
  retentionFull: number,
  kept: readonly BackupRecord[],
  labelsNewestFirst: readonly string[],
): number {
  let needed = Math.max(retentionFull, kept.length);
  for (const record of kept) {
    const label = record.groups[group]?.label;
    const index = label === undefined ? -1 : labelsNewestFirst.indexOf(label);
    if (index >= 0) needed = Math.max(needed, index + 1);
  }
  return needed;
}
