/**
 * The Temporal Schedule `verify-backup-<cluster>`: runs verifyBackup every
 * spec.backup.verifyIntervalHours, an hour into each interval (intervals count from the Unix epoch,
 * so with the default daily backup schedule the proof runs an hour after the backup). None when
 * backups are disabled: an existing one is deleted. Paused and resumed like any Temporal Schedule.
 */
import type { Client } from '@temporalio/client';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { verifyBackupScheduleId } from '../common/workflow-ids';
import type { BackupSchedule } from './backup-schedule';
import { deleteClusterSchedule, ensureClusterSchedule } from './cluster-schedule';

/** An hour after the backup schedule's runs, or half an interval when the interval is an hour or less. */
export const verifyOffsetSeconds = (everySeconds: number): number => Math.min(3600, Math.floor(everySeconds / 2));

export async function ensureVerifyBackupSchedule(client: Client, spec: ClusterSpec): Promise<BackupSchedule> {
  const scheduleId = verifyBackupScheduleId(spec.name);
  if (!spec.backup.enabled) return deleteClusterSchedule(client, scheduleId);
  const everySeconds = spec.backup.verifyIntervalHours * 3600;
  return ensureClusterSchedule(client, {
    scheduleId,
    cluster: spec.name,
    workflowType: 'verifyBackup',
    // The name only: each run reads the stored spec and the newest backup of the catalog.
    args: [workflowInput('verifyBackup', { cluster: spec.name })],
    everySeconds,
    offsetSeconds: verifyOffsetSeconds(everySeconds),
    // A restore of a large cluster takes a while; a run that hangs ends so the next one may start.
    runTimeout: '12h',
  });
}
