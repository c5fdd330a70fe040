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

# ---------------------------------------------------------------- rebalancer (metadata level)
# The double runs the moves synchronously inside citus_rebalance_start (see README).
# sqlm: like sqlc, but stdout and stderr (NOTICE/WARNING lines) together.
sqlm() { docker exec -u postgres "$RUN-$1" psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$2" -c "$3" 2>&1; }
expect_msg() { # description node db sql message-text expected-last-value-line
  local out val
  if ! out="$(sqlm "$2" "$3" "$4")"; then bad "$1" "error: $out"; return; fi
  val="$(printf '%s\n' "$out" | sed '/^$/d' | grep -vE '^(NOTICE|WARNING|DETAIL|HINT|CONTEXT):' | tail -n 1)"
  if grep -qF -- "$5" <<<"$out" && [ "$val" = "$6" ]; then ok "$1"; else bad "$1" "got: $out | want text: $5 and value: $6"; fi
}
# Shard tables named <table>_<shardid> of the rb_ tables on a worker, and the
# ones the coordinator's metadata places there: they must be the same.
shard_tables_on() { sqlc "$1" postgres "SELECT coalesce(string_agg(relname, ' ' ORDER BY relname), '-') FROM pg_class WHERE relname ~ '^rb_[a-z0-9]+_[0-9]+\$' AND relkind = 'r'"; }
shard_tables_in_metadata() { sqlc coord postgres "SELECT coalesce(string_agg(s.logicalrelid::regclass::text || '_' || s.shardid, ' ' ORDER BY s.logicalrelid::regclass::text || '_' || s.shardid), '-') FROM pg_dist_shard s JOIN pg_dist_shard_placement p USING (shardid) WHERE p.nodename = '$1' AND s.logicalrelid::regclass::text LIKE 'rb\\_%'"; }
expect_shard_tables_match() { # description node
  local want got
  want="$(shard_tables_in_metadata "$2")"; got="$(shard_tables_on "$2")"
  if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "$1"; else bad "$1" "metadata: $want | on $2: $got"; fi
}
# Largest difference of shard-group counts between eligible nodes, over all colocation groups.
SPREAD_SQL="SELECT max(mx - mn) FROM (SELECT c.colocationid, max(coalesce(k.n, 0)) mx, min(coalesce(k.n, 0)) mn
  FROM (SELECT DISTINCT colocationid FROM pg_dist_partition WHERE partmethod = 'h') c
  CROSS JOIN (SELECT groupid FROM pg_dist_node WHERE noderole = 'primary' AND shouldhaveshards AND isactive) g
  LEFT JOIN (SELECT p.colocationid, pl.groupid, count(*) n FROM pg_dist_partition p
               JOIN pg_dist_shard s ON s.logicalrelid = p.logicalrelid
               JOIN pg_dist_placement pl ON pl.shardid = s.shardid
              WHERE p.logicalrelid = (SELECT min(q.logicalrelid::oid)::regclass FROM pg_dist_partition q WHERE q.colocationid = p.colocationid)
              GROUP BY 1, 2) k ON k.colocationid = c.colocationid AND k.groupid = g.groupid
  GROUP BY c.colocationid) x"
COUNTS_SQL="SELECT string_agg(n.nodename || '=' || (SELECT count(*) FROM pg_dist_placement p WHERE p.groupid = n.groupid), ',' ORDER BY n.nodename) FROM pg_dist_node n WHERE n.groupid <> 0"

expect "no rebalance job yet: citus_rebalance_status() has no rows" coord postgres \
  "SELECT count(*) FROM citus_rebalance_status()" "0"
expect_msg "citus_rebalance_wait() without a job: WARNING, returns" coord postgres \
  "SELECT citus_rebalance_wait(); SELECT 'returned'" "no ongoing rebalance that can be waited on" "returned"
expect_err "citus_rebalance_stop() without a job fails" coord postgres \
  "SELECT citus_rebalance_stop()" "no ongoing rebalance that can be stopped"
expect_msg "citus_rebalance_start() without distributed tables: NOTICE, NULL" coord postgres \
  "SELECT citus_rebalance_start() IS NULL" "No tables to rebalance" "t"
expect_err "citus_set_node_property: unknown property" coord postgres \
  "SELECT citus_set_node_property('w1', 5432, 'isactive', true)" "only the 'shouldhaveshards' property can be set using this function"
expect_err "citus_set_node_property: unknown node" coord postgres \
  "SELECT citus_set_node_property('nohost', 5432, 'shouldhaveshards', true)" 'node at "nohost:5432" does not exist'
