/** What the project assumes of a PostgreSQL image, checked inside the running container. */
export const CAPABILITY_CHECK = [
  'set -e',
  'bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)',
  'test -n "$bin" && test -x "$bin/postgres" ' +
    '|| { echo "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"; exit 3; }',
  'ls /usr/share/postgresql/*/extension/citus.control >/dev/null 2>&1 ' +
    '|| { echo "the citus extension is not installed (no citus.control)"; exit 4; }',
  'command -v setpriv >/dev/null && command -v flock >/dev/null ' +
    '|| { echo "setpriv/flock (util-linux) missing"; exit 5; }',
].join('\n');
