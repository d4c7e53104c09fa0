#!/usr/bin/env bash
# The request path (issue 13): whole operations through router-host (release, embedded default config:
# 300 sample memories) against the seed's own stack (FastAPI + uvicorn, ../shared/tools/bench/servers/
# seed_fastapi.py), with ../shared/tools/bench's wsload in request mode. Interleaved: each round runs every
# request kind on router-host, then on the seed stack. Server pinned to CPU 0, load to CPU 1.
#   scripts/bench-ops.sh                        REPS=3, 50 connections x 8 in flight, 8 s after 2 s warm-up
#   SEED=0 REPS=1 DURATION=4 scripts/bench-ops.sh   router-host only, quick
#   CONFIG=path/to/config.json scripts/bench-ops.sh  router-host with that configuration (default: the embedded one)
# Prints one line per run, then medians, the ratio to the seed stack and to router-host's own ping.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${BENCH_TOOLS:-$(cd ../shared/tools/bench && pwd)}
WORK=${BENCH_WORK:-$HOME/.cache/ws-bench}
REPS=${REPS:-3}
CONNECTIONS=${CONNECTIONS:-50}
WINDOW=${WINDOW:-8}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
SEED=${SEED:-1}
PORT=${PORT:-18777}
SEED_PORT=${SEED_PORT:-18778}
CONFIG=${CONFIG:-}
mkdir -p "$WORK"
RESULTS="$WORK/bench-ops-$(date +%Y%m%d-%H%M%S).jsonl"

[ -x "$WORK/wsload" ] || gcc -O2 -std=gnu11 -o "$WORK/wsload" "$TOOLS/wsload.c"
swift build -c release --product router-host >/dev/null
HOST=$(pwd)/.build/release/router-host

if [ "$SEED" = 1 ]; then
    VENV="$WORK/seed-venv"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q fastapi 'uvicorn[standard]'
    fi
fi

# The request kinds (name|servers|request template|done marker), shared with cpu-per-request.sh.
source scripts/request-kinds.sh  # (the working directory is the package root)

wait_for_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench-ops: nothing listens on port $1" >&2
    return 1
}

FORMAT_RUN=$(cat <<'PY'
import json, sys
r = json.load(sys.stdin)
w = r["result"]
other = w["other_messages"] / max(1, w["messages"])
print(f"{r['server']:7} {r['kind']:15} rep {r['rep']}: {w['msgs_per_s']:>10,.0f} req/s  p50 {w['p50_us']/1000:7.2f} ms"
      f"  p99 {w['p99_us']/1000:7.2f} ms  other messages per request {other:.2f}  errors {w['err_reply'] + w['errors']}")
PY
)
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

run_kind() { # server port name template done
    local line
    line=$(taskset -c 1 "$WORK/wsload" -P "$2" -p /ws/memory -c "$CONNECTIONS" -w "$WINDOW" -d "$DURATION" \
        --warmup "$WARMUP" --request "$4" --done "$5" | tail -1)
    echo "{\"server\":\"$1\",\"kind\":\"$3\",\"rep\":$rep,\"result\":$line}" | tee -a "$RESULTS" |
        python3 -c "$FORMAT_RUN"
}

for rep in $(seq 1 "$REPS"); do
    taskset -c 0 "$HOST" --port "$PORT" ${CONFIG:+--config "$CONFIG"} 2>/dev/null &
    server=$!
    wait_for_port "$PORT"
    for kind in "${KINDS[@]}"; do
        IFS='|' read -r name servers template done <<<"$kind"
        run_kind router "$PORT" "$name" "$template" "$done"
    done
    kill "$server"; wait "$server" 2>/dev/null || true
    if [ "$SEED" = 1 ]; then
        taskset -c 0 "$VENV/bin/python" "$TOOLS/servers/seed_fastapi.py" "$SEED_PORT" 2>/dev/null &
        server=$!
        wait_for_port "$SEED_PORT"
        for kind in "${KINDS[@]}"; do
            IFS='|' read -r name servers template done <<<"$kind"
            [[ " $servers " == *" seed "* ]] && run_kind seed "$SEED_PORT" "$name" "$template" "$done"
        done
        kill "$server"; wait "$server" 2>/dev/null || true
    fi
done

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def median(server, kind, key):
    values = [r["result"][key] for r in runs if r["server"] == server and r["kind"] == kind]
    return statistics.median(values) if values else None
kinds = list(dict.fromkeys(r["kind"] for r in runs))
ping = median("router", "ping", "msgs_per_s")
print(f"\nmedians of {sys.argv[1]}")
print("| request | router-host req/s | p50 ms | p99 ms | seed stack req/s | seed p50 ms | router/seed | router/ping |")
print("|---|---|---|---|---|---|---|---|")
for kind in kinds:
    rate = median("router", kind, "msgs_per_s")
    seed = median("seed", kind, "msgs_per_s")
    cells = [kind, f"{rate:,.0f}", f"{median('router', kind, 'p50_us')/1000:.2f}", f"{median('router', kind, 'p99_us')/1000:.2f}"]
    cells += [f"{seed:,.0f}" if seed else "—", f"{median('seed', kind, 'p50_us')/1000:.2f}" if seed else "—"]
    cells += [f"{rate/seed:.1f}×" if seed else "—", f"{rate/ping:.2f}" if ping else "—"]
    print("| " + " | ".join(cells) + " |")
PY
