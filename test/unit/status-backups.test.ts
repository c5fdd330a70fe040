/** The backup lines of `citusctl status` (client/status-backups.ts): one line each, what is missing said. */
import { backupStatusLines, type BackupStatus } from '../../client/status-backups';

const base: BackupStatus = {
  enabled: true,
  container: { name: 'citusctl-demo-backup', state: 'running' },
  repository: { volume: 'citusctl-demo-backups', present: true, sizeBytes: 3 * 1024 * 1024 },
  catalog: {
    newestBackup: {
      id: 'b-1',
      finishedAt: '2026-12-07T03:00:00.000Z',
      restorePoint: 'b-1',
      sizeBytes: 8 * 1024 * 1024,
      repoSizeBytes: 2 * 1024 * 1024,
    },
    newestRestorePoint: { name: 'rp-2', createdAt: '2026-12-07T03:15:00.000Z', origin: 'schedule' },
    newestVerification: {
      id: 'v-2',
      ok: false,
      finishedAt: '2026-12-07T04:10:00.000Z',
      backupId: 'b-1',
      restorePoint: 'b-1',
      problems: ['public.events: 9 rows, the restore point recorded 10'],
    },
    newestOkVerification: { id: 'v-1', finishedAt: '2026-12-06T04:10:00.000Z' },
  },
};

test('container, repository size, newest backup, restore point, verification (a failed one, its problem)', () => {
  expect(backupStatusLines(base)).toEqual([
    'backups: container citusctl-demo-backup running; repository citusctl-demo-backups 3.0 MiB',
    '  newest backup: b-1 at 2026-12-07T03:00:00.000Z, 8.0 MiB (2.0 MiB in the repository), point b-1',
    '  newest restore point: rp-2 at 2026-12-07T03:15:00.000Z (schedule)',
    '  newest verification: v-2 FAILED at 2026-12-07T04:10:00.000Z (backup b-1): ' +
      'public.events: 9 rows, the restore point recorded 10; last ok v-1',
  ]);
});

test('a fresh cluster: none yet; disabled without a repository: one line', () => {
  const fresh: BackupStatus = {
    ...base,
    catalog: { newestBackup: null, newestRestorePoint: null, newestVerification: null, newestOkVerification: null },
  };
  expect(backupStatusLines(fresh).slice(1)).toEqual([
    '  newest backup: none yet',
    '  newest restore point: none yet',
    '  newest verification: none yet',
  ]);
  expect(
    backupStatusLines({ ...base, enabled: false, repository: { ...base.repository, present: false }, catalog: null }),
  ).toEqual(['backups: disabled (spec backup.enabled)']);
});
