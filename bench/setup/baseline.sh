#!/usr/bin/env bash
# bench/setup/baseline.sh -- the plain-script baseline for `citusctl up` (benchmark only).
#
#   baseline.sh up   NAME PORT_BASE     # stand the cluster up; prints step timings, never secrets
#   baseline.sh down NAME               # remove its containers, network, volumes and secrets
#
# It does the same work as `citusctl up` on a fresh cluster, with the docker CLI and psql only:
# network, volumes, 5 PostgreSQL containers + etcd + PgBouncer (ports on 127.0.0.1), initdb with
# SCRAM auth on the primaries (the project's own lib/docker/scripts/postgres-bootstrap.sh, copied
# in with `docker cp` together with the same postgresql.conf additions and pg_hba.conf), readiness,
# roles, CREATE EXTENSION citus on each primary, citus_set_coordinator_host, citus_add_node x2,
# create_distributed_table, 100k rows, a shard check, pg_basebackup -c fast through one slot per
# standby (the project's seed-standby.sh), a streaming check, synchronous_standby_names, PgBouncer
# (config, start, one query through it) and the topology/primaries in etcd.
# It runs in parallel exactly what the setup workflow runs in parallel (per-primary preparation,
# the two standbys, the replication checks, and the standby chain beside the data chain +
# PgBouncer; BASELINE_CONCURRENT=0 runs the standbys after the shard check instead, so they do
# not overlap the data chain); everything else is sequential, as in the workflow.
# It does not do citusctl's extra safety work: no preflight container, no per-container image
# capability check, no check-before-act reads, no Temporal.
#
# Layout: ports PORT_BASE+0..4 for coord-a, g1-a, g1-b, g2-a, g2-b; PgBouncer PORT_BASE+10;
# etcd PORT_BASE+11. Docker objects are named bl-NAME-* and labelled citusctl-bench.baseline=NAME.
# Images: CITUSCTL_IMAGE_POSTGRES / _PGBOUNCER / _ETCD (defaults below). Secrets are generated into
# BASELINE_STATE_DIR/NAME (mode 700, default /tmp/citusctl-bench-baseline) and never printed: they
# reach PostgreSQL through psql's stdin and the containers through `docker cp`, never argv.
set -euo pipefail
umask 077

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPTS="$(cd "$HERE/../../lib/docker/scripts" && pwd)"
IMG_PG="${CITUSCTL_IMAGE_POSTGRES:-citusctl-test/postgres-citus-double:17}"
IMG_PGB="${CITUSCTL_IMAGE_PGBOUNCER:-citusctl/pgbouncer:1}"
IMG_ETCD="${CITUSCTL_IMAGE_ETCD:-citusctl/etcd:3.5}"
ROWS="${BASELINE_ROWS:-100000}"
SHARDS=32
LABEL=citusctl-bench.baseline

usage() { echo "usage: $0 up NAME PORT_BASE | down NAME" >&2; exit 2; }
[ $# -ge 2 ] || usage
CMD="$1" NAME="$2"
[[ "$NAME" =~ ^[a-z][a-z0-9-]{0,20}$ ]] || { echo "baseline: NAME must be a-z0-9- (max 21)" >&2; exit 2; }
STATE="${BASELINE_STATE_DIR:-/tmp/citusctl-bench-baseline}/$NAME"
NET="bl-$NAME"
cname() { echo "bl-$NAME-$1"; }
vname() { echo "bl-$NAME-$1-data"; }

down() {
  local ids
  ids=$(docker ps -aq --filter "label=$LABEL=$NAME")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  docker network ls -q --filter "label=$LABEL=$NAME" | xargs -r docker network rm >/dev/null
  docker volume ls -q --filter "label=$LABEL=$NAME" | xargs -r docker volume rm >/dev/null
  rm -rf "$STATE"
}

case "$CMD" in
  down) down; exit 0 ;;
  up) [ $# -eq 3 ] && [[ "$3" =~ ^[0-9]+$ ]] || usage; BASE="$3" ;;
  *) usage ;;
esac

MEMBERS=(coord-a g1-a g1-b g2-a g2-b)
declare -A PORT=([coord-a]=$BASE [g1-a]=$((BASE + 1)) [g1-b]=$((BASE + 2)) [g2-a]=$((BASE + 3)) [g2-b]=$((BASE + 4)))
declare -A INIT=([coord-a]=primary [g1-a]=primary [g1-b]=standby [g2-a]=primary [g2-b]=standby)
declare -A GROUP=([coord-a]=coordinator [g1-a]=g1 [g1-b]=g1 [g2-a]=g2 [g2-b]=g2)
PRIMARIES=(coord-a g1-a g2-a)
declare -A STANDBY_OF=([g1-b]=g1-a [g2-b]=g2-a)
PGB_PORT=$((BASE + 10))
ETCD_PORT=$((BASE + 11))

