/**
 * Backups in the health verdict (common/backup-health.ts): archive lag from WAL file names, a
 * failing archive from pg_stat_archiver's times, a nearly full repository, and the ages of the
 * newest backup and verified restore against the spec, with a fresh cluster's grace.
 */
import {
  archiveFailing,
  archiveLagSegments,
  backupVerdict,
  walSegment,
  type ArchiverObservation,
  type BackupObservation,
} from '../../common/backup-health';
import { parseSpec } from '../../common/spec';
import { lastArchiveError, parseArchiverLine } from '../../lib/backup/archive-state';
import { backupHealthLines } from '../../client/health';

const spec = parseSpec({ name: 'bh' });
const AT = Date.parse('2026-12-07T12:00:00Z');
const ago = (h: number) => new Date(AT - h * 3_600_000).toISOString();

describe('WAL segments and archive lag', () => {
  test('segment numbers across the log boundary, with suffixes; a history file is no segment', () => {
    expect(walSegment('000000010000000000000003')).toEqual({ timeline: 1, segno: 3 });
    expect(walSegment('0000000200000001000000FF')).toEqual({ timeline: 2, segno: 256 + 255 });
    expect(walSegment('000000010000000000000004.partial')).toEqual({ timeline: 1, segno: 4 });
    expect(walSegment('000000010000000000000005.00000028.backup')).toEqual({ timeline: 1, segno: 5 });
    expect(walSegment('00000002.history')).toBeNull();
    expect(walSegment(null)).toBeNull();
  });

  test('the segment being written is not due: the one before it archived is no lag', () => {
    expect(archiveLagSegments('000000010000000000000009', '000000010000000000000008')).toBe(0);
    expect(archiveLagSegments('000000010000000000000009', '000000010000000000000009')).toBe(0);
    expect(archiveLagSegments('00000001000000010000000A', '0000000100000000000000FE')).toBe(11);
    // A timeline switch keeps the numbering: the promoted standby's new segments count on.
    expect(archiveLagSegments('000000020000000000000012', '000000010000000000000010')).toBe(1);
    expect(archiveLagSegments('000000020000000000000012', '00000002.history')).toBeNull();
    expect(archiveLagSegments('000000010000000000000003', null)).toBeNull();
  });

  test('the segments waiting (.ready) are the lag when the primary counted them, whatever the names say', () => {
    expect(archiveLagSegments('000000010000000000000009', '000000010000000000000008', 0)).toBe(0);
    expect(archiveLagSegments('000000010000000000000009', '000000010000000000000005', 3)).toBe(3);
    // After a backup the archiver's last file is the backup's history file, named after the segment
    // the backup started in: everything up to the one being written is archived, no lag.
    expect(archiveLagSegments('000000010000000000000007', '000000010000000000000005.00000028.backup', 0)).toBe(0);
    // Archiving never succeeded: the waiting segments still count.
    expect(archiveLagSegments('000000010000000000000007', null, 6)).toBe(6);
  });

  test('without the count, a .backup history file tells no lag (it names where its backup started)', () => {
    expect(archiveLagSegments('000000010000000000000007', '000000010000000000000005.00000028.backup')).toBeNull();
  });

  test('failing: the last failure is newer than the last success, or nothing ever succeeded', () => {
    expect(archiveFailing({ lastFailedTime: null, lastArchivedTime: ago(1) })).toBe(false);
    expect(archiveFailing({ lastFailedTime: ago(2), lastArchivedTime: ago(1) })).toBe(false);
    expect(archiveFailing({ lastFailedTime: ago(0.5), lastArchivedTime: ago(1) })).toBe(true);
    expect(archiveFailing({ lastFailedTime: ago(0.5), lastArchivedTime: null })).toBe(true);
  });
});

