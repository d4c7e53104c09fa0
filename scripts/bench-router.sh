#!/usr/bin/env bash
# Router overhead: app-level {"type":"ping"} → pong through the full router (JSON decode, dispatch, encode
# with seq) against the raw echo endpoint, same client, same server process. router-host (release) is pinned
# to CPU 0 and the load (router-bench ping, one epoll thread) to CPU 1, like ../shared/tools/bench.
#   scripts/bench-router.sh                  REPS=3, 50 connections, window 8, 10 s
#   REPS=5 CONNECTIONS=1 WINDOW=1 scripts/bench-router.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
PORT=${PORT:-18765}
swift build -c release --product router-host >/dev/null
swift build -c release --product router-bench >/dev/null
for rep in $(seq 1 "$REPS"); do
    taskset -c 0 .build/release/router-host --config config/bench.json --port "$PORT" 2>/dev/null &
    host=$!
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.1
    done
    echo "# rep $rep"
    taskset -c 1 .build/release/router-bench ping --port "$PORT" --server-pid "$host" \
        --connections "${CONNECTIONS:-50}" --window "${WINDOW:-8}" --seconds "${SECONDS_PER_PHASE:-10}"
    kill "$host"
    wait "$host" 2>/dev/null || true
done
