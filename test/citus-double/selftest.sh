#!/usr/bin/env bash
# Self-test of the Citus TEST DOUBLE image (citusctl-test/postgres-citus-double:17).
#
# Starts a throwaway docker network and 4 containers (coordinator + 2 workers,
# and w3 for the ssl failure cases; password auth scram-sha-256 on TCP;
# node-to-node passwords from a .pgpass named by PGPASSFILE), runs the Citus
# calls citusctl makes, checks the documented results (also: ssl turned on at
# CREATE EXTENSION, node connections over ssl, sslmode=require failing against
# a node without ssl), and removes everything it created (only its own
# uniquely named network and containers, also on failure or Ctrl-C).
#
# Usage: test/citus-double/selftest.sh [--no-build] [--keep]
#   --no-build  do not run build.sh first (the image must exist)
#   --keep      leave the containers running for inspection (prints how to remove them)
# Output ends with "N passed, M failed"; exit status 0 only when M = 0.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${CITUS_DOUBLE_IMAGE:-citusctl-test/postgres-citus-double:17}"
BUILD=1
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "selftest.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

[ "$BUILD" = 1 ] && "$HERE/build.sh"
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "selftest.sh: image $IMAGE missing" >&2; exit 1; }

RUN="cdself-$(date +%s)-$$-$RANDOM"
NET="$RUN-net"
PW="pw-$RANDOM$RANDOM"
CONTAINERS=()
PASS=0
FAIL=0

log() { echo "[citus-double/selftest $(date +%H:%M:%S)] $*"; }

cleanup() {
  if [ "$KEEP" = 1 ]; then
    log "kept: docker rm -f ${CONTAINERS[*]}; docker network rm $NET"
    return
  fi
  local c
  for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  docker network rm "$NET" >/dev/null 2>&1 || true
  log "removed containers and network of run $RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()  { PASS=$((PASS + 1)); echo "ok    - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL  - $1"; [ -n "${2:-}" ] && printf '        %s\n' "$2" | head -n 20; return 0; }

# Bootstrap run inside each container (as root, then postgres via setpriv).
BOOT='set -eu
D=/var/lib/postgresql/data
if [ ! -s "$D/PG_VERSION" ]; then
  install -d -o postgres -g postgres -m 0700 "$D"
  printf "%s\n" "$CDS_PW" > /tmp/pw; chown postgres /tmp/pw
  setpriv --reuid=postgres --regid=postgres --init-groups initdb -D "$D" -U postgres \
      --auth-local=trust --auth-host=scram-sha-256 --pwfile=/tmp/pw >/tmp/initdb.log
  rm -f /tmp/pw
  cat >> "$D/postgresql.conf" <<CONF
listen_addresses = '"'"'*'"'"'
shared_preload_libraries = '"'"'citus'"'"'
wal_level = logical
password_encryption = scram-sha-256
CONF
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$D/pg_hba.conf"
  printf "*:*:*:postgres:%s\n" "$CDS_PW" > "$PGPASSFILE"
  chown postgres "$PGPASSFILE"; chmod 0600 "$PGPASSFILE"
fi
# Like citusctl'"'"'s bootstrap: the server gets postgres'"'"'s HOME, because libpq
# reads ~/.postgresql/ for sslmode=require. CDS_ROOT_HOME=1 keeps root'"'"'s
# unreadable HOME (the bug class the ssl checks must catch).
[ "${CDS_ROOT_HOME:-0}" = 1 ] || export HOME=/var/lib/postgresql
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$D"'

start_node() { # name alias...   (env START_ENV: extra "-e K=V" arguments)
  local name="$RUN-$1"; shift
  local aliases=() a
  for a in "$@"; do aliases+=(--network-alias "$a"); done
  # shellcheck disable=SC2086
  docker run -d --name "$name" --network "$NET" "${aliases[@]}" \
    --label "org.citusctl.selftest=$RUN" ${START_ENV:-} \
    -e CDS_PW="$PW" -e PGPASSFILE=/var/lib/postgresql/.pgpass \
    "$IMAGE" /bin/sh -c "$BOOT" >/dev/null
  CONTAINERS+=("$name")
}

wait_ready() {
  local name="$RUN-$1" i
  for i in $(seq 1 120); do
    if docker exec -u postgres "$name" pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  docker logs "$name" 2>&1 | tail -n 30 >&2
  return 1
}

# psql in a container over the local socket (trust); -d db
sqlc() { # node db sql -> last non-empty output line (unaligned, tuples only); on error: stderr, non-zero
  local out rc=0 errf
  errf="$(mktemp)"
  out="$(docker exec -u postgres "$RUN-$1" psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$2" -c "$3" 2>"$errf")" || rc=$?
  if [ "$rc" = 0 ]; then printf '%s\n' "$out" | sed '/^$/d' | tail -n 1; else cat "$errf"; fi
  rm -f "$errf"
  return "$rc"
}
# expect value
expect() { # description node db sql expected
  local out
  if out="$(sqlc "$2" "$3" "$4")" && [ "$out" = "$5" ]; then ok "$1"; else bad "$1" "got: $out | want: $5"; fi
}
# expect an error containing text
expect_err() { # description node db sql text
  local out
  if out="$(sqlc "$2" "$3" "$4")"; then bad "$1" "no error; got: $out"; return; fi
  if grep -qF -- "$5" <<<"$out"; then ok "$1"; else bad "$1" "error was: $out | want text: $5"; fi
}

