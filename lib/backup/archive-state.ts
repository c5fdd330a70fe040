/**
 * A member's WAL archiving as PostgreSQL reports it (pg_stat_archiver) and the WAL file it writes
 * now, read with psql inside the container over the local socket (peer authentication as postgres:
 * no password needed), and the last archive error its log shows.
 */
import type Docker from 'dockerode';
import type { ArchiverState } from '../../common/backup-health';
import { containerLogs, execIn } from '../docker/docker-helpers';

export type { ArchiverState };

// One line, fields separated by "|"; timestamps in UTC ISO form. A standby has no current WAL
// insert position: pg_last_wal_receive_lsn() stands in (the caller asks primaries). The last field
// counts the completed segments still waiting for the archiver (their `.ready` files): the lag,
// which pg_stat_archiver's last file name cannot tell (after a backup it names a `.backup` file).
const ARCHIVER_SQL =
  'SELECT pg_walfile_name(CASE WHEN pg_is_in_recovery() ' +
  'THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END), ' +
  "coalesce(last_archived_wal, ''), " +
  "coalesce(to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''), " +
  'failed_count, ' +
  "coalesce(last_failed_wal, ''), " +
  "coalesce(to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''), " +
  "(SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name ~ '^[0-9A-F]{24}\\.ready$') " +
  'FROM pg_stat_archiver';

/** Parses psql's `-At -F '|'` line of ARCHIVER_SQL. */
export function parseArchiverLine(line: string): ArchiverState {
  const f = line.trim().split('|');
  if (f.length !== 7 || !f[0] || !/^\d+$/.test(f[6]!))
    throw new Error(`unexpected pg_stat_archiver output: ${line.slice(0, 200)}`);
  const orNull = (v: string | undefined) => (v ? v : null);
  return {
    currentWal: f[0],
    lastArchivedWal: orNull(f[1]),
    lastArchivedTime: orNull(f[2]),
    failedCount: Number(f[3]),
    lastFailedWal: orNull(f[4]),
    lastFailedTime: orNull(f[5]),
    readySegments: Number(f[6]),
  };
}

export async function readArchiverState(docker: Docker, container: string): Promise<ArchiverState> {
  const r = await execIn(
    docker,
    container,
    ['psql', '-X', '-q', '-At', '-F', '|', '-d', 'postgres', '-c', ARCHIVER_SQL],
    'postgres',
  );
  if (r.exitCode !== 0) throw new Error(`psql exited ${r.exitCode}: ${r.stderr.trim().slice(0, 300)}`);
  return parseArchiverLine(r.stdout);
}

/**
 * The last line of the member's log that says why archiving failed: pgBackRest's own error
 * (`ERROR: [NNN]: ...`) when it printed one, else PostgreSQL's "archive command failed".
 */
export function lastArchiveError(log: string): string | undefined {
  const lines = log.split('\n').map((l) => l.trim());
  const pick = (test: (l: string) => boolean) => [...lines].reverse().find(test);
  const line = pick((l) => /ERROR: \[\d+\]/.test(l)) ?? pick((l) => l.includes('archive command failed'));
  return line?.slice(0, 300);
}

export async function archiveErrorFromLog(docker: Docker, container: string): Promise<string | undefined> {
  return lastArchiveError(await containerLogs(docker, container, 300));
}
