#!/usr/bin/env bash
# bench/setup/run.sh -- times `citusctl up` against bench/setup/baseline.sh (benchmark only; no test
# asserts on these timings).
#
#   bench/setup/run.sh [ROUNDS]          # default 5 rounds
#
# Before timing: `npm run build` (SKIP_BUILD=1 skips it), images must be present, and one warm-up
# round of each side that is NOT counted (it also starts the embedded Temporal dev server on
# CITUSCTL_TEMPORAL_PORT, so every timed citusctl run finds Temporal already up).
# Each round runs both sides, alternating which goes first; each starts from a clean state
# (`citusctl down --volumes` / `baseline.sh down`, not timed). A run is timed from process start
# to exit: for citusctl that is `node dist/client/cli.js up -c bench/setup/cluster.bench.yaml --json`,
# so Node start-up, preflight, connecting to Temporal and the in-process worker are included.
# Prints each round's times, the medians, the median of the per-round ratios citusctl/baseline,
# where citusctl spent its time (steps of the --json report), and which Citus ran.
# A Temporal dev server this script started is stopped at the end (KEEP_TEMPORAL=1 keeps it).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROUNDS="${1:-${ROUNDS:-5}}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS]" >&2; exit 2; }

export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-setup}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47233}"
export TEMPORAL_CLI_PATH="${TEMPORAL_CLI_PATH:-/root/.pyenv/versions/3.11.7/bin/temporal}"
export CITUSCTL_IMAGE_POSTGRES="${CITUSCTL_IMAGE_POSTGRES:-citusctl-test/postgres-citus-double:17}"
export CITUSCTL_IMAGE_PGBOUNCER="${CITUSCTL_IMAGE_PGBOUNCER:-citusctl/pgbouncer:1}"
export CITUSCTL_IMAGE_ETCD="${CITUSCTL_IMAGE_ETCD:-citusctl/etcd:3.5}"
export BASELINE_STATE_DIR="${BASELINE_STATE_DIR:-$CITUSCTL_STATE_DIR/baseline}"
unset TEMPORAL_ADDRESS   # always the dedicated embedded server on CITUSCTL_TEMPORAL_PORT
SPEC="$HERE/cluster.bench.yaml"
CLUSTER=bench                                   # name: in cluster.bench.yaml
BL_NAME="${BASELINE_NAME:-benchbl}"
BL_PORT_BASE="${BASELINE_PORT_BASE:-29532}"     # 29532-29536, PgBouncer 29542, etcd 29543 (below 32768: see the spec)
OUT="${BENCH_OUT:-$CITUSCTL_STATE_DIR/results-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
CLI=(node "$ROOT/dist/client/cli.js")

