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
# to exit: for citusctl that is `node dist/client/cli.js up -c bench/setup/cluster.bench.yaml
# --no-monitor --json`, so Node start-up, preflight, connecting to Temporal and the in-process worker
# are included. Why --no-monitor: the baseline starts no monitor, and `down --volumes` between rounds
# stops the supervised worker, so a default `up` would start a cold supervisor every round and wait
# for it to poll after the setup; with --no-monitor the setup runs on the in-process worker, timed.
# (UP_ARGS= times the default `up`; a warm supervised worker, where one runs, replaces the in-process one.)
# Prints each round's times, the medians, the median of the per-round ratios citusctl/baseline,
# where citusctl spent its time (steps of the --json report), and which Citus ran; then the load rate
# for LOAD_ROWS (default 1M; 0 skips) rows: citusctl's data-load step against one plain psql COPY of
# the same rows into a table of the same shape on the same cluster (goal: within 1.5x).
# Real Citus: CITUSCTL_IMAGE_POSTGRES=<a real Citus image> bench/setup/run.sh 3 (default: the test double).
# A Temporal dev server this script started is stopped at the end (KEEP_TEMPORAL=1 keeps it).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROUNDS="${1:-${ROUNDS:-5}}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS]" >&2; exit 2; }

export CITUSCTL_STATE_DIR="${CITUSCTL_STATE_DIR:-/tmp/citusctl-bench-setup}"
export CITUSCTL_TEMPORAL_PORT="${CITUSCTL_TEMPORAL_PORT:-47233}"
export TEMPORAL_CLI_PATH="${TEMPORAL_CLI_PATH:-$(command -v temporal || echo temporal)}"
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
# The setup alone, as the baseline does it: no monitor, so no supervised worker is started or waited
# for; the in-process worker runs the workflow and its start-up is timed. UP_ARGS= (empty) times the default up.
read -r -a UP_ARGS <<<"${UP_ARGS---no-monitor}"

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
  "${CLI[@]}" up -c "$SPEC" "${UP_ARGS[@]}" --json >"$OUT/$tag.citusctl.json" 2>"$OUT/$tag.citusctl.err" || { echo "run.sh: citusctl up failed ($tag):" >&2; cat "$OUT/$tag.citusctl.json" "$OUT/$tag.citusctl.err" >&2; exit 1; }
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
      + {"(gaps+ / overlap- of steps)": (($t1 - $t0) - ($s | map(.endedAt - .startedAt) | add))}
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