log "run $RUN: network $NET, image $IMAGE"
docker network create --label "org.citusctl.selftest=$RUN" "$NET" >/dev/null
start_node coord coord coordalias
start_node w1 w1
start_node w2 w2 w2b
START_ENV="-e CDS_ROOT_HOME=1" start_node w3 w3
for n in coord w1 w2 w3; do wait_ready "$n" || { bad "node $n starts"; exit 1; }; done
ok "4 containers up (coordinator + 2 workers + w3 for the ssl cases)"

# ---------------------------------------------------------------- basics
for n in coord w1 w2 w3; do
  logs="$(docker logs "$RUN-$n" 2>&1)"
  if grep -q 'citus test double loaded' <<<"$logs"; then
    ok "$n: server log announces the test double"
  else bad "$n: server log announces the test double" "$(docker logs "$RUN-$n" 2>&1 | tail -5)"; fi
done
if docker exec -u postgres -e PGPASSFILE=/dev/null "$RUN-coord" psql -X -w -h w1 -d postgres -c 'select 1' >/dev/null 2>&1; then
  bad "w1 refuses TCP logins without password"
else ok "w1 refuses TCP logins without password (scram-sha-256)"; fi
if out="$(docker exec -u postgres "$RUN-coord" psql -X -w -h w1 -d postgres -Atc 'select current_user')" && [ "$out" = postgres ]; then
  ok "PGPASSFILE password login coord -> w1 works"; else bad "PGPASSFILE password login coord -> w1 works" "$out"; fi

# ---------------------------------------------------------------- ssl at CREATE EXTENSION
expect "before CREATE EXTENSION: ssl is off (initdb default)" coord postgres "SHOW ssl" "off"
for n in coord w1 w2 w3; do
  expect "$n: CREATE EXTENSION IF NOT EXISTS citus (twice)" "$n" postgres \
    "CREATE EXTENSION IF NOT EXISTS citus; CREATE EXTENSION IF NOT EXISTS citus; SELECT extversion FROM pg_extension WHERE extname='citus'" "13.0-1"
done
# The reload that turns ssl on is asynchronous (as pg_reload_conf()): wait for it in new sessions.
wait_setting() { # node setting value
  local i
  for i in $(seq 1 40); do
    [ "$(sqlc "$1" postgres "SHOW $2" 2>/dev/null)" = "$3" ] && return 0
    sleep 0.25
  done
  return 1
}
for n in coord w1 w2 w3; do
  if wait_setting "$n" ssl on; then ok "$n: after CREATE EXTENSION, SHOW ssl = on"
  else bad "$n: after CREATE EXTENSION, SHOW ssl = on" "$(sqlc "$n" postgres 'SHOW ssl' 2>&1)"; fi
done
expect "ssl = on is in postgresql.auto.conf (ALTER SYSTEM), certificate and key in the data directory" coord postgres \
  "SELECT (SELECT setting FROM pg_file_settings WHERE name = 'ssl' AND sourcefile LIKE '%postgresql.auto.conf' AND applied) || ':' || current_setting('ssl_cert_file') || ':' || current_setting('ssl_key_file') || ':' || (pg_stat_file('server.crt')).size::int::bool || ':' || (pg_stat_file('server.key')).size::int::bool" \
  "on:server.crt:server.key:true:true"
