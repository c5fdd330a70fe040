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

HELP_LINES=2,10
# shellcheck source=../image-build.sh
source "$HERE/../image-build.sh"

test_image_args "$@"
test_image_changed || exit 0
t0=$SECONDS
test_image_build
docker run --rm "$IMAGE" sh -c 'test -f /usr/lib/postgresql/17/lib/citus.so && test -f /usr/share/postgresql/17/extension/citus.control'
log "built $IMAGE in $((SECONDS - t0))s"
