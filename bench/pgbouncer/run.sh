#!/usr/bin/env bash
# bench/pgbouncer/run.sh -- PgBouncer at scale: 5,000 and 10,000 concurrent TLS clients through
# PgBouncer on a pool of 20 server connections, 1 process against 2 (so_reuseport), and the cost
# of TLS (tps and connection time with and without it). pgbench runs in a container on the cluster
# network (bench/pgbouncer/main.ts lists the knobs). Same environment as bench/failover/run.sh, whose
# setup it reuses; its own cluster (cluster.pgbouncer.yaml), state directory and Temporal port.
# Run it on real Citus:
#   CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17 bash bench/pgbouncer/run.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=pgbouncer
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-pgbouncer}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47383}"
exec bash "$HERE/../failover/run.sh" "${1:-1}"
