/** What the project assumes of a PostgreSQL image, checked inside the running container. */
const BASE_CHECK = [
  'set -e',
  'bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)',
  'test -n "$bin" && test -x "$bin/postgres" ' +
    '|| { echo "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"; exit 3; }',
  'ls /usr/share/postgresql/*/extension/citus.control >/dev/null 2>&1 ' +
    '|| { echo "the citus extension is not installed (no citus.control)"; exit 4; }',
  'command -v setpriv >/dev/null && command -v flock >/dev/null ' +
    '|| { echo "setpriv/flock (util-linux) missing"; exit 5; }',
];

/**
 * With backups on, every member archives its WAL with pgBackRest: the image needs it (the upstream
 * citusdata/citus image does not have it; a derived image adds it from PGDG's apt repository).
 */
const BACKUP_CHECK =
  'command -v pgbackrest >/dev/null || { echo "pgBackRest is not installed (backups need it on every member: ' +
  'derive the image with apt-get install -y pgbackrest, or set backup.enabled: false)"; exit 6; }';

export function capabilityCheck(opts: { backups: boolean }): string {
  return [...BASE_CHECK, ...(opts.backups ? [BACKUP_CHECK] : [])].join('\n');
}
