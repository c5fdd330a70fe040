# Sourced by the test-only image builds (test/*/build.sh): arguments, the skip when nothing changed,
# the build. The caller sets IMAGE, BASE, HERE and INPUTS (its files) and HELP_LINES (the usage lines
# of its header), then:
#   test_image_args "$@"; test_image_changed || exit 0; test_image_build [docker build options]
# The image carries label org.citusctl.inputs = sha256 of the input files and of the base image id;
# when that matches, the build is skipped (--rebuild forces it, --print prints the image name).

WHO="$(basename "$HERE")/build.sh"

log() { echo "[$WHO $(date +%H:%M:%S)] $*"; }

test_image_args() {
  REBUILD=0
  for arg in "$@"; do
    case "$arg" in
      --rebuild) REBUILD=1 ;;
      --print) echo "$IMAGE"; exit 0 ;;
      -h|--help) sed -n "${HELP_LINES:-2,4}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "$WHO: unknown argument: $arg" >&2; exit 2 ;;
    esac
  done
}

# True (0) when the image must be built; logs and returns 1 when it is up to date.
test_image_changed() {
  command -v docker >/dev/null || { echo "$WHO: docker not found" >&2; exit 1; }
  docker info >/dev/null 2>&1 || { echo "$WHO: docker daemon not reachable" >&2; exit 1; }
  local base_id current
  base_id="$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null)" || {
    echo "$WHO: base image $BASE missing (build it with images/build.sh)" >&2; exit 1; }
  INPUTS_HASH="$( { echo "base=$base_id"; for f in "${INPUTS[@]}"; do echo "== $f"; cat "$HERE/$f"; done; } \
                  | sha256sum | cut -c1-16 )"
  current="$(docker image inspect -f '{{ index .Config.Labels "org.citusctl.inputs" }}' "$IMAGE" 2>/dev/null || true)"
  if [ "$REBUILD" = 0 ] && [ "$current" = "$INPUTS_HASH" ]; then
    log "$IMAGE is up to date (inputs $INPUTS_HASH), skipping (use --rebuild to force)"
    return 1
  fi
  log "building $IMAGE (inputs $INPUTS_HASH, base $BASE)"
}

# docker build of HERE as IMAGE, labelled with its inputs; extra options first.
test_image_build() {
  docker build -q "$@" --label "org.citusctl.inputs=$INPUTS_HASH" -t "$IMAGE" "$HERE" >/dev/null
}