log() { printf '%s\n' "$*" | tee -a "$OUT/summary.txt"; }
us() { local t=${1/[.,]/}; echo $((10#$t)); }
load() { cut -d' ' -f1-3 /proc/loadavg; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
TEMPORAL_WAS_UP=0
port_open "$CITUSCTL_TEMPORAL_PORT" && TEMPORAL_WAS_UP=1
cleanup() {
  "${CLI[@]}" down -c "$SPEC" --volumes --json >/dev/null 2>&1 || true
  "$HERE/baseline.sh" down "$BL_NAME" >/dev/null 2>&1 || true
  local pidfile="$CITUSCTL_STATE_DIR/temporal/server.pid"
  if [ "$TEMPORAL_WAS_UP" = 0 ] && [ "${KEEP_TEMPORAL:-0}" != 1 ] && [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true   # the dev server our warm-up started, by its pid
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- preparation (not timed)
for img in "$CITUSCTL_IMAGE_POSTGRES" "$CITUSCTL_IMAGE_PGBOUNCER" "$CITUSCTL_IMAGE_ETCD"; do
  docker image inspect "$img" >/dev/null 2>&1 || { echo "run.sh: image $img is not present (see images/build.sh, test/citus-double/build.sh)" >&2; exit 3; }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then (cd "$ROOT" && npm run build --silent) >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; exit 1; }; fi

citusctl_down() { "${CLI[@]}" down -c "$SPEC" --volumes --json >/dev/null; }
baseline_down() { "$HERE/baseline.sh" down "$BL_NAME"; }
# Each timed function prints elapsed ms; its output goes to $OUT/<tag>.*.
time_citusctl() {
  local tag=$1 t0 t1
  t0=$EPOCHREALTIME
  "${CLI[@]}" up -c "$SPEC" --json >"$OUT/$tag.citusctl.json" 2>"$OUT/$tag.citusctl.err" || { echo "run.sh: citusctl up failed ($tag):" >&2; cat "$OUT/$tag.citusctl.json" "$OUT/$tag.citusctl.err" >&2; exit 1; }
  t1=$EPOCHREALTIME
  echo $(( ($(us "$t1") - $(us "$t0")) / 1000 ))
}
time_baseline() {
  local tag=$1 t0 t1
  t0=$EPOCHREALTIME
  BASELINE_REPORT_CITUS=0 "$HERE/baseline.sh" up "$BL_NAME" "$BL_PORT_BASE" >"$OUT/$tag.baseline.out" 2>&1 || { echo "run.sh: baseline failed ($tag):" >&2; cat "$OUT/$tag.baseline.out" >&2; exit 1; }
  t1=$EPOCHREALTIME
  echo $(( ($(us "$t1") - $(us "$t0")) / 1000 ))
}
# Which Citus ran: asked inside each coordinator container (peer auth, no password), after the clock.
citus_of() { docker exec -u postgres "$1" psql -XAtqc 'SELECT citus_version()'; }

log "bench/setup: citusctl up vs baseline.sh, $ROUNDS rounds, $(nproc) CPUs, results in $OUT"
log "images: postgres=$CITUSCTL_IMAGE_POSTGRES pgbouncer=$CITUSCTL_IMAGE_PGBOUNCER etcd=$CITUSCTL_IMAGE_ETCD"
log "temporal: 127.0.0.1:$CITUSCTL_TEMPORAL_PORT ($([ $TEMPORAL_WAS_UP = 1 ] && echo 'already running' || echo 'started by the warm-up round')); state dir $CITUSCTL_STATE_DIR"

citusctl_down; baseline_down
w_c=$(time_citusctl warmup); CITUS_C=$(citus_of "citusctl-$CLUSTER-coord-a"); citusctl_down
w_b=$(time_baseline warmup); CITUS_B=$(citus_of "bl-$BL_NAME-coord-a"); baseline_down
log "warm-up (not counted): citusctl ${w_c} ms, baseline ${w_b} ms"
log "citus_version() citusctl cluster: $CITUS_C"
log "citus_version() baseline cluster: $CITUS_B"
case "$CITUS_C$CITUS_B" in *"test double"*) log "NOTE: a Citus TEST DOUBLE ran (no query routing): these numbers are not real-Citus numbers." ;; esac

# ---------------------------------------------------------------- timed rounds
declare -a C B R
log ""
log "round  first     citusctl_ms  baseline_ms  ratio   loadavg(1/5/15)"
for ((i = 1; i <= ROUNDS; i++)); do
  if ((i % 2)); then
    first=baseline
    b=$(time_baseline "round$i"); baseline_down
    c=$(time_citusctl "round$i"); citusctl_down
  else
    first=citusctl
    c=$(time_citusctl "round$i"); citusctl_down
    b=$(time_baseline "round$i"); baseline_down
  fi
  C+=("$c"); B+=("$b"); R+=("$(awk -v c="$c" -v b="$b" 'BEGIN { printf "%.3f", c / b }')")
  log "$(printf '%-6s %-9s %11s  %11s  %-6s  %s' "$i" "$first" "$c" "$b" "${R[-1]}" "$(load)")"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mc=$(median "${C[@]}"); mb=$(median "${B[@]}"); mr=$(median "${R[@]}")
log ""
log "median citusctl: $mc ms   median baseline: $mb ms   median ratio citusctl/baseline: $mr (target <= 1.3)"

# ---------------------------------------------------------------- where citusctl spends its time
# Per step: median over the timed rounds of endedAt - startedAt (from the --json report), and the
# part outside the workflow (process wall time minus first-step-start..last-step-end).
log ""
log "citusctl steps (median ms over $ROUNDS rounds)   |  baseline steps (median ms)"
steps_json=$(for ((i = 1; i <= ROUNDS; i++)); do
  jq -c --argjson wall "${C[$((i - 1))]}" '
    [.steps[] | select(.startedAt and .endedAt)] as $s
    | ([$s[].startedAt] | min) as $t0 | ([$s[].endedAt] | max) as $t1
    | ($s | map({(.name): (.endedAt - .startedAt)}) | add)
      + {"(gaps between steps)": (($t1 - $t0) - ($s | map(.endedAt - .startedAt) | add))}
      + {"(outside the workflow)": ($wall - ($t1 - $t0))}' "$OUT/round$i.citusctl.json"
done | jq -s -c '.')
bl_json=$(for ((i = 1; i <= ROUNDS; i++)); do
  awk '$1 == "baseline-step" { printf "%s\"%s\":%s", (n++ ? "," : "{"), $2, $3 } END { print "}" }' "$OUT/round$i.baseline.out"
done | jq -s -c '.')
jq -r -n --argjson c "$steps_json" --argjson b "$bl_json" '
  def med: sort | if length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  ($c[0] | keys_unsorted) as $names
  | $names[] as $n
  | "  \($n | . + (" " * (24 - length)))\([$c[][$n]] | med | floor | tostring | (" " * (7 - length)) + .)"
    + (if ($b[0][$n]) then "   |  \([$b[][$n]] | med | floor)" else "" end)' | tee -a "$OUT/summary.txt"

log ""
log "reproduce: (cd $ROOT && bench/setup/run.sh $ROUNDS)"
log "  env: CITUSCTL_STATE_DIR=$CITUSCTL_STATE_DIR CITUSCTL_TEMPORAL_PORT=$CITUSCTL_TEMPORAL_PORT TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"
log "       CITUSCTL_IMAGE_POSTGRES=$CITUSCTL_IMAGE_POSTGRES CITUSCTL_IMAGE_PGBOUNCER=$CITUSCTL_IMAGE_PGBOUNCER CITUSCTL_IMAGE_ETCD=$CITUSCTL_IMAGE_ETCD"
log "  citusctl side: node dist/client/cli.js up -c bench/setup/cluster.bench.yaml --json"
log "  baseline side: bench/setup/baseline.sh up $BL_NAME $BL_PORT_BASE"
