import { describe, expect, it } from '@jest/globals';
import { earlierTimelineSegments, missingFromArchive } from '../../activities/backup/archive-gap';
import { archiveWalScript, pgbackrestConf } from '../../lib/backup/pgbackrest-config';

describe('the archive gap after a failover', () => {
  it('candidates are completed segments of earlier timelines only', () => {
    const dir = [
      '000000010000000000000003',
      '000000010000000000000004',
      '000000010000000000000005.partial',
      '00000002.history',
      '000000020000000000000005',
      'archive_status',
    ];
    expect(earlierTimelineSegments('000000020000000000000005', dir)).toEqual([
      '000000010000000000000003',
      '000000010000000000000004',
    ]);
    expect(earlierTimelineSegments('000000010000000000000005', dir)).toEqual([]);
  });

  it('pushes only what the archive lacks, whatever its compression suffix', () => {
    const archived = ['000000010000000000000003-0123456789abcdef0123456789abcdef01234567.lz4'];
    expect(missingFromArchive(['000000010000000000000003', '000000010000000000000004'], archived)).toEqual([
      '000000010000000000000004',
    ]);
  });
});

describe('pgBackRest configuration', () => {
  it('one stanza per group, the repository on the backup volume', () => {
    const conf = pgbackrestConf({ stanzas: ['coordinator', 'g1'], retentionFull: 3 });
    expect(conf).toContain('repo1-path=/var/lib/pgbackrest');
    expect(conf).toContain('repo1-retention-full=3');
    expect(conf).toMatch(/\[coordinator\]\npg1-path=\/var\/lib\/postgresql\/citusctl\/pgdata/);
    expect(conf).toContain('[g1]');
  });

  it('archive_command pushes to its group, and is a no-op without a configuration', () => {
    const script = archiveWalScript('g1');
    expect(script).toContain('--stanza=g1 archive-push "$1"');
    expect(script).toMatch(/\[ -e \/citusctl\/pgbackrest.conf \] \|\| exit 0/);
  });
});