if out="$(docker exec -u postgres "$RUN-coord" sh -c 'cd /var/lib/postgresql/data && stat -c "%a %U" server.key && openssl x509 -in server.crt -noout -subject -checkend 86400 && openssl pkey -in server.key -pubout | openssl sha256 && openssl x509 -in server.crt -noout -pubkey | openssl sha256' 2>&1)" \
   && [ "$(sed -n 1p <<<"$out")" = "600 postgres" ] && grep -q 'CN *= *citus-test-double' <<<"$out" \
   && [ "$(sed -n 4p <<<"$out")" = "$(sed -n 5p <<<"$out")" ]; then
  ok "self-signed certificate (CN citus-test-double, valid) matches its key; key is 0600 postgres"
else bad "self-signed certificate matches its key; key is 0600 postgres" "$out"; fi
if grep -q 'citus test double: turned ssl on' <<<"$(docker logs "$RUN-coord" 2>&1)"; then
  ok "server log says the test double turned ssl on"
else bad "server log says the test double turned ssl on" "$(docker logs "$RUN-coord" 2>&1 | tail -5)"; fi
expect "citus.node_conninfo defaults to sslmode=require" w1 postgres "SHOW citus.node_conninfo" "sslmode=require"
CRT_SUM="$(docker exec "$RUN-coord" sha256sum /var/lib/postgresql/data/server.crt)"
expect "citus_version() says 'Citus test double'" coord postgres \
  "SELECT citus_version() LIKE 'Citus test double%'" "t"
expect "catalog tables resolve unqualified (in pg_catalog)" coord postgres \
  "SELECT string_agg(c.relnamespace::regnamespace::text || '.' || c.relname, ',' ORDER BY c.relname) FROM pg_class c WHERE c.relname IN ('pg_dist_node','pg_dist_partition','pg_dist_shard','pg_dist_placement','pg_dist_shard_placement') AND c.oid = c.relname::regclass" \
  "pg_catalog.pg_dist_node,pg_catalog.pg_dist_partition,pg_catalog.pg_dist_placement,pg_catalog.pg_dist_shard,pg_catalog.pg_dist_shard_placement"
expect "create a scratch database on the coordinator" coord postgres "CREATE DATABASE scratch" ""
expect "search_path / allow_system_table_mods untouched after CREATE EXTENSION" coord scratch \
  "CREATE EXTENSION citus; SELECT current_setting('search_path') || '|' || current_setting('allow_system_table_mods')" '"$user", public|off'
if [ "$(docker exec "$RUN-coord" sha256sum /var/lib/postgresql/data/server.crt)" = "$CRT_SUM" ]; then
  ok "CREATE EXTENSION in a second database (ssl already on) keeps the certificate"
else bad "CREATE EXTENSION in a second database (ssl already on) keeps the certificate"; fi

# ---------------------------------------------------------------- pitfall: coordinator implicitly localhost
expect "pitfall db: create_distributed_table before citus_set_coordinator_host" coord scratch \
  "CREATE TABLE early(id int primary key); SELECT create_distributed_table('early','id', shard_count => 2); SELECT nodename || ':' || groupid || ':' || shouldhaveshards FROM pg_dist_node" \
  "localhost:0:true"
expect_err "pitfall: citus_add_node then fails (coordinator is localhost)" coord scratch \
  "SELECT citus_add_node('w1', 5432)" "cannot add a worker node when the coordinator hostname is set to localhost"
expect "pitfall: citus_set_coordinator_host fixes the row (upsert)" coord scratch \
  "SELECT citus_set_coordinator_host('coord', 5432); SELECT count(*) || ':' || min(nodename) FROM pg_dist_node WHERE groupid = 0" "1:coord"

# ---------------------------------------------------------------- node without the extension
sqlc w1 postgres "CREATE DATABASE scratch" >/dev/null  # without the extension
expect_err "citus_add_node fails when the node has no citus extension" coord scratch \
  "SELECT citus_add_node('w1', 5432)" 'relation "pg_dist_node_metadata" does not exist'

