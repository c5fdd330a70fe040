#!/bin/sh
# citusctl PostgreSQL node bootstrap. The project's own: it runs the same on the upstream
# citusdata/citus image and on the offline Debian build, and relies only on PostgreSQL binaries
# under /usr/lib/postgresql/*/bin, a `postgres` user, /bin/sh, setpriv and flock.
#
# It obeys the member state in the volume ($ROOT/member.state, written by the orchestrator; format
# and meaning in common/member-state.ts):
#   (no state)  the initial primary runs initdb; any other member waits for its base backup
#   primary     start as it is
#   standby     start in recovery, always (standby.signal is forced): never a second primary
#   fenced      do not start PostgreSQL until the state changes
#   rejoining   rebuild as a standby of $PRIMARY (pg_rewind, else a fresh base backup), then standby
set -eu
export ROOT=/var/lib/postgresql/citusctl
export PGDATA="$ROOT/pgdata"
STATE_FILE="$ROOT/member.state"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/postgres" ]; then
  echo "citusctl-bootstrap: FATAL: image has no PostgreSQL binaries under /usr/lib/postgresql/*/bin" >&2
  exit 64
fi
export PATH="$PGBIN:$PATH"
# The server must not inherit root's HOME: real Citus connects between nodes with
# sslmode=require, and libpq then reads ~/.postgresql/ (unreadable /root -> every connection fails).
HOME=$(getent passwd postgres | cut -d: -f6)
export HOME="${HOME:-/var/lib/postgresql}"
# Every connection to another member is TLS with verify-full against the cluster's CA (the name
# is the member's network alias, a SAN of its certificate): libpq's keywords for it.
export TLS_CLIENT="sslmode=verify-full sslrootcert=/citusctl/tls/ca.crt"
mkdir -p "$ROOT"
chown postgres:postgres "$ROOT"
# Files citusctl puts in the container arrive owned by root: postgres reads its secrets and its TLS
# key (which PostgreSQL wants owned by itself, 0600). Again after a wait: files put meanwhile.
own_files() {
  chown -R postgres:postgres /citusctl
  chmod 700 /citusctl/secrets
  if [ -e /citusctl/tls/server.key ]; then chmod 600 /citusctl/tls/server.key; fi
}
own_files
# The backup repository, when mounted, belongs to postgres: pgBackRest runs as postgres.
if [ -d /var/lib/pgbackrest ]; then chown postgres:postgres /var/lib/pgbackrest; fi
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
# As PID 1, sh ignores signals it does not trap: make `docker stop` end the waiting loops below at once.
trap 'exit 0' INT TERM

state() { (STATE=; [ -e "$STATE_FILE" ] && . "$STATE_FILE"; echo "${STATE:-}"); }
# Atomic (rename), so a crash never leaves half a state file.
write_state() {
  # Single quotes in the reason are escaped for `. member.state` ('\'').
  printf "STATE='%s'\nAT='%s'\nREASON='%s'\n" "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(printf '%s' "$2" | sed "s/'/'\\\\''/g")" > "$STATE_FILE.tmp"
  chown postgres:postgres "$STATE_FILE.tmp"
  mv "$STATE_FILE.tmp" "$STATE_FILE"
}

if [ -z "$(state)" ] && [ "${CITUSCTL_INIT:-standby}" = primary ]; then
  # No state yet: a PGDATA here is a partial initdb from a crashed start, ours to redo.
  as_postgres sh -ec '
    rm -rf "$PGDATA"
    initdb -D "$PGDATA" -U postgres --pwfile=/citusctl/secrets/superuser.pw \
      --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C --data-checksums >/dev/null
    cat /citusctl/postgresql.citusctl.conf >> "$PGDATA/postgresql.conf"'
  write_state primary "initialized as the first primary of the group"
  echo "citusctl-bootstrap: initialized a new primary data directory"
fi

while [ "$(state)" = fenced ]; do
  # Fenced: never come back as a second primary. `citusctl unfence` or `citusctl rejoin` lifts it.
  [ -n "${WAITING_SAID:-}" ] || echo "citusctl-bootstrap: member state is fenced; PostgreSQL stays down until the orchestrator changes it"
  WAITING_SAID=1
  sleep 0.5
