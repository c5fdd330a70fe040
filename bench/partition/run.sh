#!/usr/bin/env bash
# bench/partition/run.sh [ROUNDS] -- a worker primary cut off from the cluster network (`docker
# network disconnect`: container running, PostgreSQL alive, nothing reaches it) under numbered
# writers through PgBouncer (and directly to the group on the test double), the monitor alone
# repairing: time to a new primary, client write outage, lost acknowledged writes, whether the old
# primary takes a write once reconnected, writable members per group after reconnecting; then
# 1 s freezes (three `docker pause`s, three SIGSTOPs of the postmaster) that must cause no
# failover (bench/partition/main.ts). Same environment and knobs as bench/failover/run.sh, whose
# setup it reuses; its own cluster (cluster.partition.yaml), state directory and Temporal port.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=partition
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-partition}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47353}"
exec bash "$HERE/../failover/run.sh" "$@"
