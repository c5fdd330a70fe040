/**
 * After a failover, the archive's gap closed from the new primary. PostgreSQL archives on the primary
 * only (archive_mode=on: pgBackRest takes one archiver per stanza), and a standby marks the segments
 * it receives as done, so the completed segments of the old timeline that the dead primary had not
 * pushed yet would be missing for good: a restore could not replay past them. The new primary
 * received every one of them (it was the synchronous standby) and still holds them in pg_wal
 * (wal_keep_size): it pushes those the repository lacks. Segments already archived are left alone
 * (the standby's copy may differ from the primary's in the unused tail, a checksum pgBackRest refuses).
 */
import type { ClusterSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import { classifyPgbackrestError, PgbackrestError, runPgbackrest, stanzaInfo } from '../../lib/backup/pgbackrest';
import { MEMBER_PGDATA, PGBACKREST_CONF } from '../../lib/backup/pgbackrest-config';
import { execIn } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';
import { currentWalFile, walDirectory } from '../../lib/postgres/wal-files';
import { asSuperuser } from '../members/superuser';

const SEGMENT = /^[0-9A-F]{24}$/;

/** The completed segments of earlier timelines in pg_wal (pure, for the unit test). */
export function earlierTimelineSegments(currentWalFile: string, walDir: readonly string[]): string[] {
  const timeline = currentWalFile.slice(0, 8);
  return walDir.filter((f) => SEGMENT.test(f) && f.slice(0, 8) < timeline).sort();
}

/** The segments not yet in the archive, given the names of the archive's files (`<segment>-<sha1>[.ext]`). */
export function missingFromArchive(segments: readonly string[], archived: readonly string[]): string[] {
  const have = new Set(archived.map((f) => f.slice(0, 24)));
  return segments.filter((s) => !have.has(s));
}

export function createArchiveGapActivities(deps: ActivityDeps) {
  async function closeArchiveGap(input: {
    spec: ClusterSpec;
    group: string;
    primary: string;
  }): Promise<{ pushed: string[]; checked: number }> {
    const { spec, group, primary } = input;
    if (!spec.backup.enabled) return { pushed: [], checked: 0 };
    if (spec.members.find((m) => m.name === primary)?.group !== group)
      throw fatal('BadConfig', `${primary} is not a member of group ${group}`);
    const container = containerName(spec.name, primary);
    return withHeartbeat(async () => {
      let wal: { current: string; files: string[] };
      try {
        wal = await asSuperuser(deps, spec, primary, async (c) => ({
          current: await currentWalFile(c),
          files: await walDirectory(c),
        }));
      } catch (err) {
        throw classifyPgError(err, `reading ${primary}'s WAL directory`);
      }
      const candidates = earlierTimelineSegments(wal.current, wal.files);
      if (!candidates.length) return { pushed: [], checked: 0 };
      try {
        const [info] = await stanzaInfo(deps.docker, container, group);
        const archiveId = info?.archive.at(-1)?.id;
        if (!archiveId) throw fatal('BadConfig', `stanza ${group} has no archive yet`);
        const dirs = [...new Set(candidates.map((s) => s.slice(0, 16)))].map(
          (d) => `archive/${group}/${archiveId}/${d}`,
        );
        // pgBackRest lists the repository, a volume or S3 alike (a missing directory lists nothing).
        const listed = await execIn(deps.docker, container, [
          'sh',
          '-c',
          `for d in "$@"; do pgbackrest --config=${PGBACKREST_CONF} repo-ls "$d" || exit 1; done`,
          'sh',
          ...dirs,
        ]);
        if (listed.exitCode !== 0) throw new PgbackrestError('repo-ls', listed.exitCode, listed.stderr + listed.stdout);
        const missing = missingFromArchive(candidates, listed.stdout.split('\n').filter(Boolean));
        for (const segment of missing)
          await runPgbackrest(deps.docker, container, [
            `--stanza=${group}`,
            'archive-push',
            `${MEMBER_PGDATA}/pg_wal/${segment}`,
          ]);
        return { pushed: missing, checked: candidates.length };
      } catch (err) {
        throw classifyPgbackrestError(err, `closing the archive gap of ${group} from ${primary}`);
      }
    });
  }

  return { closeArchiveGap };
}
