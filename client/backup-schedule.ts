/**
 * The Temporal Schedule `backup-<cluster>`: runs backupCluster every spec.backup.intervalHours
 * (daily by default): base backups of every group, the restore point, expiry. None when the spec
 * disables backups (an existing one is deleted). Paused and resumed like any Temporal Schedule (UI,
 * `temporal schedule toggle --pause --schedule-id backup-<cluster>`); `down` deletes it.
 */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { backupScheduleId } from '../common/workflow-ids';
import {
  deleteClusterSchedule,
  ensureClusterSchedule,
  type EnsuredSchedule,
  type RemovedSchedule,
} from './cluster-schedule';

export type BackupSchedule = EnsuredSchedule | RemovedSchedule;

/** Creates the schedule, or brings an existing one to the spec (idempotent); deletes it when backups are off. */
export async function ensureBackupSchedule(client: Client, spec: ClusterSpec): Promise<BackupSchedule> {
  const scheduleId = backupScheduleId(spec.name);
  if (!spec.backup.enabled) return deleteClusterSchedule(client, scheduleId);
  return ensureClusterSchedule(client, {
    scheduleId,
    cluster: spec.name,
    workflowType: 'backupCluster',
    // The name only: each run reads the stored spec (a group added by `up` is backed up too).
    args: [workflowInput('backupCluster', { cluster: spec.name })],
    everySeconds: spec.backup.intervalHours * 3600,
    // A base backup of a large group takes hours; the next run is skipped meanwhile (overlap SKIP).
    runTimeout: `${Math.max(6, spec.backup.intervalHours)}h`,
  });
}

/** What a restore does about the new cluster's first base backup (firstBackupAfterRestore). */
export type FirstBackupPlan = { trigger: true } | { trigger: false; why: string };

/**
 * A cluster restored under a new name starts with an empty repository of its own (the backups it
 * came from are the source's): its first base backup is due at once, not an interval later. In
 * place the repository keeps the cluster's backups (the next scheduled run is soon enough); with
 * backups disabled there is nothing to take; without the monitor no long-lived worker runs what a
 * schedule starts (the operator runs `citusctl backup`).
 */
export function firstBackupAfterRestore(o: {
  inPlace: boolean;
  backupsEnabled: boolean;
  monitor: boolean;
}): FirstBackupPlan {
  if (o.inPlace) return { trigger: false, why: 'restored in place: its repository keeps its backups' };
  if (!o.backupsEnabled) return { trigger: false, why: 'backups are disabled in the spec' };
  if (!o.monitor)
    return { trigger: false, why: '--no-monitor: no worker runs its schedules; `citusctl backup --cluster` takes it' };
  return { trigger: true };
}

/**
 * Starts a run of the cluster's backup schedule now (its own workflow id, worker and overlap policy:
 * a run in flight is not doubled). The schedule must exist (startMonitor makes it).
 */
export async function triggerBackupSchedule(client: Client, spec: ClusterSpec): Promise<{ scheduleId: string }> {
  const scheduleId = backupScheduleId(spec.name);
  // SKIP, as the schedule's own runs (a trigger's default would allow a second backup alongside).
  await client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
  return { scheduleId };
}