# ---------------------------------------------------------------- main cluster (database postgres)
expect "citus_set_coordinator_host('coord') is an upsert (repeat safe)" coord postgres \
  "SELECT citus_set_coordinator_host('coord'); SELECT citus_set_coordinator_host('coord', 5432); SELECT count(*) || ':' || min(nodename) || ':' || min(nodeport) || ':' || bool_and(shouldhaveshards) FROM pg_dist_node WHERE groupid = 0" \
  "1:coord:5432:false"
W1="$(sqlc coord postgres "SELECT citus_add_node('w1', 5432)")"
[[ "$W1" =~ ^[0-9]+$ ]] && ok "citus_add_node('w1') -> nodeid $W1" || bad "citus_add_node('w1')" "$W1"
expect "citus_add_node('w1') again returns the existing nodeid" coord postgres \
  "SELECT citus_add_node('w1', 5432)" "$W1"
W2="$(sqlc coord postgres "SELECT citus_add_node('w2', 5432)")"
[[ "$W2" =~ ^[0-9]+$ ]] && ok "citus_add_node('w2') -> nodeid $W2" || bad "citus_add_node('w2')" "$W2"
expect_err "citus_add_node of the coordinator under another name: cannot add itself" coord postgres \
  "SELECT citus_add_node('coordalias', 5432)" "Node cannot add itself as a worker."
expect_err "citus_add_node of an unreachable node fails" coord postgres \
  "SELECT citus_add_node('no-such-node', 5432)" "connection to the remote node postgres@no-such-node:5432 failed"
expect "pg_dist_node rows (groupid, role, metadata)" coord postgres \
  "SELECT string_agg(format('%s/%s/%s/%s/%s/%s', nodename, groupid, noderole, hasmetadata, metadatasynced, shouldhaveshards), ' ' ORDER BY groupid) FROM pg_dist_node" \
  "coord/0/primary/t/t/f w1/1/primary/t/t/t w2/2/primary/t/t/t"
expect "citus_get_active_worker_nodes()" coord postgres \
  "SELECT string_agg(node_name || ':' || node_port || ':' || pg_typeof(node_port), ',' ORDER BY node_name) FROM citus_get_active_worker_nodes()" \
  "w1:5432:bigint,w2:5432:bigint"
expect "citus_is_coordinator() on coordinator / worker" coord postgres "SELECT citus_is_coordinator()" "t"
expect "  worker w1 says false and knows its group" w1 postgres \
  "SELECT citus_is_coordinator() || ':' || (SELECT groupid FROM pg_dist_local_group) || ':' || (SELECT count(*) FROM pg_dist_node)" "false:1:3"

# ---------------------------------------------------------------- node connections use ssl
expect "coordinator -> w1 connection of the double is ssl (pg_stat_ssl on w1)" coord postgres \
  "SELECT citus_double_internal.remote_value('w1', 5432, 'SELECT s.ssl || '':'' || a.application_name FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.pid = pg_backend_pid()')" \
  "true:citus_double"
expect "worker w1 -> w2 connection of the double is ssl (pg_stat_ssl on w2)" w1 postgres \
  "SELECT citus_double_internal.remote_value('w2', 5432, 'SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()')" "true"

# ---------------------------------------------------------------- create_distributed_table
expect "create_distributed_table('items','id') (32 shards by default)" coord postgres \
  "CREATE TABLE items (id bigint PRIMARY KEY, payload text NOT NULL); INSERT INTO items SELECT g, 'p' || g FROM generate_series(1, 1000) g; SELECT create_distributed_table('items', 'id'); SELECT count(*) || ':' || min(shardid) || ':' || max(shardid) FROM pg_dist_shard WHERE logicalrelid = 'items'::regclass" \
  "32:102008:102039"
expect_err "create_distributed_table again: already distributed" coord postgres \
  "SELECT create_distributed_table('items', 'id')" 'table "items" is already distributed'
expect "pg_dist_partition row (hash, colocated, streaming)" coord postgres \
  "SELECT partmethod::text || ':' || repmodel::text || ':' || (colocationid > 0) || ':' || column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition WHERE logicalrelid = 'items'::regclass" \
  "h:s:true:id"
expect "hash ranges cover int4 (first/last shard)" coord postgres \
  "SELECT (SELECT shardminvalue || '..' || shardmaxvalue FROM pg_dist_shard WHERE shardid = 102008) || ' ' || (SELECT shardminvalue || '..' || shardmaxvalue FROM pg_dist_shard WHERE shardid = 102039)" \
  "-2147483648..-2013265921 2013265920..2147483647"