describe('pg_stat_archiver as psql prints it, and the archive error of a log', () => {
  test('one line, seven fields (the last: segments waiting); empty ones are null', () => {
    expect(
      parseArchiverLine('000000010000000000000009|000000010000000000000008|2026-12-07T11:59:00.000Z|0|||2\n'),
    ).toEqual({
      currentWal: '000000010000000000000009',
      lastArchivedWal: '000000010000000000000008',
      lastArchivedTime: '2026-12-07T11:59:00.000Z',
      failedCount: 0,
      lastFailedWal: null,
      lastFailedTime: null,
      readySegments: 2,
    });
    expect(() => parseArchiverLine('')).toThrow(/unexpected pg_stat_archiver output/);
    // The six fields of an older query: the waiting segments are not optional.
    expect(() => parseArchiverLine('000000010000000000000009|000000010000000000000008||0||')).toThrow(
      /unexpected pg_stat_archiver output/,
    );
  });

  test("pgBackRest's own error first, else PostgreSQL's line", () => {
    const log = [
      '2026-12-07 LOG:  archive command failed with exit code 42',
      'ERROR: [042]: unable to open file /var/lib/pgbackrest/archive/g1/x: [13] Permission denied',
      'LOG:  archive command failed with exit code 42',
      'DETAIL:  The failed archive command was: /citusctl/archive-wal.sh pg_wal/000000010000000000000009',
    ].join('\n');
    expect(lastArchiveError(log)).toMatch(/^ERROR: \[042\]: unable to open file .*Permission denied$/);
    expect(lastArchiveError('LOG:  archive command failed with exit code 1\nLOG: ok')).toMatch(/exit code 1/);
    expect(lastArchiveError('LOG: checkpoint complete')).toBeUndefined();
  });
});

const archiving = (
  group: string,
  over: Partial<Extract<ArchiverObservation, { ok: true }>> = {},
): ArchiverObservation => ({
  group,
  member: `${group}-a`,
  ok: true,
  currentWal: '000000010000000000000009',
  lastArchivedWal: '000000010000000000000008',
  lastArchivedTime: ago(0.01),
  failedCount: 0,
  lastFailedWal: null,
  lastFailedTime: null,
  ...over,
});

function observed(over: Partial<Extract<BackupObservation, { enabled: true }>> = {}): BackupObservation {
  return {
    enabled: true,
    archive: [archiving('coordinator'), archiving('g1'), archiving('g2')],
    repo: { ok: true, usedBytes: 10 << 20, fsSizeBytes: 1000 << 20, fsAvailBytes: 900 << 20 },
    repoCreatedAt: ago(200),
    catalog: {
      ok: true,
      newestBackup: { id: 'b-1', finishedAt: ago(3), restorePoint: 'b-1', sizeBytes: 1 << 20, repoSizeBytes: 1 << 19 },
      newestRestorePoint: { name: 'p-1', createdAt: ago(0.1), origin: 'schedule' },
      newestVerification: {
        id: 'v-1',
        ok: true,
        finishedAt: ago(2),
        backupId: 'b-1',
        restorePoint: 'b-1',
        problems: [],
      },
      newestOkVerification: { id: 'v-1', finishedAt: ago(2) },
    },
    ...over,
  };
}

const messages = (obs: BackupObservation, t = {}) => backupVerdict(spec, obs, AT, t).problems.map((p) => p.message);

