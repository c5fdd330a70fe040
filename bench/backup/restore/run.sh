#!/usr/bin/env bash
# bench/backup/restore/run.sh -- `citusctl restore` against the same pgBackRest restores done by hand,
# pair by pair, and the WAL archive lag under writers (bench/backup/restore/main.ts says what is timed).
# bench/backup's cluster (cluster.backup.yaml, 1M demo rows) and setup, its own state directory and
# Temporal port. Run it on real Citus:
#   CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17 bash bench/backup/restore/run.sh [ROUNDS]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=backup/restore
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-brestore}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47461}"
exec bash "$HERE/../run.sh" "${1:-3}"
