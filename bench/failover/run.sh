#!/usr/bin/env bash
# bench/failover/run.sh -- write outage and lost acknowledged writes across `citusctl failover`
# (worker primary container killed), `citusctl switchover <group>` and `citusctl switchover
# coordinator` (benchmark only; no test asserts on these).
#
#   bench/failover/run.sh [ROUNDS]      # default 10 rounds of each
#
# Builds (SKIP_BUILD=1 skips; the bench is TypeScript under bench/, compiled to dist/bench by
# `npm run build`), checks the images, then runs dist/bench/failover/main.js, which brings the
# cluster of cluster.benchfo.yaml up (not timed), runs the rounds with numbered writers through
# PgBouncer (and, on the Citus test double, directly to the group's primary too, labelled), prints
# per-round numbers, median/max and where the time goes, and takes the cluster down with --volumes
# at the end (KEEP_UP=1 keeps it). A Temporal dev server this script started is stopped at the end
# (KEEP_TEMPORAL=1 keeps it). Other knobs: see the header of bench/failover/main.ts.
# BENCH_ENTRY=auto-failover runs bench/auto-failover instead (its run.sh sets it).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROUNDS="${1:-${ROUNDS:-10}}"
[[ "$ROUNDS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROUNDS]" >&2; exit 2; }

export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-failover}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47333}"
export TEMPORAL_CLI_PATH="${TEMPORAL_CLI_PATH:-$(command -v temporal || echo temporal)}"
export CITUSCTL_IMAGE_POSTGRES="${CITUSCTL_IMAGE_POSTGRES:-citusctl-test/postgres-citus-double:17}"
export CITUSCTL_IMAGE_PGBOUNCER="${CITUSCTL_IMAGE_PGBOUNCER:-citusctl/pgbouncer:1}"
export CITUSCTL_IMAGE_ETCD="${CITUSCTL_IMAGE_ETCD:-citusctl/etcd:3.5}"
unset TEMPORAL_ADDRESS   # always the dedicated embedded server on CITUSCTL_TEMPORAL_PORT
export BENCH_OUT="${BENCH_OUT:-$CITUSCTL_STATE_DIR/results-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$BENCH_OUT"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
TEMPORAL_WAS_UP=0
port_open "$CITUSCTL_TEMPORAL_PORT" && TEMPORAL_WAS_UP=1
# The bench's own Temporal state is throwaway: without a server running, start from an empty
# database, so no workflow of an aborted earlier run (e.g. a setup still "in flight") is attached to.
if [ "$TEMPORAL_WAS_UP" = 0 ]; then rm -f "$CITUSCTL_STATE_DIR"/temporal/temporal.db*; fi
stop_temporal() {
  local pidfile="$CITUSCTL_STATE_DIR/temporal/server.pid"
  local sup="$CITUSCTL_STATE_DIR/worker/supervisor.json"
  if [ "$TEMPORAL_WAS_UP" = 0 ] && [ "${KEEP_TEMPORAL:-0}" != 1 ] && [ -f "$sup" ]; then
    # the supervised worker `up` started keeps the embedded server up: it goes first
    kill "$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$sup" | head -n1)" 2>/dev/null || true
    sleep 2
  fi
  if [ "$TEMPORAL_WAS_UP" = 0 ] && [ "${KEEP_TEMPORAL:-0}" != 1 ] && [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true   # the dev server `citusctl up` started for us, by its pid
  fi
}
trap stop_temporal EXIT

for img in "$CITUSCTL_IMAGE_POSTGRES" "$CITUSCTL_IMAGE_PGBOUNCER" "$CITUSCTL_IMAGE_ETCD"; do
  docker image inspect "$img" >/dev/null 2>&1 || { echo "run.sh: image $img is not present (see images/build.sh, test/citus-double/build.sh)" >&2; exit 3; }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then (cd "$ROOT" && npm run build --silent) >"$BENCH_OUT/build.log" 2>&1 || { cat "$BENCH_OUT/build.log" >&2; exit 1; }; fi

cd "$ROOT"
node "$ROOT/dist/bench/${BENCH_ENTRY:-failover}/main.js" "$ROUNDS"
