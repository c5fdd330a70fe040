/**
 * The Temporal Schedule `backup-<cluster>`: runs backupCluster every spec.backup.intervalHours
 * (daily by default): base backups of every group, the restore point, expiry. None when the spec
 * disables backups (an existing one is deleted). Paused and resumed like any Temporal Schedule (UI,
 * `temporal schedule toggle --pause --schedule-id backup-<cluster>`); `down` deletes it.
 */
import type { Client } from '@temporalio/client';
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
