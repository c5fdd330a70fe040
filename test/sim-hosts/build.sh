#!/usr/bin/env bash
# Builds citusctl-test/docker-host:1, the simulated Docker host of the multi-host tests and benches
# (test/sim-hosts/: Debian's docker.io in a container with every capability but CAP_SYS_RESOURCE).
# TEST ONLY, not a product image.
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

HELP_LINES=2,12
# shellcheck source=../image-build.sh
source "$HERE/../image-build.sh"

test_image_args "$@"
test_image_changed || exit 0
t0=$SECONDS
nocache=()
[ "$REBUILD" = 1 ] && nocache=(--no-cache)
test_image_build "${nocache[@]}" --network host
docker run --rm --entrypoint sh "$IMAGE" -c 'dockerd --version && iptables --version'
log "built $IMAGE in $((SECONDS - t0))s"