expect "placements round-robin over w1/w2 (pg_dist_shard_placement)" coord postgres \
  "SELECT string_agg(nodename || '=' || c, ',' ORDER BY nodename) FROM (SELECT nodename, count(*) c FROM pg_dist_shard_placement JOIN pg_dist_shard USING (shardid) WHERE logicalrelid = 'items'::regclass GROUP BY 1) s" \
  "w1=16,w2=16"
expect "shard tables exist on w1 with the primary key" w1 postgres \
  "SELECT count(*) || ':' || count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')) FROM pg_class c WHERE c.relname ~ '^items_[0-9]+$' AND c.relkind = 'r'" \
  "16:16"
expect "shard table columns match" w2 postgres \
  "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'items_102009'::regclass AND attnum > 0" \
  "id bigint true, payload text true"
expect "existing rows stay in the coordinator's table (no routing)" coord postgres "SELECT count(*) FROM items" "1000"
expect "shard_count argument overrides citus.shard_count" coord postgres \
  "CREATE TABLE kv (k text PRIMARY KEY, v int); SELECT create_distributed_table('kv', 'k', shard_count => 4); SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'kv'::regclass" "4"
expect "colocate_with a table reuses its colocation and placements" coord postgres \
  "CREATE TABLE items2 (id bigint); SELECT create_distributed_table('items2', 'id', colocate_with => 'items'); SELECT count(*) FROM pg_dist_shard a JOIN pg_dist_placement pa USING (shardid) JOIN pg_dist_shard b ON b.logicalrelid = 'items2'::regclass AND b.shardminvalue = a.shardminvalue JOIN pg_dist_placement pb ON pb.shardid = b.shardid AND pb.groupid = pa.groupid WHERE a.logicalrelid = 'items'::regclass" "32"
expect_err "unique constraint must include the distribution column" coord postgres \
  "CREATE TABLE bad (id int, u int UNIQUE); SELECT create_distributed_table('bad', 'id')" "cannot create constraint on \"bad\""

# ---------------------------------------------------------------- health
expect "citus_check_cluster_node_health(): 9 rows, all true" coord postgres \
  "SELECT count(*) || ':' || bool_and(result) FROM citus_check_cluster_node_health()" "9:true"

# ---------------------------------------------------------------- update / pause (write fence)
expect "citus_update_node with the same host:port returns at once" coord postgres \
  "SELECT citus_update_node($W2, 'w2', 5432); SELECT nodename FROM pg_dist_node WHERE nodeid = $W2" "w2"
expect "citus_update_node(force => true) moves the row and sets metadatasynced" coord postgres \
  "SELECT citus_update_node($W2, 'w2b', 5432, force => true, lock_cooldown => 10000); SELECT nodename || ':' || metadatasynced FROM pg_dist_node WHERE nodeid = $W2" "w2b:true"
expect "  placements now resolve to the new host" coord postgres \
  "SELECT count(*) FROM pg_dist_shard_placement JOIN pg_dist_shard USING (shardid) WHERE nodename = 'w2b' AND logicalrelid = 'items'::regclass" "16"
expect "  citus_update_node is repeat-safe; move back" coord postgres \
  "SELECT citus_update_node($W2, 'w2b', 5432); SELECT citus_update_node($W2, 'w2', 5432); SELECT nodename FROM pg_dist_node WHERE nodeid = $W2" "w2"
# A session pauses w1's group; a concurrent citus_update_node on w1 must wait for it.
docker exec -u postgres "$RUN-coord" psql -X -q -d postgres \
  -c "BEGIN; SELECT citus_pause_node_within_txn($W1); SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1 &
PAUSER=$!
sleep 1.5
expect_err "citus_pause_node_within_txn blocks citus_update_node of that group" coord postgres \
  "SET lock_timeout = '500ms'; SELECT citus_update_node($W1, 'w1x', 5432)" "lock timeout"
expect "  while another group is not blocked" coord postgres \
  "SET lock_timeout = '500ms'; BEGIN; SELECT citus_update_node($W2, 'w2b', 5432); ROLLBACK; SELECT 'free'" "free"
