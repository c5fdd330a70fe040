#!/usr/bin/env bash
# bench/backup/restore-point/run.sh -- what a cluster-wide restore point costs: `citusctl
# restore-point` POINTS times with row counts (writers held while the rows are counted) and POINTS
# times without (the schedule's kind), under numbered writers through PgBouncer; per point the
# writes-held window, the workflow step's latency and the longest INSERT a client waited for.
# Same environment as bench/failover/run.sh, whose setup it reuses; its own cluster
# (cluster.rpoint.yaml), state directory and Temporal port. Run it on real Citus:
#   CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17 bash bench/backup/restore-point/run.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=backup/restore-point
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-rpoint}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-49333}"
exec bash "$HERE/../../failover/run.sh" "${1:-1}"