# ---------------------------------------------------------------- timing
T_START=$EPOCHREALTIME
T_STEP=$T_START
us() { local t=${1/[.,]/}; echo $((10#$t)); }      # $EPOCHREALTIME (6 decimals) in microseconds
ms() { echo $(( ($(us "$1") - $(us "$2")) / 1000 )); }
step() { local now=$EPOCHREALTIME; printf 'baseline-step %-18s %6d ms\n' "$1" "$(ms "$now" "$T_STEP")"; T_STEP=$now; }

# ---------------------------------------------------------------- psql (host client, TCP, SCRAM)
# sql PORT [USER]: runs stdin (or -c via args after --) against 127.0.0.1:PORT; passwords from PGPASSFILE.
export PGPASSFILE="$STATE/pgpass" PGCONNECT_TIMEOUT=3 PGAPPNAME=baseline
sql() { local port=$1 user=${2:-postgres}; shift 2 2>/dev/null || shift; psql "host=127.0.0.1 port=$port dbname=postgres user=$user" -XAtq -v ON_ERROR_STOP=1 -v VERBOSITY=terse "$@"; }
# poll SECONDS CMD...: every 0.25 s until CMD succeeds (the workflow's pollUntil interval).
poll() {
  local deadline=$(( $(us "$EPOCHREALTIME") + $1 * 1000000 )); shift
  until "$@" 2>/dev/null; do
    [ "$(us "$EPOCHREALTIME")" -lt "$deadline" ] || { echo "baseline: timed out: $*" >&2; "$@" || true; return 1; }
    sleep 0.25
  done
}

# ---------------------------------------------------------------- secrets (never printed)
[ ! -e "$STATE" ] || { echo "baseline: $STATE exists: run '$0 down $NAME' first" >&2; exit 1; }
mkdir -p "$STATE/pg/citusctl/secrets" "$STATE/pgb/citusctl"
chmod 700 "$STATE"
pw() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }
SU_PW=$(pw) REPL_PW=$(pw) APP_PW=$(pw)

for img in "$IMG_PG" "$IMG_PGB" "$IMG_ETCD"; do
  docker image inspect "$img" >/dev/null 2>&1 || { echo "baseline: image $img is not present" >&2; exit 3; }
done
step images

# ---------------------------------------------------------------- provision
docker network create --label "$LABEL=$NAME" "$NET" >/dev/null
SUBNET=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$NET")

# The files every PostgreSQL node gets (same content as lib/docker/postgres-config.ts).
F="$STATE/pg/citusctl"
install -m 755 "$SCRIPTS/postgres-bootstrap.sh" "$F/bootstrap.sh"
install -m 755 "$SCRIPTS/seed-standby.sh" "$F/seed-standby.sh"
cat > "$F/postgresql.citusctl.conf" <<'EOF'

# --- citusctl (baseline) ---
listen_addresses = '*'
port = 5432
shared_preload_libraries = 'citus'
wal_level = logical
max_wal_senders = 16
max_replication_slots = 16
hot_standby = on
hot_standby_feedback = on
wal_log_hints = on
password_encryption = 'scram-sha-256'
max_prepared_transactions = 200
shared_buffers = 64MB
EOF
cat > "$F/pg_hba.conf" <<EOF
local   all          postgres     peer
local   all          all          scram-sha-256
host    replication  replicator   $SUBNET   scram-sha-256
host    all          all          $SUBNET   scram-sha-256
EOF
chmod 644 "$F/postgresql.citusctl.conf" "$F/pg_hba.conf"
printf '%s\n' "$SU_PW" > "$F/secrets/superuser.pw"
printf '*:*:*:postgres:%s\n*:*:*:replicator:%s\n*:*:*:app:%s\n' "$SU_PW" "$REPL_PW" "$APP_PW" > "$F/pgpass"
chmod 600 "$F/secrets/superuser.pw" "$F/pgpass"
# Host-side pgpass for psql.
{
  for m in "${MEMBERS[@]}"; do printf '127.0.0.1:%s:*:postgres:%s\n' "${PORT[$m]}" "$SU_PW"; done
  printf '127.0.0.1:%s:postgres:app:%s\n' "$PGB_PORT" "$APP_PW"
} > "$PGPASSFILE"

for m in "${MEMBERS[@]}"; do
  docker volume create --label "$LABEL=$NAME" "$(vname "$m")" >/dev/null
  docker create --name "$(cname "$m")" --hostname "$m" --label "$LABEL=$NAME" \
    --entrypoint /bin/sh --user 0 --stop-signal SIGINT --shm-size 256m \
    -e "CITUSCTL_MEMBER=$m" -e "CITUSCTL_INIT=${INIT[$m]}" \
    -p "127.0.0.1:${PORT[$m]}:5432" --network "$NET" --network-alias "$m" \
    --mount "type=volume,src=$(vname "$m"),dst=/var/lib/postgresql/citusctl" \
    "$IMG_PG" /citusctl/bootstrap.sh >/dev/null
  docker cp -q "$F" "$(cname "$m"):/"
  docker start "$(cname "$m")" >/dev/null
done
docker volume create --label "$LABEL=$NAME" "$(vname etcd)" >/dev/null
docker run -d --name "$(cname etcd)" --hostname etcd --label "$LABEL=$NAME" \
  -p "127.0.0.1:$ETCD_PORT:2379" --network "$NET" --network-alias etcd \
  --mount "type=volume,src=$(vname etcd),dst=/var/lib/etcd-data" --entrypoint etcd "$IMG_ETCD" \
  --name=etcd --data-dir=/var/lib/etcd-data/member-data --listen-client-urls=http://0.0.0.0:2379 \
  --advertise-client-urls=http://etcd:2379 --listen-peer-urls=http://127.0.0.1:2380 \
  --initial-advertise-peer-urls=http://127.0.0.1:2380 --initial-cluster=etcd=http://127.0.0.1:2380 \
  --log-level=warn >/dev/null
docker create --name "$(cname pgbouncer)" --hostname pgbouncer --label "$LABEL=$NAME" \
  -p "127.0.0.1:$PGB_PORT:6432" --network "$NET" --network-alias pgbouncer \
  --entrypoint /bin/sh "$IMG_PGB" -c 'exec pgbouncer /citusctl/pgbouncer.ini' >/dev/null
step provision

# ---------------------------------------------------------------- readiness
for m in "${PRIMARIES[@]}"; do poll 20 sql "${PORT[$m]}" postgres -c 'SELECT 1' >/dev/null; done
step readiness

# ---------------------------------------------------------------- registration
prepare() {
  sql "${PORT[$1]}" <<EOF
\set rpw '$REPL_PW'
\set apw '$APP_PW'
CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD :'rpw';
CREATE ROLE app WITH LOGIN PASSWORD :'apw';
CREATE EXTENSION IF NOT EXISTS citus;
EOF
}
pids=()
for m in "${PRIMARIES[@]}"; do prepare "$m" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
COORD=${PORT[coord-a]}
sql "$COORD" >/dev/null <<'EOF'
SELECT citus_set_coordinator_host('coord-a', 5432);
SELECT citus_add_node('g1-a', 5432);
SELECT citus_add_node('g2-a', 5432);
EOF
step registration

# ---------------------------------------------------------------- standbys (a chain of their own)
slot() { echo "citusctl_${1//-/_}"; }
follow() {
  local standby=$1 primary=${STANDBY_OF[$1]}
  sql "${PORT[$primary]}" postgres -c "SELECT pg_create_physical_replication_slot('$(slot "$standby")', true)" >/dev/null
  docker exec -u postgres "$(cname "$standby")" sh /citusctl/seed-standby.sh "$primary" "$(slot "$standby")" >/dev/null
}
streaming() {
  local standby=$1 primary=${STANDBY_OF[$1]}
  [ "$(sql "${PORT[$standby]}" postgres -c 'SELECT pg_is_in_recovery()')" = t ] || return 1
  [ "$(sql "${PORT[$primary]}" postgres -c "SELECT r.state FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = '$(slot "$standby")'")" = streaming ]
}
# Follow, streaming check, synchronous_standby_names: beside the data chain, as the workflow runs
# it (BASELINE_CONCURRENT=1, default), or after the shard check (0: not overlapping it).
standby_chain() {
  pids=()
  for s in "${!STANDBY_OF[@]}"; do follow "$s" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  step standby-follow

  pids=()
  for s in "${!STANDBY_OF[@]}"; do poll 60 streaming "$s" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  # Synchronous commit only once the standbys stream (the coordinator has none: nothing to set).
  pids=()
  for s in "${!STANDBY_OF[@]}"; do
    sql "${PORT[${STANDBY_OF[$s]}]}" >/dev/null <<EOF &
ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 ("$s")';
SELECT pg_reload_conf();
EOF
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  step replication-check
}

SB_PID=
if [ "${BASELINE_CONCURRENT:-1}" = 1 ]; then standby_chain & SB_PID=$!; fi

# ---------------------------------------------------------------- distribution, data, shards
sql "$COORD" >/dev/null <<EOF
CREATE TABLE public.events (id bigint PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
SELECT create_distributed_table('public.events', 'id', shard_count => $SHARDS);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.events TO app;
EOF
step distribution

n=$(sql "$COORD" <<EOF
INSERT INTO public.events (id, payload) SELECT g, 'demo event ' || g FROM generate_series(1, $ROWS) AS g;
SELECT count(*) FROM public.events;
EOF
)
[ "$n" = "$ROWS" ] || { echo "baseline: events holds $n rows, expected $ROWS" >&2; exit 1; }
step data-load

# Shard tables are looked up by name with to_regclass: real Citus hides them from pg_class queries.
shards_total=0
while IFS='|' read -r node placements names; do
  present=$(sql "${PORT[$node]}" postgres -c "SELECT count(*) FROM unnest(string_to_array('$names', ',')) AS s WHERE to_regclass(s) IS NOT NULL")
  { [ "$placements" -gt 0 ] && [ "$present" -ge "$placements" ]; } || { echo "baseline: $node holds $present of $placements shards" >&2; exit 1; }
  shards_total=$((shards_total + placements))
done < <(sql "$COORD" postgres -c "SELECT n.nodename, count(s.shardid), coalesce(string_agg('events_' || s.shardid, ','), '') FROM pg_dist_node n
  LEFT JOIN pg_dist_placement p ON p.groupid = n.groupid
  LEFT JOIN pg_dist_shard s ON s.shardid = p.shardid AND s.logicalrelid = 'public.events'::regclass
  WHERE n.noderole = 'primary' AND n.groupid <> 0 GROUP BY n.nodename ORDER BY 1")
[ "$shards_total" -eq "$SHARDS" ] || { echo "baseline: $shards_total shard placements, expected $SHARDS" >&2; exit 1; }
step shard-check

if [ -z "$SB_PID" ]; then standby_chain; fi

# ---------------------------------------------------------------- PgBouncer
cat > "$STATE/pgb/citusctl/pgbouncer.ini" <<'EOF'
;; generated by bench/setup/baseline.sh
[databases]
postgres = host=coord-a port=5432 dbname=postgres

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /citusctl/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
max_prepared_statements = 200
ignore_startup_parameters = extra_float_digits,options
server_reset_query = DISCARD ALL
server_check_delay = 1
server_connect_timeout = 3
server_login_retry = 1
admin_users =
EOF
# The app role's SCRAM verifier (not its password) goes into PgBouncer's auth file.
verifier=$(sql "$COORD" postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
printf '"app" "%s"\n' "$verifier" > "$STATE/pgb/citusctl/userlist.txt"
unset verifier
chmod 755 "$STATE/pgb/citusctl"
chmod 644 "$STATE/pgb/citusctl/pgbouncer.ini" "$STATE/pgb/citusctl/userlist.txt"
docker cp -q "$STATE/pgb/citusctl" "$(cname pgbouncer):/"
docker start "$(cname pgbouncer)" >/dev/null
through_pgbouncer() { [ "$(sql "$PGB_PORT" app -c 'SELECT count(*) FROM public.events')" = "$ROWS" ]; }
poll 20 through_pgbouncer
step pgbouncer

if [ -n "$SB_PID" ]; then wait "$SB_PID"; fi   # the standby chain, when it ran beside

# ---------------------------------------------------------------- etcd
topology=$(printf '{"cluster":"%s","durability":"synchronous","groups":[%s,%s,%s],"pgbouncer":{"hostPort":%d,"poolMode":"transaction"},"demo":{"table":"events","rows":%d,"shardCount":%d}}' \
  "$NAME" \
  "{\"group\":\"coordinator\",\"coordinator\":true,\"members\":[{\"name\":\"coord-a\",\"hostPort\":${PORT[coord-a]}}]}" \
  "{\"group\":\"g1\",\"coordinator\":false,\"members\":[{\"name\":\"g1-a\",\"hostPort\":${PORT[g1-a]}},{\"name\":\"g1-b\",\"hostPort\":${PORT[g1-b]}}]}" \
  "{\"group\":\"g2\",\"coordinator\":false,\"members\":[{\"name\":\"g2-a\",\"hostPort\":${PORT[g2-a]}},{\"name\":\"g2-b\",\"hostPort\":${PORT[g2-b]}}]}" \
  "$PGB_PORT" "$ROWS" "$SHARDS")
put() { docker exec "$(cname etcd)" etcdctl put "/citusctl/$NAME/$1" "$2" >/dev/null; }
publish() {
  local pids=() p rc=0
  put topology "$topology" & pids+=($!)
  put groups/coordinator/primary coord-a & pids+=($!)
  put groups/g1/primary g1-a & pids+=($!)
  put groups/g2/primary g2-a & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}
poll 20 publish
step publish

echo "baseline: cluster $NAME ready in $(ms "$EPOCHREALTIME" "$T_START") ms"
# Which Citus ran (after the clock stopped; run.sh asks it itself, so it can skip this).
[ "${BASELINE_REPORT_CITUS:-1}" = 0 ] || echo "baseline: citus_version: $(sql "$COORD" postgres -c 'SELECT citus_version()')"
