#!/usr/bin/env bash
# bench/entry-heal/run.sh [ROUNDS] -- the monitor repairs PgBouncer and etcd: `citusctl up`, then
# under a numbered writer through PgBouncer: ROUNDS `docker kill`s of PgBouncer, RM_ROUNDS
# `docker rm -f`s of it, ETCD_ROUNDS `docker kill`s of etcd and RM_ROUNDS `docker rm -f`s of it,
# each etcd fault followed by a `docker kill` of g1's primary (the next failover must work).
# Prints the client write outage, lost acknowledged writes, when the service answers again and
# where the time goes (bench/entry-heal/main.ts). Same environment and knobs as
# bench/failover/run.sh, whose setup it reuses; its own cluster (cluster.entryheal.yaml), state
# directory and Temporal port.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=entry-heal
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-entryheal}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47417}"
exec bash "$HERE/../failover/run.sh" "$@"
