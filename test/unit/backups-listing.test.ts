/** `citusctl backups`: rows oldest first, and the human table of backups, restore points and verifications. */
import { describe, expect, test } from '@jest/globals';
import { backupRows, backupsLines, restorePointRows, verificationRows } from '../../client/backups';
import type { BackupRecord, RestorePointRecord, VerificationRecord } from '../../common/backup-records';
import { parseSpec } from '../../common/spec';

const spec = parseSpec({ name: 'demo' });
const group = (member: string, label: string) => ({
  member,
  label,
  startLsn: '0/1',
  stopLsn: '0/2',
  timeline: 1,
  sizeBytes: 31_457_280,
  repoSizeBytes: 4_194_304,
});
const backup = (id: string, at: string): BackupRecord => ({
  id,
  cluster: 'demo',
  startedAt: at,
  finishedAt: at,
  restorePoint: id,
  groups: { coordinator: group('coord-a', `${id}-c`), g1: group('g1-b', `${id}-g1`) },
  spec,
});
const point = (name: string, at: string, counted: boolean): RestorePointRecord => ({
  name,
  cluster: 'demo',
  createdAt: at,
  origin: counted ? 'backup' : 'schedule',
  coordinatorLsn: '0/3',
  groups: {},
  rowCounts: counted ? { 'public.events': 10, 'public.other': 3 } : null,
  pauseMs: 14,
});
const verification: VerificationRecord = {
  id: 'v-1',
  cluster: 'demo',
  backupId: 'b-1',
  restorePoint: 'b-1',
  startedAt: '2026-12-07T05:00:00Z',
  finishedAt: '2026-12-07T05:10:00Z',
  ok: false,
  problems: ['public.events: 9 rows, 10 recorded'],
  tables: {},
  scratchCluster: 's',
};

describe('backups listing', () => {
  test('rows come oldest first whatever order the catalog lists them in', () => {
    expect(
      backupRows([backup('b-2', '2026-12-07T04:00:00Z'), backup('b-1', '2026-12-06T04:00:00Z')]).map((b) => b.id),
    ).toEqual(['b-1', 'b-2']);
    expect(
      restorePointRows([point('p2', '2026-12-07T04:15:00Z', false), point('p1', '2026-12-07T04:00:00Z', true)]),
    ).toEqual([
      { name: 'p1', createdAt: '2026-12-07T04:00:00Z', origin: 'backup', tables: 2, pauseMs: 14 },
      { name: 'p2', createdAt: '2026-12-07T04:15:00Z', origin: 'schedule', tables: null, pauseMs: 14 },
    ]);
  });

  test('the table: a line per group of a backup, points with or without counts, a failed verification', () => {
    const lines = backupsLines({
      cluster: 'demo',
      repository: 'citusctl-demo-backups',
      exists: true,
      backups: backupRows([backup('b-1', '2026-12-06T04:00:00Z')]),
      restorePoints: restorePointRows([
        point('b-1', '2026-12-06T04:01:00Z', true),
        point('p2', '2026-12-06T04:15:00Z', false),
      ]),
      verifications: verificationRows([verification]),
    });
    const text = lines.join('\n');
    expect(lines.filter((l) => /coord-a|g1-b/.test(l))).toHaveLength(2);
    expect(text).toMatch(/b-1\s+2026-12-06T04:00:00Z\s+coordinator\s+coord-a\s+b-1-c\s+30\.0 MB\s+4\.0 MB/);
    expect(text).toMatch(/p2\s+2026-12-06T04:15:00Z\s+schedule\s+no\s+14 ms/);
    expect(text).toMatch(/b-1\s+2026-12-06T04:01:00Z\s+backup\s+2 tables/);
    expect(text).toMatch(/v-1 .*failed: public\.events: 9 rows, 10 recorded/);
  });

  test('no repository, or an empty one, says so', () => {
    const empty = {
      cluster: 'demo',
      repository: 'citusctl-demo-backups',
      backups: [],
      restorePoints: [],
      verifications: [],
    };
    expect(backupsLines({ ...empty, exists: false })).toEqual([
      'cluster demo has no backup repository (volume citusctl-demo-backups)',
    ]);
    expect(backupsLines({ ...empty, exists: true }).join('\n')).toMatch(/no backups yet[\s\S]*no restore points yet/);
  });
});
