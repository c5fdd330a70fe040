#!/usr/bin/env bash
# Builds citusctl-test/docker-host:1, the simulated Docker host of the multi-host tests and benches
# (test/sim-hosts/: Debian's docker.io in a privileged container). TEST ONLY, not a product image.
#
# Usage: test/sim-hosts/build.sh [--rebuild] [--print]
#   --rebuild  build even if the image exists with the same inputs
#   --print    print the image name and exit
#
# Idempotent: the image carries label org.citusctl.inputs = sha256 of the input files and of the
# base image id; when that matches, the build is skipped. Needs citusctl/debian:trixie
# (images/build.sh); apt reaches the host's Debian mirror over the host network.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${CITUSCTL_SIM_HOST_IMAGE:-citusctl-test/docker-host:1}"
BASE="citusctl/debian:trixie"
INPUTS=(Dockerfile entrypoint.sh)

REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --print) echo "$IMAGE"; exit 0 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sim-hosts/build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[sim-hosts/build.sh $(date +%H:%M:%S)] $*"; }

command -v docker >/dev/null || { echo "sim-hosts/build.sh: docker not found" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "sim-hosts/build.sh: docker daemon not reachable" >&2; exit 1; }
base_id="$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null)" || {
  echo "sim-hosts/build.sh: base image $BASE missing (build it with images/build.sh)" >&2; exit 1; }

hash="$( { echo "base=$base_id"; for f in "${INPUTS[@]}"; do echo "== $f"; cat "$HERE/$f"; done; } \
         | sha256sum | cut -c1-16 )"

current="$(docker image inspect -f '{{ index .Config.Labels "org.citusctl.inputs" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$REBUILD" = 0 ] && [ "$current" = "$hash" ]; then
  log "$IMAGE is up to date (inputs $hash), skipping (use --rebuild to force)"
  exit 0
fi

log "building $IMAGE (inputs $hash, base $BASE)"
t0=$SECONDS
nocache=()
[ "$REBUILD" = 1 ] && nocache=(--no-cache)
docker build -q "${nocache[@]}" --network host --label "org.citusctl.inputs=$hash" -t "$IMAGE" "$HERE" >/dev/null
docker run --rm --entrypoint sh "$IMAGE" -c 'dockerd --version && iptables --version'
log "built $IMAGE in $((SECONDS - t0))s"
