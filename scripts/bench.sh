#!/usr/bin/env bash
# Transport benchmark: ../shared/tools/bench (wsload) against c-echo and router-host's echo
# endpoint (release build), in the same session, then a side-by-side table of medians.
#   scripts/bench.sh                 scenarios a-e, REPS=3 rounds, c-echo and router-host interleaved
#   SCENARIOS="b c" REPS=5 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${BENCH_TOOLS:-$(cd ../shared/tools/bench && pwd)}
export SCENARIOS=${SCENARIOS:-"a b c d e"}
export BENCH_WORK=${BENCH_WORK:-$HOME/.cache/ws-bench}
swift build -c release --product router-host >/dev/null
HOST=$(pwd)/.build/release/router-host
CONFIG=$(pwd)/config/bench.json
# Interleaved: one round of c-echo, then one of router-host, REPS times, so both see the same machine.
REPS=${REPS:-3}
export RUN_ID=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for rep in $(seq 0 $((REPS - 1))); do
    REPS=1 REP_BASE=$rep "$TOOLS/bench.sh" c-echo 'c-echo {port}' /
    REPS=1 REP_BASE=$rep "$TOOLS/bench.sh" memory-router "$HOST --port {port} --config $CONFIG" /ws/echo
done
python3 "$TOOLS/report.py" "$BENCH_WORK/results/c-echo.jsonl" "$BENCH_WORK/results/memory-router.jsonl"
