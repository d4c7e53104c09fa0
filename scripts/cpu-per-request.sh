#!/usr/bin/env bash
# CPU time per request of one or more router-host builds, alternating, on one core: how BENCHMARKS' "CPU per
# request" lines and DESIGN-NOTES' before/after figures are measured (req/s alone moves with the machine).
# Each run starts the binary pinned to CPU 0 (embedded default config unless CONFIG is set), warms it with
# wsload (--request, pinned to CPU 1) for 2 s, then reads the server's user+system time from /proc/PID/stat
# around DURATION seconds of load and divides by the requests answered.
#   scripts/cpu-per-request.sh KIND BINARY...            ROUNDS=3, 50 connections x 8 in flight, 6 s
#   ROUNDS=5 scripts/cpu-per-request.sh search-10-hits /tmp/before/router-host .build/release/router-host
# KIND: one of bench-ops.sh's (scripts/request-kinds.sh): ping, search-miss, search-10-hits, compress-small
# Runs of one binary drift by 5-10 % over minutes on a shared machine: compare binaries within a round, in
# both orders, over several rounds, never one round against another.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
KIND=$1; shift
TOOLS=${BENCH_TOOLS:-$(cd ../shared/tools/bench && pwd)}
WORK=${BENCH_WORK:-$HOME/.cache/ws-bench}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-50}
WINDOW=${WINDOW:-8}
DURATION=${DURATION:-6}
PORT=${PORT:-18779}
CONFIG=${CONFIG:-}
mkdir -p "$WORK"
[ -x "$WORK/wsload" ] || gcc -O2 -std=gnu11 -o "$WORK/wsload" "$TOOLS/wsload.c"

source scripts/request-kinds.sh  # the kinds bench-ops.sh times
TEMPLATE=
for kind in "${KINDS[@]}"; do
    IFS='|' read -r name _ template done <<<"$kind"
    if [ "$name" = "$KIND" ]; then TEMPLATE=$template; DONE=$done; fi
done
if [ -z "$TEMPLATE" ]; then
    echo "cpu-per-request: unknown kind '$KIND' ($(printf '%s\n' "${KINDS[@]}" | cut -d'|' -f1 | paste -sd' '))" >&2
    exit 2
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

measure() {
    local binary=$1 server output before after
    taskset -c 0 "$binary" --port "$PORT" ${CONFIG:+--config "$CONFIG"} >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
    load() {
        taskset -c 1 "$WORK/wsload" -P "$PORT" -p /ws/memory -c "$CONNECTIONS" -w "$WINDOW" -d "$1" \
            --request "$TEMPLATE" --done "$DONE" | tail -1
    }
    load 2 >/dev/null
    before=$(cpu_ticks "$server")
    output=$(load "$DURATION")
    after=$(cpu_ticks "$server")
    kill "$server"
    wait "$server" 2>/dev/null || true
    python3 - "$output" "$before" "$after" "$binary" <<'PY'
import json, os, sys
result = json.loads(sys.argv[1])
seconds = (int(sys.argv[3]) - int(sys.argv[2])) / os.sysconf("SC_CLK_TCK")
print(f"{sys.argv[4]}: {result['msgs_per_s']:>10,.0f} req/s  {seconds * 1e6 / result['messages']:6.2f} µs of CPU per request"
      f"  errors {result['errors']}")
PY
}

for round in $(seq 1 "$ROUNDS"); do
    echo "round $round ($KIND, $CONNECTIONS x $WINDOW, ${DURATION} s)"
    # Odd rounds in the order given, even rounds reversed: a drift of the machine favours neither build.
    if (( round % 2 )); then order=("$@"); else order=(); for ((i = $#; i >= 1; i--)); do order+=("${!i}"); done; fi
    for binary in "${order[@]}"; do measure "$binary"; done
done
