#!/usr/bin/env bash
# bench/auto-failover/run.sh [ROUNDS] -- the monitor repairs alone: `citusctl up`, then ROUNDS
# `docker kill`s of g1's primary and ROUNDS of the coordinator's, under numbered writers through
# PgBouncer (and directly to g1 on the test double). Prints detection time, client write outage,
# lost acknowledged writes and the time until the killed member streams again (bench/auto-failover/main.ts).
# Same environment and knobs as bench/failover/run.sh, whose setup it reuses; its own cluster
# (cluster.autofo.yaml), state directory and Temporal port.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=auto-failover
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-autofo}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47343}"
exec bash "$HERE/../failover/run.sh" "$@"