# ---------------------------------------------------------------- load rate (LOAD_ROWS, default 1M)
# citusctl's demo load (COPY in id-range batches through the activity, Temporal included) against
# one plain COPY of the same rows into a table of the same shape on the same cluster (host psql,
# rows generated by seq|awk). Two citusctl figures: the data-load step of the `up` that creates the
# cluster (it overlaps the standbys' base backups), and the one of `up --clean` on the cluster set up
# (drop and reload, standbys streaming: the same conditions as the plain COPY, which runs after it).
LOAD_ROWS="${LOAD_ROWS:-1000000}"
if [ "$LOAD_ROWS" != 0 ]; then
  SPEC_LOAD="$OUT/cluster.bench-load.yaml"
  sed -E "s/rows: [0-9]+/rows: $LOAD_ROWS/" "$SPEC" >"$SPEC_LOAD"
  grep -q "rows: $LOAD_ROWS," "$SPEC_LOAD" || { echo "run.sh: could not set rows in $SPEC_LOAD" >&2; exit 1; }
  citusctl_down
  "${CLI[@]}" up -c "$SPEC_LOAD" "${UP_ARGS[@]}" --json >"$OUT/load.citusctl.json" 2>"$OUT/load.citusctl.err" || { echo "run.sh: citusctl up ($LOAD_ROWS rows) failed:" >&2; cat "$OUT/load.citusctl.err" >&2; exit 1; }
  load_at_up=$(load)
  step_ms() { jq '[.steps[] | select(.name == "data-load")][0] | .endedAt - .startedAt' "$1"; }
  up_ms=$(step_ms "$OUT/load.citusctl.json")
  "${CLI[@]}" up -c "$SPEC_LOAD" "${UP_ARGS[@]}" --clean --json >"$OUT/load-clean.citusctl.json" 2>"$OUT/load-clean.citusctl.err" || { echo "run.sh: citusctl up --clean ($LOAD_ROWS rows) failed:" >&2; cat "$OUT/load-clean.citusctl.err" >&2; exit 1; }
  load_at_clean=$(load)
  clean_ms=$(step_ms "$OUT/load-clean.citusctl.json")
  up_rows=$(jq '.result.demoRowsInserted' "$OUT/load-clean.citusctl.json")
  coord_port=$(awk '/name: coord-a/ { if (match($0, /port: [0-9]+/)) print substr($0, RSTART + 6, RLENGTH - 6) }' "$SPEC")
  export PGPASSFILE
  PGPASSFILE=$(jq -r '.pgpass' "$OUT/load.citusctl.json")
  psql_c() { psql "host=127.0.0.1 port=$coord_port dbname=postgres user=postgres" -XAtq -v ON_ERROR_STOP=1 "$@"; }
  psql_c -c "CREATE TABLE public.events_plain_copy (id bigint PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())" \
    -c "SELECT create_distributed_table('public.events_plain_copy', 'id', shard_count => 32)" >/dev/null
  t0=$EPOCHREALTIME
  seq 1 "$LOAD_ROWS" | awk '{ printf "%s\tdemo event %s\n", $1, $1 }' | psql_c -c 'COPY public.events_plain_copy (id, payload) FROM STDIN'
  t1=$EPOCHREALTIME
  copy_ms=$(( ($(us "$t1") - $(us "$t0")) / 1000 ))
  load_at_copy=$(load)
  copied=$(psql_c -c 'SELECT count(*) FROM public.events_plain_copy')
  [ "$copied" = "$LOAD_ROWS" ] && [ "$up_rows" = "$LOAD_ROWS" ] || { echo "run.sh: rows loaded: citusctl $up_rows, plain COPY $copied, expected $LOAD_ROWS" >&2; exit 1; }
  rate() { awk -v r="$1" -v ms="$2" 'BEGIN { printf "%.0f", r / (ms / 1000) }'; }
  log ""
  log "load rate, $LOAD_ROWS rows, same cluster ($CITUS_C)"
  log "  citusctl data-load, up (beside the base backups): $up_ms ms = $(rate "$LOAD_ROWS" "$up_ms") rows/s   loadavg $load_at_up"
  log "  citusctl data-load, up --clean (cluster set up):  $clean_ms ms = $(rate "$LOAD_ROWS" "$clean_ms") rows/s   loadavg $load_at_clean"
  log "  plain COPY (psql, one statement):                 $copy_ms ms = $(rate "$LOAD_ROWS" "$copy_ms") rows/s   loadavg $load_at_copy"
  log "  ratio citusctl (up --clean) / plain COPY: $(awk -v a="$clean_ms" -v b="$copy_ms" 'BEGIN { printf "%.2f", a / b }') (goal <= 1.5)"
  citusctl_down
fi

log ""
log "reproduce: (cd $ROOT && bench/setup/run.sh $ROUNDS)"
log "  env: CITUSCTL_STATE_DIR=$CITUSCTL_STATE_DIR CITUSCTL_TEMPORAL_PORT=$CITUSCTL_TEMPORAL_PORT TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"
log "       CITUSCTL_IMAGE_POSTGRES=$CITUSCTL_IMAGE_POSTGRES CITUSCTL_IMAGE_PGBOUNCER=$CITUSCTL_IMAGE_PGBOUNCER CITUSCTL_IMAGE_ETCD=$CITUSCTL_IMAGE_ETCD"
log "       LOAD_ROWS=$LOAD_ROWS BASELINE_CONCURRENT=${BASELINE_CONCURRENT:-1} UP_ARGS=\"${UP_ARGS[*]}\""
log "  citusctl side: node dist/client/cli.js up -c bench/setup/cluster.bench.yaml ${UP_ARGS[*]} --json"
log "  baseline side: bench/setup/baseline.sh up $BL_NAME $BL_PORT_BASE"
