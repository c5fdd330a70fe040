#!/usr/bin/env bash
# bench/tpcb/run.sh [ROUNDS] -- pgbench TPC-B (every transaction updates three distributed tables on
# different keys: two-phase commit across worker groups) through PgBouncer while the monitor fails
# over a worker primary ROUNDS times (`docker kill`, nothing else). Per round: the longest client
# stall, the balance invariant, and the transactions left in doubt (bench/tpcb/main.ts).
# Same environment and knobs as bench/failover/run.sh, whose setup it reuses; its own cluster
# (cluster.tpcb.yaml), state directory and Temporal port. Run it on real Citus:
#   CITUSCTL_IMAGE_POSTGRES=<real Citus image> bash bench/tpcb/run.sh 10
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=tpcb
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-tpcb}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47363}"
exec bash "$HERE/../failover/run.sh" "$@"
