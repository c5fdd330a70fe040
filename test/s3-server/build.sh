#!/usr/bin/env bash
# Builds citusctl-test/s3-server:1 (test only): moto's S3-compatible server from Debian's
# packages on citusctl/debian:trixie. Skipped when the image exists with the same inputs.
# Usage: test/s3-server/build.sh [--rebuild] [--print]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${S3_SERVER_IMAGE:-citusctl-test/s3-server:1}"
BASE="citusctl/debian:trixie"
INPUTS=(Dockerfile serve.py)

HELP_LINES=2,4
# shellcheck source=../image-build.sh
source "$HERE/../image-build.sh"

test_image_args "$@"
test_image_changed || exit 0
t0=$SECONDS
# The build reaches Debian's package mirror through the host's network.
test_image_build --network host
log "built $IMAGE in $((SECONDS - t0))s"
