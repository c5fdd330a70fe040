/** The base-backup step's news per group, and the wait between a group's attempts. */
import { describe, expect, test } from '@jest/globals';
import { describeGroupBackups, retryDelayMs } from '../../common/backup-progress';

describe('backup progress', () => {
  test('one line naming each group: done with label and sizes, running, retrying with why', () => {
    expect(
      describeGroupBackups({
        coordinator: {
          state: 'done',
          backup: {
            member: 'coord-a',
            label: '20261207-040000F',
            startLsn: '0/1',
            stopLsn: '0/2',
            timeline: 1,
            sizeBytes: 31_457_280,
            repoSizeBytes: 4_194_304,
          },
        },
        g1: { state: 'retrying', attempt: 1, why: 'g1-b is the primary now' },
        g2: { state: 'running', attempt: 2 },
      }),
    ).toBe(
      'coordinator: 20261207-040000F from coord-a, 30.0 MB (4.0 MB stored); ' +
        "g1: attempt 1 failed, retrying on the group's current primary: g1-b is the primary now; " +
        'g2: running (attempt 2)',
    );
  });

  test('the wait before an attempt grows from 5 s and stops at a minute', () => {
    expect([2, 3, 4, 5, 10].map(retryDelayMs)).toEqual([5000, 10000, 20000, 40000, 60000]);
  });
});
