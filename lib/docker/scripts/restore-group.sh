#!/bin/sh
# citusctl: one group's data directory restored to a named restore point, in a one-shot container
# that mounts the new primary member's volume and the source's backup repository, and has no
# network. Run as root, one step per call (the orchestrator polls and heartbeats in between):
#   restore  pgBackRest restore (--delta over what a crashed attempt left)
#   start    PostgreSQL replays the archive to the point and promotes (no TCP, no TLS, no archiving)
#   roles    the new cluster's role secrets (SCRAM verifiers from /citusctl/restore-roles.sql)
#   stop     clean shutdown; recovery settings removed; the new timeline's history marked for archiving
set -eu
ROOT=/var/lib/postgresql/citusctl
PGDATA="$ROOT/pgdata"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
export PATH="$PGBIN:$PATH"
HOME=$(getent passwd postgres | cut -d: -f6)
export HOME="${HOME:-/var/lib/postgresql}"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$ROOT"
chown postgres:postgres "$ROOT"
chown -R postgres:postgres /citusctl

case "$1" in
restore)
  DELTA=
  if [ -e "$PGDATA/PG_VERSION" ]; then
    DELTA=--delta
    rm -f "$PGDATA/postmaster.pid"
  elif [ -e "$PGDATA" ]; then
    rm -rf "$PGDATA"
  fi
  as_postgres pgbackrest --config=/citusctl/pgbackrest.conf --stanza="$GROUP" --set="$LABEL" \
    --type=name --target="$POINT" --target-action=promote $DELTA restore
  # The source's standby and durability settings: this member is its group's only one until its
  # standbys are seeded from it.
  sed -i "/^primary_conninfo\|^primary_slot_name\|^synchronous_standby_names/d" "$PGDATA/postgresql.auto.conf"
  rm -f "$PGDATA/standby.signal"
  ;;
start)
  rm -f "$ROOT/restore.log"
  touch "$ROOT/restore.log"
  chown postgres:postgres "$ROOT/restore.log"
  as_postgres pg_ctl -D "$PGDATA" -l "$ROOT/restore.log" -W start \
    -o "-c listen_addresses= -c ssl=off -c archive_mode=off -c synchronous_standby_names="
  ;;
promoted)
  # "f" once recovery reached the point and promoted; exit 3: the server is not running (see the log).
  as_postgres pg_ctl -D "$PGDATA" status >/dev/null || { tail -n 20 "$ROOT/restore.log"; exit 3; }
  as_postgres psql -X -q -At -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null || echo starting
  ;;
roles)
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres -f /citusctl/restore-roles.sql >/dev/null
  rm -f /citusctl/restore-roles.sql
  as_postgres psql -X -q -d postgres -c checkpoint
  ;;
stop)
  if as_postgres pg_ctl -D "$PGDATA" status >/dev/null; then as_postgres pg_ctl -D "$PGDATA" -m fast -w -t 300 stop; fi
  sed -i "/^restore_command\|^recovery_target/d" "$PGDATA/postgresql.auto.conf"
  # Archiving was off here: the member pushes the new timeline's history once it runs with it on.
  for h in "$PGDATA"/pg_wal/*.history; do
    [ -e "$h" ] || continue
    b=$(basename "$h")
    if [ ! -e "$PGDATA/pg_wal/archive_status/$b.done" ]; then
      touch "$PGDATA/pg_wal/archive_status/$b.ready"
      chown postgres:postgres "$PGDATA/pg_wal/archive_status/$b.ready"
    fi
  done
  ;;
*)
  echo "restore-group.sh: unknown step $1" >&2
  exit 64
  ;;
esac
