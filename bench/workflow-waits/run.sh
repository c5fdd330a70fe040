#!/usr/bin/env bash
# bench/workflow-waits/run.sh [ROUNDS] -- how late short waits end on a workflow timer and through
# the shortWait activity (bench/workflow-waits/main.ts): a real Temporal dev server from the
# Temporal CLI (TEMPORAL_CLI_PATH), no Docker. SKIP_BUILD=1 skips `npm run build`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
[ "${SKIP_BUILD:-0}" = 1 ] || npm run build --silent
node dist/bench/workflow-waits/main.js "${1:-5}"
