/**
 * Writing a backup's record to the catalog in the repository (lib/backup/catalog.ts). Write-once:
 * a retry finds the record it wrote and returns it.
 */
import type { BackupRecord } from '../../common/backup-records';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';
import { catalogOf } from './catalog-of';

export function createRecordBackupActivities(deps: ActivityDeps) {
  async function recordBackup(input: { record: BackupRecord }): Promise<BackupRecord> {
    const { record } = input;
    return withHeartbeat(async () => {
      const catalog = catalogOf(deps, record.spec);
      if (await catalog.put('backups', record.id, record)) return record;
      return (await catalog.get('backups', record.id)) ?? record;
    });
  }
  return { recordBackup };
}