done
if [ -n "${WAITING_SAID:-}" ]; then own_files; fi

if [ "$(state)" = rejoining ]; then
  # Rebuild as a standby of the group's primary: pg_rewind when the history allows it,
  # otherwise (or with MODE=fresh) a fresh base backup; the old data directory is kept as pgdata.previous.
  eval "$(STATE=; . "$STATE_FILE"; printf "PRIMARY='%s' SLOT='%s' MODE='%s'" "${PRIMARY:-}" "${SLOT:-}" "${MODE:-rewind}")"
  echo "citusctl-bootstrap: rejoining as a standby of $PRIMARY through slot $SLOT"
  # The primary's port as the other members reach it (its line in peer-ports across hosts, else 5432).
  PRIMARY_PORT="$(awk -v m="$PRIMARY" '$1 == m { print $2 }' /citusctl/peer-ports 2>/dev/null)"
  as_postgres env PGPASSFILE=/citusctl/pgpass PRIMARY="$PRIMARY" PRIMARY_PORT="${PRIMARY_PORT:-5432}" SLOT="$SLOT" MODE="$MODE" sh -ec '
    if [ "$MODE" = rewind ] && [ -e "$PGDATA/PG_VERSION" ] && pg_rewind -D "$PGDATA" --source-server="host=$PRIMARY port=$PRIMARY_PORT user=postgres dbname=postgres connect_timeout=5 $TLS_CLIENT"; then
      echo "citusctl-bootstrap: pg_rewind done"
    else
      echo "citusctl-bootstrap: pg_rewind not possible; taking a fresh base backup"
      rm -rf "$ROOT/pgdata.previous" "$ROOT/pgdata.new"
      pg_basebackup -d "host=$PRIMARY port=$PRIMARY_PORT user=replicator $TLS_CLIENT" -D "$ROOT/pgdata.new" -X stream -S "$SLOT" --checkpoint=fast --no-password
      if [ -e "$PGDATA" ]; then mv "$PGDATA" "$ROOT/pgdata.previous"; fi
      mv "$ROOT/pgdata.new" "$PGDATA"
    fi
    # Replace (not pile up) the settings a standby carries.
    sed -i "/^primary_conninfo\|^primary_slot_name\|^synchronous_standby_names/d" "$PGDATA/postgresql.auto.conf"
    printf "%s\n" "primary_conninfo = '"'"'host=$PRIMARY port=$PRIMARY_PORT user=replicator application_name=$CITUSCTL_MEMBER $TLS_CLIENT'"'"'" \
      "primary_slot_name = '"'"'$SLOT'"'"'" "synchronous_standby_names = '"''"'" >> "$PGDATA/postgresql.auto.conf"'
  write_state standby "rejoined as a standby of $PRIMARY"
fi

if [ -z "$(state)" ]; then
  echo "citusctl-bootstrap: waiting for a base backup from the group's primary"
  while [ -z "$(state)" ]; do sleep 0.2; done
fi

# Access rules follow the cluster's current network (a new subnet after down + up).
cp /citusctl/pg_hba.conf "$PGDATA/pg_hba.conf"
chown postgres:postgres "$PGDATA/pg_hba.conf"
case "$(state)" in
  standby) touch "$PGDATA/standby.signal"; chown postgres:postgres "$PGDATA/standby.signal" ;;
  primary) ;;
  *) echo "citusctl-bootstrap: unknown member state '$(state)'; not starting" >&2; exit 65 ;;
esac
# The primary archives its WAL (a standby's copies of a segment may differ from the primary's in
# the unused tail, so pgBackRest takes one archiver per stanza: archive_mode=on). A failover pushes,
# from the new primary, the old timeline's segments the dead primary had not archived yet.
# pgbackrest-archive.sh is a no-op while backups are off. On the command line: data directories of any age.
exec setpriv --reuid=postgres --regid=postgres --init-groups \
  env PGPASSFILE=/citusctl/pgpass postgres -D "$PGDATA" -c cluster_name="$CITUSCTL_MEMBER" \
  -c archive_mode=on -c 'archive_command=/citusctl/pgbackrest-archive.sh %p'
