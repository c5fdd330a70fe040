#!/usr/bin/env bash
# Builds the container images citusctl needs, without any container registry:
#
#   citusctl/debian:trixie   base rootfs made with debootstrap from the host's
#                            Debian mirror, then `docker import`ed
#   citusctl/postgres:17     images/postgres/Dockerfile   (Debian postgresql-17)
#   citusctl/pgbouncer:1     images/pgbouncer/Dockerfile  (Debian pgbouncer)
#   citusctl/etcd:3.5        images/etcd/Dockerfile       (Debian etcd-server)
#
# Usage: images/build.sh [--rebuild] [--print]
#   --rebuild   rebuild every image even if it already exists
#   --print     print role=image for the three product images and exit
#
# Idempotent: an image is skipped when it exists and was built from the same
# inputs (its Dockerfile directory and its base image); re-running takes seconds.
# The mirror URL comes from the host's apt configuration at run time (or
# $CITUSCTL_DEBIAN_MIRROR); it is never written into the repository.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/mirror.sh
. "$HERE/mirror.sh"

BASE_IMAGE="citusctl/debian:trixie"
SUITE="trixie"
# role|image|dockerfile dir
PRODUCT_IMAGES=(
  "postgres|citusctl/postgres:17|postgres"
  "pgbouncer|citusctl/pgbouncer:1|pgbouncer"
  "etcd|citusctl/etcd:3.5|etcd"
)

REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --print)
      for spec in "${PRODUCT_IMAGES[@]}"; do
        IFS='|' read -r role image _ <<<"$spec"
        echo "$role=$image"
      done
      exit 0 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[images/build.sh $(date +%H:%M:%S)] $*"; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() {
  docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

command -v docker >/dev/null || { echo "build.sh: docker not found (run images/ensure-docker.sh)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build.sh: docker daemon not reachable (run images/ensure-docker.sh)" >&2; exit 1; }

# ---------------------------------------------------------------- base image
build_base() {
  if [ "$REBUILD" = 0 ] && image_exists "$BASE_IMAGE"; then
    log "base image $BASE_IMAGE exists, skipping (use --rebuild to force)"
    return 0
  fi
  command -v debootstrap >/dev/null || { echo "build.sh: debootstrap not installed (apt-get install debootstrap)" >&2; exit 1; }
  local mirror rootfs t0
  mirror="$(citusctl_debian_mirror)"
  t0=$SECONDS
  rootfs="$(mktemp -d /var/tmp/citusctl-rootfs.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs'" EXIT
  log "debootstrap --variant=minbase $SUITE into $rootfs from $mirror"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" > "$rootfs.log" 2>&1 || {
    tail -n 50 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
  rm -f "$rootfs.log"

  log "configuring apt in the rootfs (sources: $SUITE from the host's mirror)"
  printf 'deb %s %s main\n' "$mirror" "$SUITE" > "$rootfs/etc/apt/sources.list"
  rm -f "$rootfs"/etc/apt/sources.list.d/*.sources
  cat > "$rootfs/etc/apt/apt.conf.d/90citusctl" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
APT
  # keep docs/man pages/translations out of every image
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/90citusctl-nodoc" <<'DPKG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
DPKG
  # never start services from maintainer scripts inside images
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/var/log/apt/* "$rootfs"/var/log/dpkg.log "$rootfs"/var/log/bootstrap.log \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*

  remember_old "$BASE_IMAGE"
  log "docker import -> $BASE_IMAGE"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL org.citusctl.image=debian' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  log "built $BASE_IMAGE in $((SECONDS - t0))s"
}

# ------------------------------------------------------------ product images
# Hash of the build inputs: every file in the Dockerfile's directory plus the
# base image id. Stored as a label; a matching label means nothing to do.
inputs_hash() {
  local dir="$1" base_id
  base_id="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")"
  {
    echo "$base_id"
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

build_product() {
  local role="$1" image="$2" dir="$HERE/$3" hash t0
  hash="$(inputs_hash "$dir")"
  if [ "$REBUILD" = 0 ] && image_exists "$image" \
     && [ "$(image_label "$image" org.citusctl.inputs)" = "$hash" ]; then
    log "$image is up to date (inputs $hash), skipping"
    return 0
  fi
  t0=$SECONDS
  log "docker build $image from ${dir#"$HERE/"}/Dockerfile (inputs $hash)"
  remember_old "$image"
  local nocache=()
  [ "$REBUILD" = 1 ] && nocache=(--no-cache)
  docker build "${nocache[@]}" \
    --label "org.citusctl.image=$role" \
    --label "org.citusctl.inputs=$hash" \
    -t "$image" "$dir"
  log "built $image in $((SECONDS - t0))s"
}

# ids of images replaced by this run; removed at the end when nothing uses them
REPLACED=()
remember_old() {
  local id
  id="$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true)"
  if [ -n "$id" ]; then REPLACED=("$id" "${REPLACED[@]}"); fi
}
cleanup_replaced() {
  local id
  for id in "${REPLACED[@]}"; do
    # still tagged or used by a container/child image -> docker refuses; fine
    if [ -z "$(docker image inspect -f '{{join .RepoTags ","}}' "$id" 2>/dev/null)" ]; then
      docker image rm "$id" >/dev/null 2>&1 && log "removed replaced image ${id#sha256:}" || true
    fi
  done
}

T0=$SECONDS
build_base
for spec in "${PRODUCT_IMAGES[@]}"; do
  IFS='|' read -r role image dir <<<"$spec"
  build_product "$role" "$image" "$dir"
done
cleanup_replaced
log "all images ready in $((SECONDS - T0))s:"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' | grep '^citusctl/' | sed 's/^/  /' || true