wait "$PAUSER" || true
expect "  after the pausing transaction ends, the update goes through" coord postgres \
  "SET lock_timeout = '2s'; BEGIN; SELECT citus_update_node($W1, 'w1x', 5432); ROLLBACK; SELECT 'done'" "done"

# ---------------------------------------------------------------- remove
expect_err "citus_remove_node of an unknown node" coord postgres \
  "SELECT citus_remove_node('nohost', 5432)" 'node at "nohost:5432" does not exist'
expect_err "citus_remove_node fails while the node holds placements" coord postgres \
  "SELECT citus_remove_node('w2', 5432)" "because it contains the only shard placement for shard"
expect "DROP TABLE drops the shard tables on the workers" coord postgres \
  "DROP TABLE items2; DROP TABLE items; DROP TABLE kv; SELECT count(*) FROM pg_dist_shard" "0"
expect "  (w1 has no shard tables left)" w1 postgres \
  "SELECT count(*) FROM pg_class WHERE relname ~ '^(items|items2|kv)_[0-9]+$'" "0"
expect "citus_remove_node('w2') succeeds without placements" coord postgres \
  "SELECT citus_remove_node('w2', 5432); SELECT count(*) FROM pg_dist_node" "2"
expect_err "  and again: does not exist" coord postgres \
  "SELECT citus_remove_node('w2', 5432)" 'node at "w2:5432" does not exist'
W2B="$(sqlc coord postgres "SELECT citus_add_node('w2', 5432)")"
[[ "$W2B" =~ ^[0-9]+$ ]] && [ "$W2B" != "$W2" ] && ok "re-adding w2 gives a new nodeid ($W2B)" || bad "re-add w2" "$W2B"

# ---------------------------------------------------------------- health with a stopped node
docker stop -t 5 "$RUN-w2" >/dev/null
expect "health with w2 stopped: from w2 NULL, to w2 false, others true" coord postgres \
  "SELECT count(*) FILTER (WHERE from_nodename = 'w2' AND result IS NULL) || ':' || count(*) FILTER (WHERE to_nodename = 'w2' AND from_nodename <> 'w2' AND result = false) || ':' || count(*) FILTER (WHERE from_nodename <> 'w2' AND to_nodename <> 'w2' AND result) FROM citus_check_cluster_node_health()" \
  "3:2:4"

# ---------------------------------------------------------------- ssl failures (w3)
# w3 runs with root's HOME (unreadable by postgres), the bug class of
# citusctl's bootstrap comment: its own outgoing sslmode=require connections fail.
sqlc w3 postgres "ALTER SYSTEM SET ssl = off" >/dev/null && sqlc w3 postgres "SELECT pg_reload_conf()" >/dev/null
if wait_setting w3 ssl off; then ok "w3: ssl turned off (ALTER SYSTEM, reload)"; else bad "w3: ssl turned off"; fi
expect_err "sslmode=require: citus_add_node of a node whose ssl is off fails" coord postgres \
  "SELECT citus_add_node('w3', 5432)" "SSL was required"
expect "  and the node is not added" coord postgres "SELECT count(*) FROM pg_dist_node WHERE nodename = 'w3'" "0"
expect "  citus_check_connection_to_node says false" coord postgres "SELECT citus_check_connection_to_node('w3', 5432)" "f"
sqlc w3 postgres "ALTER SYSTEM SET ssl = on" >/dev/null && sqlc w3 postgres "SELECT pg_reload_conf()" >/dev/null
wait_setting w3 ssl on || true
W3="$(sqlc coord postgres "SELECT citus_add_node('w3', 5432)" 2>&1)"
[[ "$W3" =~ ^[0-9]+$ ]] && ok "with ssl on again, citus_add_node('w3') works ($W3)" || bad "with ssl on again, citus_add_node('w3') works" "$W3"
expect "w3 -> w1 fails: libpq cannot read ~/.postgresql under root's HOME" w3 postgres \
  "SELECT citus_check_connection_to_node('w1', 5432)" "f"
expect_err "  the error names the certificate file" w3 postgres \
  "SELECT citus_double_internal.remote_value('w1', 5432, 'SELECT 1')" "/root/.postgresql"
expect "  while w1 -> coord (postgres's HOME) works" w1 postgres \
  "SELECT citus_check_connection_to_node('coord', 5432)" "t"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
