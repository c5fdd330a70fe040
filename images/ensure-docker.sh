#!/usr/bin/env bash
# Makes sure a Docker daemon is usable on this machine (Debian, run as root):
#   - installs Debian's docker.io (for dockerd) and debootstrap (for
#     images/build.sh) when missing, plus any extra Debian packages named as
#     arguments (e.g. docker-compose); `apt-get update` runs at most once;
#   - starts dockerd in the background when `docker info` fails, logging to
#     /tmp/citusctl-dockerd.log, and waits up to 60 s for it.
# Usage: images/ensure-docker.sh [extra-debian-package...]
# Note: a bare `docker` CLI may already be on PATH without any daemon; dockerd
# is what decides whether docker.io gets installed.
set -euo pipefail

log() { echo "[ensure-docker $(date +%H:%M:%S)] $*"; }

# package -> command that proves it is installed
declare -A PROBE=( [docker.io]=dockerd [debootstrap]=debootstrap [docker-compose]=docker-compose )

want=(docker.io debootstrap "$@")
missing=()
for pkg in "${want[@]}"; do
  probe="${PROBE[$pkg]:-}"
  if [ -n "$probe" ]; then
    command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
  else
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-docker: need root to install: ${missing[*]}" >&2; exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/citusctl-apt.log 2>&1 || {
    tail -n 40 /tmp/citusctl-apt.log >&2; exit 1; }
else
  log "packages present: ${want[*]}"
fi

if docker info >/dev/null 2>&1; then
  log "docker daemon is running"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: docker daemon not reachable and not root: start dockerd yourself" >&2; exit 1
fi

LOGFILE=/tmp/citusctl-dockerd.log
log "starting dockerd (log: $LOGFILE)"
# detached from this script's session so it outlives it
setsid nohup dockerd >"$LOGFILE" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "dockerd is up (pid $pid)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
  sleep 1
done
echo "ensure-docker: dockerd exited or did not answer within 60 s; its log:" >&2
cat "$LOGFILE" >&2 || true
exit 1
