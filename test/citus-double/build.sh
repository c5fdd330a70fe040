#!/usr/bin/env bash
# Builds citusctl-test/postgres-citus-double:17: citusctl/postgres:17 plus the
# Citus TEST DOUBLE (test/citus-double/, NOT Citus) installed as extension "citus".
#
# Usage: test/citus-double/build.sh [--rebuild] [--print]
#   --rebuild  build even if the image exists with the same inputs
#   --print    print the image name and exit
#
# Idempotent: the image carries label org.citusctl.inputs = sha256 of the input
# files and of the base image id; when that matches, the build is skipped.
# Needs the base image citusctl/postgres:17 (images/build.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${CITUS_DOUBLE_IMAGE:-citusctl-test/postgres-citus-double:17}"
BASE="citusctl/postgres:17"
INPUTS=(Dockerfile .dockerignore Makefile citus.control citus--13.0-1.sql citus_double.c)

REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --print) echo "$IMAGE"; exit 0 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "citus-double/build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[citus-double/build.sh $(date +%H:%M:%S)] $*"; }

command -v docker >/dev/null || { echo "citus-double/build.sh: docker not found" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "citus-double/build.sh: docker daemon not reachable" >&2; exit 1; }
base_id="$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null)" || {
  echo "citus-double/build.sh: base image $BASE missing (build it with images/build.sh)" >&2; exit 1; }

hash="$( { echo "base=$base_id"; for f in "${INPUTS[@]}"; do echo "== $f"; cat "$HERE/$f"; done; } \
         | sha256sum | cut -c1-16 )"

current="$(docker image inspect -f '{{ index .Config.Labels "org.citusctl.inputs" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$REBUILD" = 0 ] && [ "$current" = "$hash" ]; then
  log "$IMAGE is up to date (inputs $hash), skipping (use --rebuild to force)"
  exit 0
fi

log "building $IMAGE (inputs $hash, base $BASE)"
t0=$SECONDS
docker build -q --label "org.citusctl.inputs=$hash" -t "$IMAGE" "$HERE" >/dev/null
docker run --rm "$IMAGE" sh -c 'test -f /usr/lib/postgresql/17/lib/citus.so && test -f /usr/share/postgresql/17/extension/citus.control'
log "built $IMAGE in $((SECONDS - t0))s"
