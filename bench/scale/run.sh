#!/usr/bin/env bash
# bench/scale/run.sh -- scale-out (`citusctl up` on a spec with one more worker group: provision it,
# rebalance shards onto it) and scale-in (`citusctl drain <group>`) under a numbered writer through
# PgBouncer (benchmark only; no test asserts on these).
#
#   bench/scale/run.sh
#
# Builds (SKIP_BUILD=1 skips; the bench is TypeScript under bench/, compiled to dist/bench by
# `npm run build`), checks the images, then runs dist/bench/scale/main.js, which brings the cluster
# of cluster.scale.yaml up (2 worker groups, 1M demo rows, 32 shards; not timed), runs the scale-out
# onto g3 (cluster.scale-g3.yaml) and the drain of g3, each under the writer, prints the figures
# (wall time, the workflow's moves step, moves, MB, MB/s, rows/s, the client's longest write gap and
# longest INSERT, failed tries, lost acknowledged writes, row counts before/after, leftovers of g3)
# and writes results.json; then takes the cluster down with --volumes (KEEP_UP=1 keeps it). A
# Temporal dev server this script started is stopped at the end (KEEP_TEMPORAL=1 keeps it).
# SCALE_ROWS=N writes both specs with N demo rows into the results directory (a quick smoke:
# SCALE_ROWS=100000). Other knobs: see the header of bench/scale/main.ts.
# Real Citus: CITUSCTL_IMAGE_POSTGRES=<a real Citus image> bash bench/scale/run.sh (default: the test double).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-scale}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47337}"
export TEMPORAL_CLI_PATH="${TEMPORAL_CLI_PATH:-$(command -v temporal || echo temporal)}"
export CITUSCTL_IMAGE_POSTGRES="${CITUSCTL_IMAGE_POSTGRES:-citusctl-test/postgres-citus-double:17}"
export CITUSCTL_IMAGE_PGBOUNCER="${CITUSCTL_IMAGE_PGBOUNCER:-citusctl/pgbouncer:1}"
export CITUSCTL_IMAGE_ETCD="${CITUSCTL_IMAGE_ETCD:-citusctl/etcd:3.5}"
unset TEMPORAL_ADDRESS   # always the dedicated embedded server on CITUSCTL_TEMPORAL_PORT
export BENCH_OUT="${BENCH_OUT:-$CITUSCTL_STATE_DIR/results-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$BENCH_OUT"

export SPEC="${SPEC:-$HERE/cluster.scale.yaml}" SPEC_G3="${SPEC_G3:-$HERE/cluster.scale-g3.yaml}"
if [ -n "${SCALE_ROWS:-}" ]; then
  [[ "$SCALE_ROWS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: SCALE_ROWS must be a positive number" >&2; exit 2; }
  for var in SPEC SPEC_G3; do
    out="$BENCH_OUT/$(basename "${!var}")"
    sed -E "s/rows: [0-9]+/rows: $SCALE_ROWS/" "${!var}" >"$out"
    grep -q "rows: $SCALE_ROWS," "$out" || { echo "run.sh: could not set rows in $out" >&2; exit 1; }
    export "$var=$out"
  done
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
TEMPORAL_WAS_UP=0
port_open "$CITUSCTL_TEMPORAL_PORT" && TEMPORAL_WAS_UP=1
# The bench's own Temporal state is throwaway: without a server running, start from an empty
# database, so no workflow of an aborted earlier run is attached to.
if [ "$TEMPORAL_WAS_UP" = 0 ]; then rm -f "$CITUSCTL_STATE_DIR"/temporal/temporal.db*; fi
stop_temporal() {
  local pidfile="$CITUSCTL_STATE_DIR/temporal/server.pid"
  local sup="$CITUSCTL_STATE_DIR/worker/supervisor.json"
  [ "$TEMPORAL_WAS_UP" = 0 ] && [ "${KEEP_TEMPORAL:-0}" != 1 ] || return 0
  # with KEEP_UP=1 the cluster's supervised worker (and with it the server) is left running
  [ "${KEEP_UP:-0}" != 1 ] || return 0
  if [ -f "$sup" ]; then
    # the supervised worker `up` started keeps the embedded server up: it goes first
    kill "$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$sup" | head -n1)" 2>/dev/null || true
    sleep 2
  fi
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true   # the dev server `citusctl up` started for us, by its pid
  fi
}
trap stop_temporal EXIT

for img in "$CITUSCTL_IMAGE_POSTGRES" "$CITUSCTL_IMAGE_PGBOUNCER" "$CITUSCTL_IMAGE_ETCD"; do
  docker image inspect "$img" >/dev/null 2>&1 || { echo "run.sh: image $img is not present (see images/build.sh, test/citus-double/build.sh)" >&2; exit 3; }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then (cd "$ROOT" && npm run build --silent) >"$BENCH_OUT/build.log" 2>&1 || { cat "$BENCH_OUT/build.log" >&2; exit 1; }; fi

cd "$ROOT"
node "$ROOT/dist/bench/scale/main.js"