expect_err "citus_set_node_property on a worker: coordinator only" w1 postgres \
  "SELECT citus_set_node_property('w1', 5432, 'shouldhaveshards', false)" "operation is not allowed on this node"
expect_err "citus_rebalance_start on a worker: coordinator only" w1 postgres \
  "SELECT citus_rebalance_start()" "operation is not allowed on this node"

expect "rb tables on w1/w2: 8 shards + colocated table, 4 shards" coord postgres \
  "CREATE TABLE rb_items (id bigint PRIMARY KEY, payload text); SELECT create_distributed_table('rb_items', 'id', shard_count => 8);
   CREATE TABLE rb_items2 (id bigint PRIMARY KEY, v int); SELECT create_distributed_table('rb_items2', 'id', colocate_with => 'rb_items');
   CREATE TABLE rb_kv (k text PRIMARY KEY, v int); SELECT create_distributed_table('rb_kv', 'k', shard_count => 4);
   $COUNTS_SQL" "w1=10,w2=10"
expect_msg "balanced already: citus_rebalance_start() NOTICE, NULL" coord postgres \
  "SELECT citus_rebalance_start() IS NULL" "No moves available for rebalancing" "t"
expect_err "unknown rebalance strategy" coord postgres \
  "SELECT citus_rebalance_start(rebalance_strategy => 'by_magic')" "could not find rebalance strategy with name by_magic"

W3R="$(sqlc coord postgres "SELECT citus_add_node('w3', 5432)" 2>&1)"
[[ "$W3R" =~ ^[0-9]+$ ]] && ok "rebalance: add w3 ($W3R)" || bad "rebalance: add w3" "$W3R"
expect "  w3 is eligible for shards and holds none" coord postgres \
  "SELECT shouldhaveshards || ':' || (SELECT count(*) FROM pg_dist_placement p WHERE p.groupid = n.groupid) FROM pg_dist_node n WHERE nodeid = $W3R" "true:0"
out="$(sqlm coord postgres "SELECT citus_rebalance_start()")" || true
JOB1="$(printf '%s\n' "$out" | grep -E '^[0-9]+$' | tail -n 1)" || true
if [ -n "$JOB1" ] && grep -qF "Scheduled 3 moves as job $JOB1" <<<"$out"; then ok "citus_rebalance_start() returns job $JOB1, NOTICE 'Scheduled 3 moves as job $JOB1'"
else bad "citus_rebalance_start() returns a job id with the NOTICE" "$out"; fi
expect "  each colocation group is even (shard groups per node differ by <= 1)" coord postgres "SELECT ($SPREAD_SQL) <= 1" "t"
expect "  placements per node (w3 got the moved shard groups)" coord postgres "$COUNTS_SQL" "w1=7,w2=8,w3=5"
for n in w1 w2 w3; do expect_shard_tables_match "  $n: shard tables created/dropped to match the placements" "$n"; done
expect "  citus_rebalance_status(): finished rebalance job with 3 done tasks" coord postgres \
  "SELECT job_id || '|' || state || '|' || job_type || '|' || description || '|' || (started_at <= finished_at) || '|' || details::text FROM citus_rebalance_status()" \
  "$JOB1|finished|rebalance|Rebalance all colocation groups|true|{\"tasks\": [], \"task_state_counts\": {\"done\": 3}}"
expect "  tasks: done, command citus_move_shard_placement(shard,source,target,'auto'), target w3" coord postgres \
  "SELECT count(*) || ':' || bool_and(status = 'done') || ':' || bool_and(command ~ '^SELECT pg_catalog\.citus_move_shard_placement\([0-9]+,[0-9]+,[0-9]+,''auto''\)$') || ':' || bool_and(nodes_involved[2] = $W3R AND command LIKE '%,' || nodes_involved[1] || ',$W3R,%') FROM pg_dist_background_task WHERE job_id = $JOB1" \
  "3:true:true:true"
expect "  get_rebalance_progress(): no rows (moves are synchronous)" coord postgres \
  "SELECT count(*) FROM get_rebalance_progress()" "0"
expect_msg "second citus_rebalance_start(): nothing to move, NULL" coord postgres \
  "SELECT citus_rebalance_start() IS NULL" "No moves available for rebalancing" "t"
expect "  status still shows job $JOB1" coord postgres "SELECT job_id FROM citus_rebalance_status()" "$JOB1"

expect "table without primary key, created while w3 should not have shards" coord postgres \
  "SELECT citus_set_node_property('w3', 5432, 'shouldhaveshards', false);
   CREATE TABLE rb_nopk (id bigint, v int); SELECT create_distributed_table('rb_nopk', 'id', shard_count => 4);
   SELECT citus_set_node_property('w3', 5432, 'shouldhaveshards', true);
   SELECT count(*) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid) WHERE s.logicalrelid = 'rb_nopk'::regclass AND p.nodename = 'w3'" "0"
