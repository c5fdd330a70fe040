/**
 * restorePoint (`restore-point-<cluster>-<name>`: `citusctl restore-point`, and the Schedule
 * `restore-point-<cluster>`'s runs): one named restore point consistent across every group, made
 * by the createRestorePoint activity (activities/backup/restore-point.ts), recorded in the backup
 * catalog and archived when this returns.
 * From the UI: `{"cluster": "demo"}`, optional `"name": "before-migration"`, `"rowCounts": false`.
 */
import type { RestorePointRecord } from '../common/backup-records';
import type { RestorePointInput } from '../common/inputs';
import { defaultPointName } from '../common/restore-point';
import { longRunning } from './activity-proxies';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { trackProgress } from './progress-query';
import { tagWorkflow } from './tag-workflow';

export type { RestorePointInput };

export async function restorePoint(started: RestorePointInput): Promise<RestorePointRecord> {
  const progress = trackProgress('restorePoint', ['validate', 'restore point']);
  const { checked, spec } = await progress.run('validate', async () => {
    const i = checkedInput('restorePoint', started);
    const s = await specFor(i);
    await tagWorkflow(s.name);
    return { checked: i, spec: s };
  });
  // Workflow time: the same name on every replay of this run.
  const name = checked.name ?? defaultPointName(new Date(Date.now()));
  return progress.run(
    'restore point',
    () =>
      longRunning.createRestorePoint({
        spec,
        name,
        origin: checked.origin ?? 'manual',
        rowCounts: checked.rowCounts ?? true,
      }),
    (r) =>
      `${r.name} at ${r.coordinatorLsn}; writes held ${r.pauseMs} ms` +
      (r.rowCounts ? `; ${Object.keys(r.rowCounts).length} table(s) counted` : ''),
  );
}
