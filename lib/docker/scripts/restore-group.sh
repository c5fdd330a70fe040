#!/bin/sh
# citusctl: one group's data directory restored to a named restore point. The command of a one-shot
# container (root, no network) that mounts the new primary member's volume and the source's backup
# repository read-only; one run does it all, with no exec or poll from the orchestrator in between:
#   restore  pgBackRest restore (--delta over what a crashed attempt left)
#   replay   PostgreSQL replays the archive to the point and promotes (no TCP, no TLS, no archiving).
#            hot_standby is off, so the server accepts connections only once it promoted: pg_isready
#            every 0.1 s says when (a process and a startup packet, no query, no Docker round trip)
#   roles    the new cluster's role secrets (SCRAM verifiers from /citusctl/restore-roles.sql)
#   stop     clean shutdown (its checkpoint makes the roles durable); recovery settings removed; the
#            new timeline's history marked for archiving
#   state    the member recorded primary in its volume (/citusctl/member.state, written by the
#            orchestrator), which its bootstrap then starts as it is (no initdb)
# A member already recorded primary was restored before (a retry after the state was written): the
# script prints "@already primary" and changes nothing.
# Each phase prints "@phase NAME" when it starts and "@done NAME MS" when it ends; on a failure the
# script exits with the failing command's status (replay: 3, with the server log's tail), and the last
# "@phase" without its "@done" names the phase. Env: GROUP, LABEL (pgBackRest set), POINT.
set -eu
ROOT=/var/lib/postgresql/citusctl
PGDATA="$ROOT/pgdata"
LOG=/tmp/restore.log
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
export PATH="$PGBIN:$PATH"
HOME=$(getent passwd postgres | cut -d: -f6)
export HOME="${HOME:-/var/lib/postgresql}"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
ms() { date +%s%3N; }
phase() { PHASE=$1; T0=$(ms); echo "@phase $1"; }
done_() { echo "@done $PHASE $(($(ms) - T0))"; }
mkdir -p "$ROOT"
chown postgres:postgres "$ROOT"
chown -R postgres:postgres /citusctl
if [ -e "$ROOT/member.state" ] && (. "$ROOT/member.state" && [ "${STATE:-}" = primary ]); then
  echo "@already primary"
  exit 0
fi

phase restore
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
done_

phase replay
: >"$LOG"
chown postgres:postgres "$LOG"
as_postgres pg_ctl -D "$PGDATA" -l "$LOG" -w -t 300 start \
  -o "-c listen_addresses= -c ssl=off -c archive_mode=off -c synchronous_standby_names= -c hot_standby=off" ||
  { tail -n 20 "$LOG"; exit 3; }
# pg_isready: 0 accepting (promoted), 1 rejecting (still replaying), 2 no answer (stopped?)
until as_postgres pg_isready -q -d postgres; do
  as_postgres pg_ctl -D "$PGDATA" status >/dev/null || { tail -n 20 "$LOG"; exit 3; }
  sleep 0.1
done
done_

phase roles
# A failed statement is echoed into the server log: that log goes with the file (and the container).
as_postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres -f /citusctl/restore-roles.sql >/dev/null ||
  { rc=$?; rm -f /citusctl/restore-roles.sql "$LOG"; exit $rc; }
rm -f /citusctl/restore-roles.sql
done_

phase stop
as_postgres pg_ctl -D "$PGDATA" -m fast -w -t 300 stop
sed -i "/^restore_command\|^recovery_target/d" "$PGDATA/postgresql.auto.conf"
rm -f "$LOG"
# Archiving was off here: the member pushes the new timeline's history once it runs with it on.
for h in "$PGDATA"/pg_wal/*.history; do
  [ -e "$h" ] || continue
  b=$(basename "$h")
  if [ ! -e "$PGDATA/pg_wal/archive_status/$b.done" ]; then
    touch "$PGDATA/pg_wal/archive_status/$b.ready"
    chown postgres:postgres "$PGDATA/pg_wal/archive_status/$b.ready"
  fi
done
done_

phase state
# AT: now, when the member became primary (the orchestrator wrote the file before the restore began).
sed "s/^AT='[^']*'/AT='$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)'/" /citusctl/member.state >"$ROOT/member.state.tmp"
chown root:root "$ROOT/member.state.tmp"
chmod 644 "$ROOT/member.state.tmp"
mv "$ROOT/member.state.tmp" "$ROOT/member.state"
done_
