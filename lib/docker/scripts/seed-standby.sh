#!/bin/sh
# Seeds this member as a streaming standby (runs as postgres inside the standby's container).
# A lock serialises it against a seed still running from a crashed attempt; the member state
# (common/member-state.ts) makes it a no-op once done: exit 3 when the member already has a state.
# Usage: seed-standby.sh <primary-host> <slot>
set -eu
ROOT=/var/lib/postgresql/citusctl
PGDATA="$ROOT/pgdata"
export PATH="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1):$PATH"
exec 9>"$ROOT/seed.lock"
flock 9
if [ -e "$ROOT/member.state" ]; then exit 3; fi
# No state: whatever is here is a partial base backup of ours.
rm -rf "$PGDATA"
# The primary's port as the other members reach it (its own line in peer-ports across hosts, else 5432).
PORT="$(awk -v m="$1" '$1 == m { print $2 }' /citusctl/peer-ports 2>/dev/null)"
# TLS, verify-full against the cluster's CA; -R writes the same into primary_conninfo.
PGPASSFILE=/citusctl/pgpass pg_basebackup \
  -d "host=$1 port=${PORT:-5432} user=replicator sslmode=verify-full sslrootcert=/citusctl/tls/ca.crt" -D "$PGDATA" \
  -X stream -R -S "$2" --checkpoint=fast --no-password
# A standby never waits for standbys of its own; the setting returns on promotion + rejoin.
echo "synchronous_standby_names = ''" >> "$PGDATA/postgresql.auto.conf"
printf "STATE='standby'\nAT='%s'\nREASON='seeded from %s'\nPRIMARY='%s'\nSLOT='%s'\n" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$1" "$2" > "$ROOT/member.state.tmp"
mv "$ROOT/member.state.tmp" "$ROOT/member.state"
echo "seeded from $1 through slot $2"
