#!/usr/bin/env bash
# bench/chaos/run.sh -- chaos run: one random fault per round under numbered writers, the product's
# repair through its CLI, and the invariants (benchmark-style; the CI variant is
# test/integration/chaos.test.ts, 3 rounds on the Citus test double).
#
#   bench/chaos/run.sh [ROUNDS]          # default 20
#
# Stands up its own cluster (bench/chaos/cluster.chaos.yaml: name "chaos", ports 31800-31811,
# Temporal on 31880, state in /tmp/citusctl-bench-chaos), starting from `down --volumes` of that
# cluster. Each round: writers through PgBouncer (and, on the test double, directly to each worker
# group's primary) -> one fault drawn with CHAOS_SEED from: kill-worker-primary,
# pause-worker-primary, kill-standby, kill-coordinator-primary, stop-etcd (20 s),
# kill-orchestrator (the CLI running `citusctl failover`, killed at a chosen step, then rerun),
# remove-member (docker rm -f) -> repair with `citusctl failover|up|rejoin` until every group is
# healthy -> invariants: at most one writable member per group among every container that exists,
# pg_dist_node and etcd agree on each group's primary, no acknowledged write lost, every standby
# streaming within 60 s of the last repair command. Prints a table per fault kind and exits
# non-zero on any violation or unrepaired round. Round logs: $BENCH_OUT/roundNN.log.
# CHAOS_REPAIR=monitor: `up` starts the monitor and nothing but the monitor repairs (a removed
# container included: it re-creates it on its volume); kill-orchestrator SIGKILLs the supervised
# worker process running the failover as soon as the monitor has started it.
# Knobs: CHAOS_SEED, CHAOS_FAULTS (comma list), CHAOS_REPAIR, SKIP_BUILD=1, KEEP_UP=1, KEEP_TEMPORAL=1, and the
# image variables below (CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17 for real Citus).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROUNDS="${1:-${ROUNDS:-20}}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS]" >&2; exit 2; }

if [ "${CHAOS_REPAIR:-commands}" = monitor ]; then
  # its own cluster, state and Temporal server: runs beside the command-mode run
  export SPEC="${SPEC:-$ROOT/bench/chaos/cluster.chaosmon.yaml}"
  export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-chaosmon}"
  export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-31890}"
fi
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-chaos}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-31880}"
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
node "$ROOT/dist/bench/chaos/main.js" "$ROUNDS"
