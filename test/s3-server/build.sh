#!/usr/bin/env bash
# Builds citusctl-test/s3-server:1 (test only): moto's S3-compatible server from Debian's
# packages on citusctl/debian:trixie. Skipped when the image exists with the same inputs.
# Usage: test/s3-server/build.sh [--rebuild] [--print]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${S3_SERVER_IMAGE:-citusctl-test/s3-server:1}"
BASE="citusctl/debian:trixie"
INPUTS=(Dockerfile serve.py)

REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --print) echo "$IMAGE"; exit 0 ;;
    *) echo "s3-server/build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[s3-server/build.sh $(date +%H:%M:%S)] $*"; }
base_id="$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null)" || {
  echo "s3-server/build.sh: base image $BASE missing (build it with images/build.sh)" >&2; exit 1; }
hash="$( { echo "base=$base_id"; for f in "${INPUTS[@]}"; do echo "== $f"; cat "$HERE/$f"; done; } \
         | sha256sum | cut -c1-16 )"
current="$(docker image inspect -f '{{ index .Config.Labels "org.citusctl.inputs" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$REBUILD" = 0 ] && [ "$current" = "$hash" ]; then
  log "$IMAGE is up to date (inputs $hash)"
  exit 0
fi
log "building $IMAGE (inputs $hash)"
t0=$SECONDS
# The build reaches Debian's package mirror through the host's network.
docker build -q --network host --label "org.citusctl.inputs=$hash" -t "$IMAGE" "$HERE" >/dev/null
log "built $IMAGE in $((SECONDS - t0))s"
