#!/usr/bin/env bash
# bench/backup/run.sh -- `citusctl backup` against the same pgBackRest full backups run by hand in
# every group's primary, pair by pair (benchmark only; no test asserts on these timings).
#
#   bench/backup/run.sh [ROUNDS]          # default 3 pairs
#
# Builds (SKIP_BUILD=1 skips), checks the images, then runs dist/bench/backup/main.js: `citusctl up`
# of cluster.backup.yaml (2 worker groups, 1M demo rows, not timed), then ROUNDS pairs of
# (citusctl backup, hand backups), alternating which goes first; prints each pair, the medians,
# the median ratio (goal <= 1.3), where citusctl's time went and the data size; writes
# results.json. Then `down --volumes` and the repository volume (KEEP_UP=1 keeps both). A Temporal
# dev server this script started is stopped at the end (KEEP_TEMPORAL=1 keeps it).
# BACKUP_ROWS=N writes the spec with N demo rows into the results directory (a smoke: 100000).
# BENCH_ENTRY=backup/restore runs bench/backup/restore (restore/run.sh sets it) on the same cluster.
# Real Citus: CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17 bash bench/backup/run.sh (default: the test double).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export ROUNDS="${1:-${ROUNDS:-3}}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS]" >&2; exit 2; }

export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-backup}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47451}"
export TEMPORAL_CLI_PATH="${TEMPORAL_CLI_PATH:-$(command -v temporal || echo temporal)}"
export CITUSCTL_IMAGE_POSTGRES="${CITUSCTL_IMAGE_POSTGRES:-citusctl-test/postgres-citus-double:17}"
export CITUSCTL_IMAGE_PGBOUNCER="${CITUSCTL_IMAGE_PGBOUNCER:-citusctl/pgbouncer:1}"
export CITUSCTL_IMAGE_ETCD="${CITUSCTL_IMAGE_ETCD:-citusctl/etcd:3.5}"
unset TEMPORAL_ADDRESS   # always the dedicated embedded server on CITUSCTL_TEMPORAL_PORT
export BENCH_OUT="${BENCH_OUT:-$CITUSCTL_STATE_DIR/results-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$BENCH_OUT"

export SPEC="${SPEC:-$HERE/cluster.backup.yaml}"
if [ -n "${BACKUP_ROWS:-}" ]; then
  [[ "$BACKUP_ROWS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: BACKUP_ROWS must be a positive number" >&2; exit 2; }
  out="$BENCH_OUT/$(basename "$SPEC")"
  sed -E "s/rows: [0-9]+/rows: $BACKUP_ROWS/" "$SPEC" >"$out"
  grep -q "rows: $BACKUP_ROWS," "$out" || { echo "run.sh: could not set rows in $out" >&2; exit 1; }
  export SPEC="$out"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
TEMPORAL_WAS_UP=0
port_open "$CITUSCTL_TEMPORAL_PORT" && TEMPORAL_WAS_UP=1
# The bench's own Temporal state is throwaway: without a server running, start from an empty database.
if [ "$TEMPORAL_WAS_UP" = 0 ]; then rm -f "$CITUSCTL_STATE_DIR"/temporal/temporal.db*; fi
stop_temporal() {
  local pidfile="$CITUSCTL_STATE_DIR/temporal/server.pid"
  local sup="$CITUSCTL_STATE_DIR/worker/supervisor.json"
  [ "$TEMPORAL_WAS_UP" = 0 ] && [ "${KEEP_TEMPORAL:-0}" != 1 ] || return 0
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
node "$ROOT/dist/bench/${BENCH_ENTRY:-backup}/main.js"