describe('backupVerdict', () => {
  test('everything recent and archived: no problem, lag 0 per group', () => {
    const v = backupVerdict(spec, observed(), AT);
    expect(v.problems).toEqual([]);
    expect(v.notes).toEqual([]);
    expect(v.report.groups.map((g) => [g.group, g.lagSegments, g.failing])).toEqual([
      ['coordinator', 0, false],
      ['g1', 0, false],
      ['g2', 0, false],
    ]);
    expect(v.report.repo).toMatchObject({ usedPercent: 10 });
  });

  test('disabled: a note, nothing observed', () => {
    expect(backupVerdict(spec, { enabled: false }, AT)).toEqual({
      report: { enabled: false, groups: [] },
      problems: [],
      notes: ['backups: disabled (spec backup.enabled)'],
    });
  });

  test('a failing archive is a named problem with its last success, failure and error', () => {
    const obs = observed({
      archive: [
        archiving('coordinator'),
        archiving('g1', {
          lastArchivedTime: '2026-12-07T11:00:00.000Z',
          lastFailedTime: '2026-12-07T11:58:00.000Z',
          lastFailedWal: '000000010000000000000009',
          failedCount: 12,
          lastError: 'ERROR: [042]: Permission denied',
        }),
        archiving('g2'),
      ],
    });
    expect(backupVerdict(spec, obs, AT).problems).toEqual([
      {
        subject: 'g1',
        message:
          'archive of g1 failing since 2026-12-07T11:00:00.000Z (its last success): 12 failure(s), the last at ' +
          '2026-12-07T11:58:00.000Z on 000000010000000000000009; last error: ERROR: [042]: Permission denied',
      },
    ]);
  });

  test('lag above the threshold degrades; at it, not', () => {
    const lagging = (n: number) =>
      observed({
        archive: [
          archiving('coordinator', {
            currentWal: `0000000100000000${(9 + n).toString(16).toUpperCase().padStart(8, '0')}`,
          }),
        ],
      });
    expect(messages(lagging(16))).toEqual([]);
    expect(messages(lagging(17))).toEqual([
      expect.stringMatching(/^archive of coordinator is 17 WAL segments \(272.0 MiB\) behind coordinator-a/),
    ]);
    expect(messages(lagging(5), { archiveLagSegments: 4 })).toHaveLength(1);
  });

  test('a repository 93% full is a named problem', () => {
    const obs = observed({ repo: { ok: true, usedBytes: 930 << 20, fsSizeBytes: 1000 << 20, fsAvailBytes: 70 << 20 } });
    expect(messages(obs)).toEqual(['backup repository 93% full (70.0 MiB free): archiving stops when it is full']);
  });

  test('a fresh cluster without backups: notes, until the repository is older than the limits', () => {
    const none = (repoAgeH: number) =>
      observed({
        repoCreatedAt: ago(repoAgeH),
        catalog: {
          ok: true,
          newestBackup: null,
          newestRestorePoint: null,
          newestVerification: null,
          newestOkVerification: null,
        },
      });
    const fresh = backupVerdict(spec, none(1), AT);
    expect(fresh.problems).toEqual([]);
    expect(fresh.notes).toEqual([
      'backups: no backup yet (the repository is 1.0 h old)',
      'backups: no verified restore yet',
    ]);
    expect(messages(none(30))).toEqual([
      'no backup yet (the repository is 30.0 h old), backup.maxBackupAgeHours is 26',
    ]);
    expect(messages(none(60))).toEqual([
      'no backup yet (the repository is 2.5 days old), backup.maxBackupAgeHours is 26',
      'no verified restore yet, backup.maxVerifyAgeHours is 50',
    ]);
  });

  test('a backup or a verified restore older than the spec allows degrades', () => {
    const base = observed();
    if (!base.enabled || !base.catalog.ok) throw new Error('fixture');
    const stale = observed({
      catalog: {
        ...base.catalog,
        newestBackup: { ...base.catalog.newestBackup!, finishedAt: ago(27) },
        newestOkVerification: { id: 'v-0', finishedAt: ago(51) },
      },
    });
    expect(messages(stale)).toEqual([
      'the newest backup b-1 is 27.0 h old (backup.maxBackupAgeHours 26)',
      'the newest verified restore v-0 is 2.1 days old (backup.maxVerifyAgeHours 50)',
    ]);
  });

  test('a failed newest verification is a problem naming its problems', () => {
    const base = observed();
    if (!base.enabled || !base.catalog.ok) throw new Error('fixture');
    const failed = observed({
      catalog: {
        ...base.catalog,
        newestVerification: {
          id: 'v-2',
          ok: false,
          finishedAt: ago(1),
          backupId: 'b-1',
          restorePoint: 'b-1',
          problems: ['public.demo: 5 rows, the restore point recorded 7'],
        },
      },
    });
    expect(messages(failed)).toEqual([
      `the newest verification v-2 (${ago(1)}) of backup b-1 failed: public.demo: 5 rows, the restore point recorded 7`,
    ]);
  });

  test('an unreadable catalog or repository is a problem; an unreachable primary only a note', () => {
    const obs = observed({
      archive: [{ group: 'g1', member: 'g1-a', ok: false, error: 'container exited' }],
      repo: { ok: false, error: 'the backup container is not running' },
      catalog: { ok: false, error: 'volume gone' },
    });
    const v = backupVerdict(spec, obs, AT);
    expect(v.problems.map((p) => p.message)).toEqual([
      'cannot measure the backup repository: the backup container is not running',
      'cannot read the backup catalog: volume gone',
    ]);
    expect(v.notes).toEqual(['backups: the archive state of g1 is unknown (g1-a: container exited)']);
  });
});

test("health's text: each group's archive, the repository, the newest backup and verification", () => {
  const obs = observed({
    archive: [
      archiving('coordinator'),
      archiving('g1', { lastFailedTime: ago(0), lastFailedWal: '000000010000000000000009', failedCount: 4 }),
    ],
  });
  const lines = backupHealthLines(backupVerdict(spec, obs, AT).report);
  expect(lines[0]).toBe('backups:');
  expect(lines[1]).toMatch(
    /^ {2}archive coordinator +on coordinator-a: ok, last 000000010000000000000008 at .*, 0 segment/,
  );
  expect(lines[2]).toMatch(/^ {2}archive g1 +on g1-a: FAILING \(4 failures\)/);
  expect(lines.slice(3)).toEqual([
    '  repository: 10.0 MiB used, filesystem 10% full',
    `  newest backup: b-1 at ${ago(3)}`,
    `  newest verification: v-1 ok at ${ago(2)} (backup b-1)`,
  ]);
});
