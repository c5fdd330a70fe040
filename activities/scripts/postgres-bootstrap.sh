#!/bin/sh
# citusctl PostgreSQL node bootstrap. The project's own: it runs the same on the upstream
# citusdata/citus image and on the offline Debian build, and relies only on PostgreSQL binaries
# under /usr/lib/postgresql/*/bin, a `postgres` user, /bin/sh, setpriv and flock.
# The initial primary runs initdb; every other member waits for its base backup (taken by the
# standby-follow activity) and then starts. State markers live next to PGDATA in the volume.
set -eu
export ROOT=/var/lib/postgresql/citusctl
export PGDATA="$ROOT/pgdata"
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
mkdir -p "$ROOT"
chown postgres:postgres "$ROOT"
chown -R postgres:postgres /citusctl
chmod 700 /citusctl/secrets
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
# As PID 1, sh ignores signals it does not trap: make `docker stop` end the waiting loops below at once.
trap 'exit 0' INT TERM

if [ ! -e "$ROOT/initialized" ] && [ "${CITUSCTL_INIT:-standby}" = primary ]; then
  # A PGDATA without the marker is a partial initdb from a crashed start: ours to redo.
  as_postgres sh -ec '
    rm -rf "$PGDATA"
    initdb -D "$PGDATA" -U postgres --pwfile=/citusctl/secrets/superuser.pw \
      --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C --data-checksums >/dev/null
    cat /citusctl/postgresql.citusctl.conf >> "$PGDATA/postgresql.conf"
    cp /citusctl/pg_hba.conf "$PGDATA/pg_hba.conf"
    touch "$ROOT/initialized"'
  echo "citusctl-bootstrap: initialized a new primary data directory"
fi
if [ -e "$ROOT/rejoin" ]; then
  # Rebuild as a standby of the group's new primary: pg_rewind when the history allows it,
  # otherwise (or with MODE=fresh) a fresh base backup; the old data directory is kept as pgdata.previous.
  set -a; . "$ROOT/rejoin"; set +a
  echo "citusctl-bootstrap: rejoining as a standby of $PRIMARY through slot $SLOT"
  as_postgres env PGPASSFILE=/citusctl/pgpass sh -ec '
    if [ "${MODE:-rewind}" = rewind ] && [ -e "$PGDATA/PG_VERSION" ] && pg_rewind -D "$PGDATA" --source-server="host=$PRIMARY port=5432 user=postgres dbname=postgres connect_timeout=5"; then
      echo "citusctl-bootstrap: pg_rewind done"
    else
      echo "citusctl-bootstrap: pg_rewind not possible; taking a fresh base backup"
      rm -rf "$ROOT/pgdata.previous" "$ROOT/pgdata.new"
      pg_basebackup -h "$PRIMARY" -p 5432 -U replicator -D "$ROOT/pgdata.new" -X stream -S "$SLOT" --checkpoint=fast --no-password
      if [ -e "$PGDATA" ]; then mv "$PGDATA" "$ROOT/pgdata.previous"; fi
      mv "$ROOT/pgdata.new" "$PGDATA"
    fi
    touch "$PGDATA/standby.signal"
    # Replace (not pile up) the settings a standby carries.
    sed -i "/^primary_conninfo\|^primary_slot_name\|^synchronous_standby_names/d" "$PGDATA/postgresql.auto.conf"
    printf "%s\n" "primary_conninfo = '"'"'host=$PRIMARY port=5432 user=replicator application_name=$CITUSCTL_MEMBER'"'"'" \
      "primary_slot_name = '"'"'$SLOT'"'"'" "synchronous_standby_names = '"''"'" >> "$PGDATA/postgresql.auto.conf"
    touch "$ROOT/initialized"
    rm -f "$ROOT/fenced" "$ROOT/rejoin"'
fi
if [ -e "$ROOT/fenced" ]; then
  # Fenced by a failover: never come back as a second primary. `citusctl rejoin` lifts this.
  echo "citusctl-bootstrap: this member was fenced by a failover; waiting for rejoin"
  while [ -e "$ROOT/fenced" ] && [ ! -e "$ROOT/rejoin" ]; do sleep 0.5; done
  exec /bin/sh /citusctl/bootstrap.sh
fi
if [ ! -e "$ROOT/initialized" ]; then
  echo "citusctl-bootstrap: waiting for a base backup from the group's primary"
  while [ ! -e "$ROOT/initialized" ]; do sleep 0.2; done
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
  env PGPASSFILE=/citusctl/pgpass postgres -D "$PGDATA" -c cluster_name="$CITUSCTL_MEMBER"