expect_err "auto mode: a table without replica identity cannot be moved" coord postgres \
  "SELECT citus_rebalance_start()" "cannot use logical replication to transfer shards of the relation rb_nopk since it doesn't have a REPLICA IDENTITY or PRIMARY KEY"
expect "  no job was recorded" coord postgres "SELECT job_id FROM citus_rebalance_status()" "$JOB1"
expect "block_writes mode moves it (one task, the command carries the mode)" coord postgres \
  "SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes') IS NOT NULL;
   SELECT count(*) || ':' || bool_and(command ~ ('^SELECT pg_catalog\.citus_move_shard_placement\([0-9]+,[0-9]+,$W3R,''block_writes''\)$')
          AND (SELECT s.logicalrelid FROM pg_dist_shard s WHERE s.shardid = substring(command FROM '\(([0-9]+),')::bigint) = 'rb_nopk'::regclass)
     FROM pg_dist_background_task WHERE job_id = (SELECT job_id FROM citus_rebalance_status())" \
  "1:true"
expect_shard_tables_match "  w3: the moved rb_nopk shard table exists" w3

expect "citus_move_shard_placement(shard, w1, w2) moves the colocated shards too" coord postgres \
  "SELECT citus_move_shard_placement(s.shardid, $W1, $W2B) FROM pg_dist_shard s JOIN pg_dist_shard_placement p USING (shardid) WHERE s.logicalrelid = 'rb_items'::regclass AND p.nodename = 'w1' ORDER BY s.shardid LIMIT 1;
   SELECT count(*) FROM pg_dist_shard s JOIN pg_dist_shard_placement p USING (shardid) WHERE s.logicalrelid IN ('rb_items'::regclass, 'rb_items2'::regclass) AND p.nodename = 'w2'" "8"
for n in w1 w2; do expect_shard_tables_match "  $n: shard tables follow the move" "$n"; done
expect_err "citus_move_shard_placement to the same node" coord postgres \
  "SELECT citus_move_shard_placement(min(shardid), $W1, $W1) FROM pg_dist_shard_placement WHERE nodename = 'w1'" "cannot move shard to the same node"
expect_err "citus_move_shard_placement to a node without shouldhaveshards" coord postgres \
  "SELECT citus_move_shard_placement(s.shardid, $W1, (SELECT nodeid FROM pg_dist_node WHERE groupid = 0)) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid) WHERE p.nodename = 'w1' LIMIT 1" \
  "Moving shards to a node that shouldn't have a shard is not supported"

# drain w3, then remove it
expect "citus_set_node_property(w3, shouldhaveshards, false)" coord postgres \
  "SELECT citus_set_node_property('w3', 5432, 'shouldhaveshards', false); SELECT shouldhaveshards FROM pg_dist_node WHERE nodeid = $W3R" "f"
expect "  pushed to the workers' pg_dist_node" w1 postgres \
  "SELECT shouldhaveshards FROM pg_dist_node WHERE nodename = 'w3'" "f"
expect "REPLICA IDENTITY FULL lets auto mode move rb_nopk" coord postgres \
  "ALTER TABLE rb_nopk REPLICA IDENTITY FULL; SELECT relreplident FROM pg_class WHERE oid = 'rb_nopk'::regclass" "f"
out="$(sqlm coord postgres "SELECT citus_rebalance_start(drain_only => true)")" || true
JOB3="$(printf '%s\n' "$out" | grep -E '^[0-9]+$' | tail -n 1)" || true
if [ -n "$JOB3" ] && grep -qE "Scheduled [0-9]+ moves as job $JOB3" <<<"$out"; then ok "citus_rebalance_start(drain_only => true) -> job $JOB3"
else bad "citus_rebalance_start(drain_only => true) returns a job id" "$out"; fi
expect "  w3 holds no placements; the drain tasks all leave w3" coord postgres \
  "SELECT (SELECT count(*) FROM pg_dist_shard_placement WHERE nodename = 'w3') || ':' || bool_and(nodes_involved[1] = $W3R) || ':' || (SELECT state FROM citus_rebalance_status()) FROM pg_dist_background_task WHERE job_id = $JOB3" \
  "0:true:finished"
expect "  w3 has no rb shard tables left" w3 postgres \
  "SELECT count(*) FROM pg_class WHERE relname ~ '^rb_[a-z0-9]+_[0-9]+\$'" "0"
