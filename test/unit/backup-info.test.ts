/** Reading pgBackRest's info: the run's backup by annotation, the record's figures, progress from the lock. */
import { describe, expect, test } from '@jest/globals';
import { backupOfRun, backupProgressOf, groupBackupOf, timelineOfWal } from '../../lib/backup/backup-info';
import type { StanzaInfo } from '../../lib/backup/pgbackrest';

const entry = (label: string, run: string, error = false): StanzaInfo['backup'][number] => ({
  label,
  type: 'full',
  error,
  timestamp: { start: 1, stop: 2 },
  lsn: { start: '0/5000028', stop: '0/5000138' },
  archive: { start: '000000030000000000000005', stop: '000000030000000000000005' },
  info: { size: 31_457_280, delta: 31_457_280, repository: { size: 4_194_304, delta: 4_194_304 } },
  annotation: { 'citusctl-backup': run, 'citusctl-member': 'g1-b' },
});

const stanza = (backups: StanzaInfo['backup'], lock?: StanzaInfo['status']['lock']): StanzaInfo => ({
  name: 'g1',
  status: { code: 0, message: 'ok', ...(lock ? { lock } : {}) },
  backup: backups,
  archive: [],
});

describe('backup-info', () => {
  test('timelineOfWal reads the hex timeline of a segment name', () => {
    expect(timelineOfWal('000000030000000000000005')).toBe(3);
    expect(timelineOfWal('0000001A00000001000000FF')).toBe(26);
    expect(() => timelineOfWal('00000003.history')).toThrow(/not a WAL segment/);
  });

  test("backupOfRun finds the run's completed backup by its annotation, never an errored one", () => {
    const s = stanza([entry('20261207-040000F', 'b-1'), entry('20261207-050000F', 'b-2', true)]);
    expect(backupOfRun(s, 'b-1')?.label).toBe('20261207-040000F');
    expect(backupOfRun(s, 'b-2')).toBeUndefined();
    expect(backupOfRun(s, 'b-3')).toBeUndefined();
    expect(backupOfRun(undefined, 'b-1')).toBeUndefined();
  });

  test('groupBackupOf: label, LSNs, timeline from the start WAL, sizes, member', () => {
    expect(groupBackupOf(entry('20261207-040000F', 'b-1'))).toEqual({
      member: 'g1-b',
      label: '20261207-040000F',
      startLsn: '0/5000028',
      stopLsn: '0/5000138',
      timeline: 3,
      sizeBytes: 31_457_280,
      repoSizeBytes: 4_194_304,
    });
    expect(groupBackupOf(entry('x', 'b-1'), 'g1-c').member).toBe('g1-c');
  });

  test('backupProgressOf: bytes copied of bytes to copy while the lock is held', () => {
    expect(backupProgressOf(stanza([], { backup: { held: true, size: 100, 'size-cplt': 40 } }))).toEqual({
      done: 40,
      total: 100,
    });
    expect(backupProgressOf(stanza([], { backup: { held: false } }))).toBeUndefined();
    expect(backupProgressOf(stanza([]))).toBeUndefined();
  });
});
