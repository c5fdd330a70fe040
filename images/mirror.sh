# shellcheck shell=bash
# Prints the Debian mirror URL this host's apt uses (no hostname is hard-coded
# in the repository). Order: $CITUSCTL_DEBIAN_MIRROR, deb822 "URIs:" lines in
# /etc/apt/sources.list.d/*.sources, classic "deb URL suite" lines in
# /etc/apt/sources.list and /etc/apt/sources.list.d/*.list. Security and
# updates archives are skipped; the first main archive wins.
citusctl_debian_mirror() {
  if [ -n "${CITUSCTL_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "${CITUSCTL_DEBIAN_MIRROR%/}"
    return 0
  fi
  local f url
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    url=$(awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) print $i }' "$f" \
          | grep -v -E 'security|-updates|debian-debug|backports' | head -n1 || true)
    if [ -n "$url" ]; then printf '%s\n' "${url%/}"; return 0; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    url=$(awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } }' "$f" \
          | grep -v -E 'security|-updates|debian-debug|backports' | head -n1 || true)
    if [ -n "$url" ]; then printf '%s\n' "${url%/}"; return 0; fi
  done
  echo "citusctl: no Debian mirror found in apt configuration; set CITUSCTL_DEBIAN_MIRROR" >&2
  return 1
}