for n in w1 w2; do expect_shard_tables_match "  $n: shard tables match the placements after the drain" "$n"; done
expect "  w1/w2 stay even per colocation group" coord postgres "SELECT ($SPREAD_SQL) <= 1" "t"
expect_msg "drain again: nothing to move" coord postgres \
  "SELECT citus_rebalance_start(drain_only => true) IS NULL" "No moves available for rebalancing" "t"
expect "citus_remove_node of the drained w3 works" coord postgres \
  "SELECT citus_remove_node('w3', 5432); SELECT count(*) FROM pg_dist_node WHERE nodename = 'w3'" "0"
expect "CALL citus_cleanup_orphaned_resources() (nothing deferred in the double)" coord postgres \
  "CALL citus_cleanup_orphaned_resources(); SELECT count(*) FROM pg_dist_cleanup" "0"
expect "replicate_reference_tables() is a no-op" coord postgres \
  "SELECT replicate_reference_tables(); SELECT 'ok'" "ok"
expect "recover_prepared_transactions() resolves nothing (no 2PC in the double)" coord postgres \
  "SELECT recover_prepared_transactions()" "0"
expect_err "citus_create_restore_point on a worker is refused" w1 postgres \
  "SELECT citus_create_restore_point('st-point')" "operation is not allowed on this node"
expect_err "citus_create_restore_point: a 64-character name is refused" coord postgres \
  "SELECT citus_create_restore_point(repeat('a', 64))" "value too long for restore point (maximum 63 characters)"
W1LSN="$(sqlc w1 postgres "CREATE EXTENSION IF NOT EXISTS pg_walinspect; SELECT pg_current_wal_lsn()")"
expect "citus_create_restore_point returns the coordinator's point" coord postgres \
  "SELECT citus_create_restore_point('st-point') > '0/0'::pg_lsn" "t"
expect "  the worker w1 has the point in its WAL too" w1 postgres \
  "SELECT pg_switch_wal(); SELECT count(*) FROM pg_get_wal_records_info('$W1LSN', pg_current_wal_flush_lsn()) WHERE record_type = 'RESTORE_POINT' AND description LIKE '%st-point%'" "1"

# A job that is still running (written by hand; the double's own jobs finish in the call).
JOBR="$(sqlc coord postgres "INSERT INTO pg_dist_background_job (state, job_type, description, started_at) VALUES ('running', 'rebalance', 'test job', now()) RETURNING job_id")"
sqlc coord postgres "INSERT INTO pg_dist_background_task (job_id, status, command, retry_count, message) VALUES ($JOBR, 'done', 'SELECT 1', 0, ''), ($JOBR, 'runnable', 'SELECT 2', 3, 'ERROR: it failed')" >/dev/null
expect_err "citus_rebalance_start while job $JOBR is running" coord postgres \
  "SELECT citus_rebalance_start()" "A rebalance is already running as job $JOBR"
expect "  status lists the retried task" coord postgres \
  "SELECT state || '|' || (details->'task_state_counts')::text || '|' || jsonb_array_length(details->'tasks') || '|' || (details->'tasks'->0->>'retried') || '|' || (details->'tasks'->0->>'message') FROM citus_rebalance_status()" \
  'running|{"done": 1, "runnable": 1}|1|3|ERROR: it failed'
# statement_timeout only keeps a broken wait from hanging the selftest.
docker exec -u postgres -e PGOPTIONS='-c statement_timeout=60s -c application_name=rb_waiter' "$RUN-coord" \
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SELECT citus_rebalance_wait()" >/dev/null 2>&1 &
WAITER=$!
for i in $(seq 1 100); do
  [ "$(sqlc coord postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rb_waiter' AND state = 'active'")" = 1 ] && break
  sleep 0.1
done
expect "citus_rebalance_stop() cancels it" coord postgres \
  "SELECT citus_rebalance_stop(); SELECT state || '|' || (finished_at IS NOT NULL) || '|' || details::text FROM citus_rebalance_status()" \
  'cancelled|true|{"tasks": [], "task_state_counts": {"done": 1, "cancelled": 1}}'
if wait "$WAITER"; then ok "  a waiting citus_rebalance_wait() returns once the job is cancelled"
else bad "  a waiting citus_rebalance_wait() returns once the job is cancelled"; fi
expect_err "  citus_job_wait(job, 'finished') on the cancelled job" coord postgres \
  "SELECT citus_job_wait($JOBR, desired_status => 'finished')" 'Job reached terminal state "cancelled" instead of desired state "finished"'
expect "rb tables dropped" coord postgres \
  "DROP TABLE rb_items2, rb_items, rb_kv, rb_nopk; SELECT count(*) FROM pg_dist_shard" "0"

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
