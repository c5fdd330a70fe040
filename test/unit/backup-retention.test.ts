/**
 * What expire keeps: the newest backups by the spec's retention, more when the newest verified
 * restore used an older one (retentionKeeping), and per stanza enough full backups that every kept
 * backup's group backup survives even when a failed run left extra full backups in one stanza.
 */
import { describe, expect, test } from '@jest/globals';
import type { BackupRecord, VerificationRecord } from '../../common/backup-records';
import { keptBackups, stanzaRetentionFull } from '../../common/backup-retention';
import { parseSpec } from '../../common/spec';

const spec = parseSpec({ name: 'ret' });

const backup = (day: number): BackupRecord => ({
  id: `b-202612${String(day).padStart(2, '0')}t040000z`,
  cluster: 'ret',
  startedAt: `2026-12-${String(day).padStart(2, '0')}T04:00:00.000Z`,
  finishedAt: `2026-12-${String(day).padStart(2, '0')}T04:10:00.000Z`,
  restorePoint: `b-${day}`,
  groups: {
    coordinator: {
      member: 'coord-a',
      label: `202612${String(day).padStart(2, '0')}-040000F`,
      startLsn: '0/1',
      stopLsn: '0/2',
      timeline: 1,
      sizeBytes: 1,
      repoSizeBytes: 1,
    },
    g1: {
      member: 'g1-a',
      label: `202612${String(day).padStart(2, '0')}-040001F`,
      startLsn: '0/1',
      stopLsn: '0/2',
      timeline: 1,
      sizeBytes: 1,
      repoSizeBytes: 1,
    },
  },
  spec,
});

const verified = (b: BackupRecord, ok: boolean, day: number): VerificationRecord => ({
  id: `v-${day}`,
  cluster: 'ret',
  backupId: b.id,
  restorePoint: b.restorePoint,
  startedAt: `2026-12-${day}T05:00:00.000Z`,
  finishedAt: `2026-12-${day}T05:20:00.000Z`,
  ok,
  problems: ok ? [] : ['rows differ'],
  tables: {},
  scratchCluster: 'scratch',
});

const [b1, b2, b3] = [backup(1), backup(2), backup(3)];
const labels = (...bs: BackupRecord[]) => bs.map((b) => b.groups.g1!.label);

describe('keptBackups', () => {
  test('the newest retentionFull backups when nothing was verified', () => {
    expect(keptBackups(1, [b1, b3, b2], []).map((b) => b.id)).toEqual([b3.id]);
    expect(keptBackups(2, [b1, b3, b2], []).map((b) => b.id)).toEqual([b3.id, b2.id]);
  });

  test('back to the backup the newest good verification used, however old', () => {
    expect(keptBackups(1, [b1, b2, b3], [verified(b1, true, 10)]).map((b) => b.id)).toEqual([b3.id, b2.id, b1.id]);
  });

  test('a failed verification protects nothing; the newest good one decides', () => {
    expect(keptBackups(1, [b1, b2, b3], [verified(b1, false, 10)]).map((b) => b.id)).toEqual([b3.id]);
    const vs = [verified(b1, true, 10), verified(b2, true, 11)];
    expect(keptBackups(1, [b1, b2, b3], vs).map((b) => b.id)).toEqual([b3.id, b2.id]);
  });
});

describe('stanzaRetentionFull', () => {
  test('the spec retention when the stanza holds just the recorded backups', () => {
    const kept = keptBackups(1, [b1, b2, b3], []);
    expect(stanzaRetentionFull('g1', 1, kept, labels(b3, b2, b1))).toBe(1);
  });

  test('a verified older backup keeps that many full backups in every stanza', () => {
    const kept = keptBackups(1, [b1, b2, b3], [verified(b1, true, 10)]);
    expect(stanzaRetentionFull('g1', 1, kept, labels(b3, b2, b1))).toBe(3);
    expect(
      stanzaRetentionFull(
        'coordinator',
        1,
        kept,
        [b3, b2, b1].map((b) => b.groups.coordinator!.label),
      ),
    ).toBe(3);
  });

  test('an unrecorded full backup (a run failed in another group) does not push a kept one out', () => {
    const kept = keptBackups(2, [b1, b2, b3], []);
    const stray = '20261204-040001F';
    expect(stanzaRetentionFull('g1', 2, kept, [stray, ...labels(b3, b2, b1)])).toBe(3);
  });

  test('a group the records do not know (added since) keeps the spec retention', () => {
    const kept = keptBackups(2, [b1, b2, b3], []);
    expect(stanzaRetentionFull('g2', 2, kept, ['20261203-040002F'])).toBe(2);
  });
});
