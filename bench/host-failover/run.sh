#!/usr/bin/env bash
# bench/host-failover/run.sh [ROUNDS] -- the loss of a whole host (default 10 rounds): three
# simulated hosts (test/sim-hosts/: containers running their own dockerd, network
# citusctl-test-hosts-bench-hf, 10.218.71.0/24), the host-failure test's layout (no coordinator
# standby, spread placement, two PgBouncers, three etcd members, synchronous durability), a
# `citusctl worker --host hN` per host, `citusctl up` with the monitor. Per round, under numbered
# writers through the clients' multi-host string, on the host holding g1's current primary
# (bench/host-failover/main.ts):
#   FAULT=kill (default)  `docker kill` of its host container and SIGKILL of its worker; the monitor
#                         alone repairs; then the host boots again with its worker and the old
#                         primary rejoins as a standby.
#   FAULT=partition       `docker network disconnect` of its host container from the hosts network;
#                         the host workers run inside their hosts' network namespaces (Temporal
#                         forwarded to them on 10.218.71.1:<CITUSCTL_TEMPORAL_PORT - 1>), so the cut
#                         host's worker self-fences; the monitor alone repairs; SETTLE_MS after the
#                         new primary the host is plugged back: exactly one writable member per
#                         group at every poll, and the old primary rejoins as a standby. A writer on
#                         the cut host itself (ISOLATED_WRITER=1, default) must get no row
#                         acknowledged that the new primary lacks. Runs as root (nsenter).
#
# Same environment as bench/failover/run.sh, whose setup it reuses (build, images, BENCH_OUT, the
# embedded Temporal server stopped at the end); its own state directory and Temporal port:
#   CITUSCTL_IMAGE_POSTGRES   the Citus under test (default: the test double; real Citus:
#                             citusctl-local/citus-real:17)
#   CITUSCTL_STATE_DIR        /tmp/citusctl-bench-hostfo       CITUSCTL_TEMPORAL_PORT  47373
#   BENCH_OUT                 results (summary.txt, rounds.json, round<i>.writes.json, cluster.json,
#                             the CLI's output, worker-h<n>.log); default $CITUSCTL_STATE_DIR/results-<time>
#   FAULT (kill), WRITERS (4), WRITE_INTERVAL_MS (20), QUERY_TIMEOUT_MS (2000), CONNECT_TIMEOUT_MS
#   (2000), SETTLE_MS (3000), ISOLATED_WRITER (1), SKIP_BUILD=1, KEEP_UP=1 (keeps the hosts and the
#   cluster; the host workers stop), SIM_HOSTS_KEEP=0 (also removes the hosts' image volumes, kept
#   by default as the tests do).
# On a shared machine run it under the heavy lock: flock -w 3600 /tmp/citusctl-locks/heavy.lock bash ...
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_ENTRY=host-failover
export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-hostfo}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47373}"
exec bash "$HERE/../failover/run.sh" "$@"
