/**
 * A restored cluster's first base backup (client/backup-schedule.ts firstBackupAfterRestore):
 * triggered at once under a new name (its repository is empty), not in place, not with backups
 * disabled, not without the monitor (no long-lived worker would run it).
 */
import { firstBackupAfterRestore } from '../../client/backup-schedule';

describe('firstBackupAfterRestore', () => {
  test('a new name, backups on, the monitor running: the schedule is triggered now', () => {
    expect(firstBackupAfterRestore({ inPlace: false, backupsEnabled: true, monitor: true })).toEqual({ trigger: true });
  });

  test('in place: the repository keeps the cluster’s backups', () => {
    const p = firstBackupAfterRestore({ inPlace: true, backupsEnabled: true, monitor: true });
    expect(p).toEqual({ trigger: false, why: expect.stringMatching(/in place/) });
  });

  test('backups disabled: nothing to take', () => {
    const p = firstBackupAfterRestore({ inPlace: false, backupsEnabled: false, monitor: true });
    expect(p).toEqual({ trigger: false, why: expect.stringMatching(/disabled/) });
  });

  test('--no-monitor: no worker runs schedules, said so', () => {
    const p = firstBackupAfterRestore({ inPlace: false, backupsEnabled: true, monitor: false });
    expect(p).toEqual({ trigger: false, why: expect.stringMatching(/no-monitor/) });
  });
});
