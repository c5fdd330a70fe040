#!/bin/sh
# Starts this simulated host's own dockerd: unix socket for `docker exec <host> docker ...`, and
# tcp://0.0.0.0:2376 for the other hosts and the tests, which must present a client certificate
# signed by the test CA (--tlsverify). Certificates come from /certs (ca.pem, server-cert.pem,
# server-key.pem). dockerd runs as PID 1's only child and is exec'd, so `docker stop` of the host
# stops it (and its containers) cleanly; `docker kill` is a host crash.
set -eu

export container=docker

# The host container is not --privileged: the outer engine's bounding set lacks CAP_SYS_RESOURCE here,
# which --privileged asks for. It runs with every other capability, seccomp and the /proc masks off
# (see sim-hosts.ts), so it remounts writable what --privileged would have given writable: /sys and
# the cgroup hierarchies (v1: one bind mount of this container's own cgroup per controller).
awk '$2=="/sys" && $4 ~ /(^|,)ro(,|$)/ {found=1} END {exit !found}' /proc/mounts && mount -o remount,rw /sys
awk '$3 ~ /^cgroup2?$/ && $4 ~ /(^|,)ro(,|$)/ {print $2}' /proc/mounts | while read -r m; do
  mount -o remount,rw,bind "$m" || mount -o remount,rw "$m"
done

# AppArmor/SELinux tools read securityfs; mount it when the kernel has it and nothing did.
if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
  mount -t securityfs none /sys/kernel/security 2>/dev/null || true
fi

# cgroup v2: move this shell out of the root cgroup so dockerd may enable the controllers for its
# children (v1, as on the outer engine here, needs nothing more).
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control || true
fi

for f in ca.pem server-cert.pem server-key.pem; do
  [ -r "/certs/$f" ] || { echo "docker-host: /certs/$f missing" >&2; exit 1; }
done

# A previous run's pid files survive `docker kill` in the container's filesystem and would stop
# dockerd/containerd from starting again after `docker start`.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid /run/docker.pid 2>/dev/null || true

exec dockerd \
  --host=unix:///var/run/docker.sock \
  --host=tcp://0.0.0.0:2376 \
  --tlsverify \
  --tlscacert=/certs/ca.pem \
  --tlscert=/certs/server-cert.pem \
  --tlskey=/certs/server-key.pem \
  --storage-driver=overlay2 \
  "$@"
