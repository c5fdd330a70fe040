import { describe, expect, it } from '@jest/globals';
import {
  backupFor,
  chooseTarget,
  retentionKeeping,
  timeId,
  type BackupRecord,
  type RestorePointRecord,
  type VerificationRecord,
} from '../../common/backup-records';
import { parseSpec } from '../../common/spec';

const spec = parseSpec({ name: 'demo' });
const point = (name: string, createdAt: string): RestorePointRecord => ({
  name,
  cluster: 'demo',
  createdAt,
  origin: 'manual',
  coordinatorLsn: '0/1000000',
  groups: {
    coordinator: { primary: 'coord-a', lsn: '0/1000000', timeline: 1, walFile: '000000010000000000000001' },
    g1: { primary: 'g1-a', lsn: '0/1000000', timeline: 1, walFile: '000000010000000000000001' },
    g2: { primary: 'g2-a', lsn: '0/1000000', timeline: 1, walFile: '000000010000000000000001' },
  },
  rowCounts: null,
  pauseMs: 3,
});
const group = { member: 'x', label: 'L', startLsn: '0/1', stopLsn: '0/2', timeline: 1, sizeBytes: 1, repoSizeBytes: 1 };
const backup = (id: string, startedAt: string, finishedAt: string): BackupRecord => ({
  id,
  cluster: 'demo',
  startedAt,
  finishedAt,
  restorePoint: id,
  groups: { coordinator: group, g1: group, g2: group },
  spec,
});
const verified = (backupId: string, finishedAt: string, ok = true): VerificationRecord => ({
  id: `v-${finishedAt}`,
  cluster: 'demo',
  backupId,
  restorePoint: backupId,
  startedAt: finishedAt,
  finishedAt,
  ok,
  problems: [],
  tables: {},
  scratchCluster: 'demo-v',
});

const points = [
  point('b1', '2026-12-07T01:00:00.000Z'),
  point('r1', '2026-12-07T01:30:00.000Z'),
  point('b2', '2026-12-07T02:00:00.000Z'),
  point('r2', '2026-12-07T02:30:00.000Z'),
];
const backups = [
  backup('b1', '2026-12-07T00:50:00.000Z', '2026-12-07T00:59:00.000Z'),
  backup('b2', '2026-12-07T01:50:00.000Z', '2026-12-07T01:59:00.000Z'),
];

describe('chooseTarget', () => {
  it('a named point starts from the newest backup finished before it', () => {
    const r = chooseTarget({ point: 'r1' }, points, backups);
    expect(r).toMatchObject({ ok: true, point: { name: 'r1' }, backup: { id: 'b1' } });
    expect(chooseTarget({ point: 'r2' }, points, backups)).toMatchObject({ ok: true, backup: { id: 'b2' } });
  });

  it('an unknown point is refused with the list of points', () => {
    const r = chooseTarget({ point: 'nope' }, points, backups);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(/no restore point named "nope".*b1 .*r1 .*b2 .*r2 /);
  });

  it('a time takes the newest point at or before it and says so', () => {
    const r = chooseTarget({ time: '2026-12-07T02:10:00Z' }, points, backups);
    expect(r).toMatchObject({ ok: true, point: { name: 'b2' } });
    if (r.ok) expect(r.note).toMatch(/newest restore point at or before .*consistent/);
    expect(chooseTarget({ time: '2026-12-07T00:00:00Z' }, points, backups).ok).toBe(false);
    expect(chooseTarget({ time: 'yesterday' }, points, backups)).toMatchObject({ ok: false });
  });

  it('latest is the newest point; a point without an earlier backup is refused', () => {
    expect(chooseTarget({ latest: true }, points, backups)).toMatchObject({ ok: true, point: { name: 'r2' } });
    expect(chooseTarget({ latest: true }, [], backups)).toMatchObject({ ok: false });
    const early = point('r0', '2026-12-07T00:10:00.000Z');
    expect(chooseTarget({ point: 'r0' }, [early, ...points], backups)).toMatchObject({ ok: false });
  });

  it('a backup missing a group of the point is not a start for it', () => {
    const partial = { ...backups[1]!, groups: { coordinator: group, g1: group } };
    expect(backupFor(points[3]!, [backups[0]!, partial])?.id).toBe('b1');
  });
});

describe('retentionKeeping', () => {
  it('keeps the spec count, or back to the backup the newest good verification used', () => {
    const three = [...backups, backup('b3', '2026-12-07T02:50:00.000Z', '2026-12-07T02:59:00.000Z')];
    expect(retentionKeeping(1, three, [])).toBe(1);
    expect(retentionKeeping(1, three, [verified('b3', '2026-12-07T03:10:00.000Z')])).toBe(1);
    expect(retentionKeeping(1, three, [verified('b1', '2026-12-07T03:10:00.000Z')])).toBe(3);
    // a failed verification protects nothing; the newest good one counts
    expect(
      retentionKeeping(1, three, [
        verified('b1', '2026-12-07T03:10:00.000Z'),
        verified('b3', '2026-12-07T03:20:00.000Z', false),
      ]),
    ).toBe(3);
    expect(retentionKeeping(2, three, [verified('b2', '2026-12-07T03:10:00.000Z')])).toBe(2);
  });
});

describe('timeId', () => {
  it('is sortable and fits a restore point name', () => {
    expect(timeId('b', new Date('2026-12-07T04:05:06.789Z'))).toBe('b-20261207t040506z');
  });
});
