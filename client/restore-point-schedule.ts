/**
 * The Temporal Schedule `restore-point-<cluster>`: runs restorePoint every
 * spec.backup.restorePointMinutes without row counts (it holds nothing but Citus's own commit
 * locks, for milliseconds), so a restore to a time has a point at most that far before it. Paused
 * and resumed like any Temporal Schedule; deleted with the cluster's others by `down`. With
 * backups disabled there is no such schedule (one left from before is deleted).
 */
import type { Client } from '@temporalio/client';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { restorePointScheduleId } from '../common/workflow-ids';
import { deleteClusterSchedule, ensureClusterSchedule, type EnsuredSchedule } from './cluster-schedule';

/** Creates or updates the schedule (idempotent); undefined when backups are disabled (no schedule). */
export async function ensureRestorePointSchedule(
  client: Client,
  spec: ClusterSpec,
): Promise<EnsuredSchedule | undefined> {
  const scheduleId = restorePointScheduleId(spec.name);
  if (!spec.backup.enabled) {
    await deleteClusterSchedule(client, scheduleId);
    return undefined;
  }
  return ensureClusterSchedule(client, {
    scheduleId,
    cluster: spec.name,
    workflowType: 'restorePoint',
    // Each run names its point after its own start time.
    args: [workflowInput('restorePoint', { cluster: spec.name, rowCounts: false, origin: 'schedule' })],
    everySeconds: spec.backup.restorePointMinutes * 60,
    runTimeout: '10m',
  });
}
